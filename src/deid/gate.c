/* gate.c: deid checks its own output before it is written (see gate.h). */
#include "pacsvault/deid/gate.h"
#include "pacsvault/base/err.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/deid/profile.h"
#include "pacsvault/deid/recipe.h"
#include "pacsvault/deid/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct deid_gate {
	struct scan_against *orig;   /* the original's identifying values */
};

int
deid_gate_begin(struct dcm_file *f, struct deid_gate **out)
{
	struct deid_gate *g = pv_calloc(1, sizeof(*g));
	int rc;

	*out = NULL;
	if (g == NULL)
		return PV_ENOMEM;
	if ((rc = scan_against_new(&g->orig, 1)) != 0 || (rc = scan_against_add_file(&g->orig, f)) != 0 ||
	    (rc = scan_against_finish(g->orig)) != 0) {
		deid_gate_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void
deid_gate_free(struct deid_gate *g)
{
	if (g == NULL)
		return;
	scan_against_free(g->orig);
	free(g);
}

/* The tag of the last element of a finding's path ("00400275[0].00321060"), or 0. */
static uint32_t
last_tag(const char *path)
{
	const char *p = strrchr(path, '.');
	char *end;
	unsigned long t;

	p = p != NULL ? p + 1 : path;
	if (strlen(p) != 8)
		return 0;
	t = strtoul(p, &end, 16);
	return *end == '\0' ? (uint32_t)t : 0;
}

/* 1 when the finding means the engine missed an identifier. */
static int
blocking(const struct scan_finding *fd, unsigned opts, int pixels, const struct deid_recipe *recipe)
{
	const struct deid_recipe_rule *rr;
	const struct deid_rule *rule;
	uint32_t tag = last_tag(fd->path);

	switch ((enum scan_kind)fd->kind) {
	case SCAN_NATIONAL_ID: case SCAN_SSN: case SCAN_PHONE: case SCAN_EMAIL: case SCAN_PERSON_NAME:
	case SCAN_INSTITUTION: case SCAN_AGE: case SCAN_AGAINST:
		break;
	case SCAN_DATE:
		if (opts & (DEID_OPT_BIT(DEID_OPT_FULL_DATES) | DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)))
			return 0;
		break;
	case SCAN_PHI_ATTRIBUTE: case SCAN_PRIVATE:
		if (recipe)
			return 0;
		break;
	case SCAN_BURNED_IN_TEXT:
		return pixels;
	default:
		return 0;  /* UIDs, meta, overlays, flags: the engine's own rules, checked by make test */
	}
	/* what the site's recipe keeps or replaces */
	if (recipe != NULL && tag != 0 && !DCM_IS_PRIVATE(tag) && (rr = deid_recipe_match(recipe, tag, NULL, 0)) != NULL &&
	    (rr->action == DEID_R_KEEP || rr->action == DEID_R_REPLACE))
		return 0;
	/* what the options keep (Retain Institution Identity keeps the hospital's name) */
	if (tag != 0 && !DCM_IS_PRIVATE(tag) && (rule = deid_profile_rule(tag)) != NULL &&
	    deid_profile_action(rule, opts) == DEID_A_K)
		return 0;
	return 1;
}

int
deid_gate_check(struct deid_gate *g, struct dcm_file *f, unsigned opts, int pixels,
    const struct deid_recipe *recipe, char *reason, size_t n)
{
	struct scan_config cfg;
	struct scan_report rep;
	struct pv_diag d;
	int rc, found = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&rep, 0, sizeof(rep));
	cfg.pixels = pixels;   /* the text detector only: OCR already looked where it was used */
	cfg.against = g->orig;
	pv_diag_clear(&d);
	if ((rc = scan_file(f, &cfg, &rep, &d)) != 0) {
		scan_report_free(&rep);
		return rc;
	}
	for (size_t i = 0; i < rep.n && !found; i++) {
		const struct scan_finding *fd = &rep.f[i];
		if (!blocking(fd, opts, pixels, recipe))
			continue;
		found = 1;
		snprintf(reason, n, "the output check found %s at %s (%s)", scan_kind_name((enum scan_kind)fd->kind),
		    fd->path[0] ? fd->path : "the data set", fd->detail);
	}
	scan_report_free(&rep);
	return found;
}
