/* profile.c: PS3.15 Table E.1-1 lookups and option resolution. */
#include "profile_table.h"

#include <stddef.h>
#include <string.h>

const struct deid_rule *
deid_profile_rule(uint32_t tag)
{
	unsigned lo = 0, hi = deid_rules_exact_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (deid_rules_exact[mid].tag == tag)
			return &deid_rules_exact[mid];
		if (deid_rules_exact[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = 0; i < deid_rules_masked_count; i++)
		if ((tag & deid_rules_masked[i].mask) == deid_rules_masked[i].tag)
			return &deid_rules_masked[i];
	return NULL;
}

const struct deid_rule *
deid_profile_private_rule(void)
{
	return &deid_rule_private;
}

/* Higher is more conservative: it removes or replaces more. */
static int
strictness(enum deid_action a)
{
	switch (a) {
	case DEID_A_X: case DEID_A_XZ: case DEID_A_XD: case DEID_A_XZD: case DEID_A_XZU: return 6;
	case DEID_A_Z: case DEID_A_ZD: return 5;
	case DEID_A_D: return 4;
	case DEID_A_U: return 3;
	case DEID_A_C: return 2;
	case DEID_A_K: return 1;
	default: return 0;
	}
}

enum deid_action
deid_profile_action(const struct deid_rule *rule, unsigned opts)
{
	enum deid_action best = DEID_A_NONE;

	if (rule == NULL)
		return DEID_A_NONE;
	/* PS3.15 E.3: an option's action replaces the Basic Profile's. */
	for (unsigned o = 0; o < DEID_OPT_COUNT; o++) {
		enum deid_action a = (enum deid_action)rule->opt[o];
		if (!(opts & DEID_OPT_BIT(o)) || a == DEID_A_NONE)
			continue;
		if (best == DEID_A_NONE || strictness(a) > strictness(best))
			best = a;
	}
	return best != DEID_A_NONE ? best : (enum deid_action)rule->basic;
}

const char *
deid_action_name(enum deid_action a)
{
	static const char *const names[DEID_A_COUNT] = {
		"-", "D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"
	};
	return (unsigned)a < DEID_A_COUNT ? names[a] : "?";
}

const char *
deid_option_flag(enum deid_option o)
{
	static const char *const flags[DEID_OPT_COUNT] = {
		"retain-safe-private", "retain-uids", "retain-device-identity",
		"retain-institution-identity", "retain-patient-characteristics",
		"retain-full-dates", "retain-modified-dates", "clean-descriptors",
		"clean-structured-content", "clean-graphics",
	};
	return (unsigned)o < DEID_OPT_COUNT ? flags[o] : "?";
}

const char *
deid_profile_edition(void)
{
	return deid_profile_edition_str;
}

unsigned
deid_profile_row_count(void)
{
	return deid_profile_rows;
}

int
deid_safe_private(uint16_t group, uint8_t offset, const char *creator, size_t n)
{
	unsigned lo = 0, hi = deid_safe_private_count;

	while (n > 0 && (creator[n - 1] == ' ' || creator[n - 1] == '\0'))
		n--;
	/* First row of (group, offset), then scan its creators. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct deid_safe_private *r = &deid_safe_private_table[mid];
		if (r->group < group || (r->group == group && r->offset < offset))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < deid_safe_private_count; lo++) {
		const struct deid_safe_private *r = &deid_safe_private_table[lo];
		if (r->group != group || r->offset != offset)
			break;
		if (strlen(r->creator) == n && memcmp(r->creator, creator, n) == 0)
			return 1;
	}
	return 0;
}

const struct deid_method_code *
deid_method_code(int option)
{
	for (unsigned i = 0; i < deid_cid7050_count; i++)
		if (deid_cid7050[i].option == option)
			return &deid_cid7050[i];
	return NULL;
}
