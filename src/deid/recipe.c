/* recipe.c: site overrides of the profile (see recipe.h, docs/DEID.md). */
#include "pacsvault/deid/recipe.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/dicom/dict.h"

#include <stdlib.h>
#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "(gggg,eeee)" with hex digits or x: tag and mask. */
static int
parse_tag(const char *s, size_t n, uint32_t *tag, uint32_t *mask)
{
	uint32_t t = 0, m = 0;
	int k = 0;

	if (n != 11 || s[0] != '(' || s[5] != ',' || s[10] != ')')
		return -1;
	for (size_t i = 1; i < 10; i++) {
		if (i == 5)
			continue;
		t <<= 4;
		m <<= 4;
		if (s[i] == 'x' || s[i] == 'X') {
			k++;
			continue;
		}
		int v = hexval(s[i]);
		if (v < 0)
			return -1;
		t |= (uint32_t)v;
		m |= 0xf;
	}
	*tag = t;
	*mask = m;
	return k;
}

/* Reads the next word (or quoted string) of a line. */
static int
next_token(const char **p, const char *end, char *out, size_t outsz, int *quoted)
{
	const char *s = *p;
	size_t n = 0;

	*quoted = 0;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= end || *s == '#') {
		*p = s;
		return 0;
	}
	if (*s == '"') {
		*quoted = 1;
		s++;
		while (s < end && *s != '"') {
			char c = *s++;
			if (c == '\\') {
				if (s >= end || (*s != '"' && *s != '\\'))
					return -2; /* bad escape */
				c = *s++;
			}
			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				return -3; /* only printable ASCII */
			if (n + 1 >= outsz)
				return -4;
			out[n++] = c;
		}
		if (s >= end)
			return -5; /* unterminated */
		s++;
	} else {
		while (s < end && *s != ' ' && *s != '\t' && *s != '#') {
			if (n + 1 >= outsz)
				return -4;
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	*p = s;
	return 1;
}

void
deid_recipe_free(struct deid_recipe *r)
{
	if (r == NULL)
		return;
	for (unsigned i = 0; i < r->n; i++) {
		free(r->rules[i].creator);
		free(r->rules[i].value);
	}
	free(r->rules);
	r->rules = NULL;
	r->n = 0;
}

#define FAIL(...) do { rc = pv_diag_set(d, PV_EPARSE, -1, __VA_ARGS__); goto fail; } while (0)

int
deid_recipe_parse(const char *text, size_t len, const char *name, struct deid_recipe *out,
    struct pv_diag *d)
{
	struct deid_recipe r = { NULL, 0 };
	unsigned cap = 0, line = 0;
	const char *p = text, *end = text + len;
	char tok[4][DEID_RECIPE_MAX_LINE];
	int rc = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q;
		struct deid_recipe_rule rule;
		int quoted[4] = { 0 }, ntok = 0, t;
		if (eol == NULL)
			eol = end;
		line++;
		if ((size_t)(eol - p) >= DEID_RECIPE_MAX_LINE)
			FAIL("%s:%u: line longer than %d bytes", name, line, DEID_RECIPE_MAX_LINE);
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
			FAIL("%s:%u: a NUL byte", name, line);
		q = p;
		while (ntok < 4 && (t = next_token(&q, eol, tok[ntok], sizeof(tok[0]), &quoted[ntok])) != 0) {
			if (t < 0)
				FAIL("%s:%u: %s", name, line, t == -2 ? "bad escape (only \\\" and \\\\)" :
				    t == -3 ? "quoted text must be printable ASCII" :
				    t == -5 ? "unterminated quote" : "token too long");
			ntok++;
		}
		{
			char extra[8];
			int qx;
			if (ntok == 4 && next_token(&q, eol, extra, sizeof(extra), &qx) != 0)
				FAIL("%s:%u: too many words", name, line);
		}
		p = eol < end ? eol + 1 : end;
		if (ntok == 0)
			continue;
		memset(&rule, 0, sizeof(rule));
		rule.line = line;
		rule.offset = -1;
		if (strcmp(tok[0], "keep") == 0)
			rule.action = DEID_R_KEEP;
		else if (strcmp(tok[0], "remove") == 0)
			rule.action = DEID_R_REMOVE;
		else if (strcmp(tok[0], "empty") == 0)
			rule.action = DEID_R_EMPTY;
		else if (strcmp(tok[0], "replace") == 0)
			rule.action = DEID_R_REPLACE;
		else
			FAIL("%s:%u: unknown action '%.40s' (keep, remove, empty, replace)", name, line, tok[0]);
		if (ntok < 2)
			FAIL("%s:%u: %s what? (a tag, a keyword or private \"CREATOR\")", name, line, tok[0]);
		int next = 2;
		if (strcmp(tok[1], "private") == 0 && !quoted[1]) {
			if (ntok < 3 || !quoted[2] || tok[2][0] == '\0')
				FAIL("%s:%u: private needs a quoted creator", name, line);
			if (rule.action == DEID_R_REPLACE)
				FAIL("%s:%u: replace works on standard attributes only", name, line);
			rule.is_private = 1;
			next = 3;
			if (ntok > 3 && !quoted[3]) {
				int a = hexval(tok[3][0]), b = tok[3][1] ? hexval(tok[3][1]) : -1;
				if (a < 0 || b < 0 || tok[3][2] != '\0')
					FAIL("%s:%u: the element offset is two hex digits (00 to ff)", name, line);
				rule.offset = (int16_t)(a * 16 + b);
				next = 4;
			}
		} else if (tok[1][0] == '(') {
			if (parse_tag(tok[1], strlen(tok[1]), &rule.tag, &rule.mask) < 0)
				FAIL("%s:%u: '%.20s' is not a tag like (0010,0010) or (60xx,0022)", name, line, tok[1]);
			if (DCM_IS_PRIVATE(rule.tag) && (rule.mask & 0x00010000u))
				FAIL("%s:%u: private tags are matched by creator: private \"CREATOR\"", name, line);
		} else {
			int found;
			rule.tag = dcm_dict_find_keyword(tok[1], &found);
			rule.mask = 0xffffffffu;
			if (!found)
				FAIL("%s:%u: unknown keyword '%.64s'", name, line, tok[1]);
		}
		if (rule.action == DEID_R_REPLACE) {
			if (ntok != 3 || !quoted[2])
				FAIL("%s:%u: replace needs one quoted value", name, line);
			next = 3;
		}
		if (ntok > next)
			FAIL("%s:%u: unexpected '%.40s'", name, line, tok[next]);
		if (r.n == DEID_RECIPE_MAX_RULES)
			FAIL("%s:%u: more than %d rules", name, line, DEID_RECIPE_MAX_RULES);
		if (rule.is_private && (rule.creator = pv_strdup(tok[2])) == NULL)
			FAIL("%s:%u: out of memory", name, line);
		if (rule.action == DEID_R_REPLACE && (rule.value = pv_strdup(tok[2])) == NULL) {
			free(rule.creator);
			FAIL("%s:%u: out of memory", name, line);
		}
		if (r.n == cap) {
			unsigned ncap = cap ? cap * 2 : 16;
			struct deid_recipe_rule *nr = pv_reallocarray(r.rules, ncap, sizeof(*nr));
			if (nr == NULL) {
				free(rule.creator);
				free(rule.value);
				FAIL("%s:%u: out of memory", name, line);
			}
			r.rules = nr;
			cap = ncap;
		}
		r.rules[r.n++] = rule;
	}
	*out = r;
	return 0;
fail:
	deid_recipe_free(&r);
	return rc;
}

int
deid_recipe_load(const char *path, struct deid_recipe *out, struct pv_diag *d)
{
	unsigned char *text;
	size_t len;
	int rc = pv_read_file(path, 1u << 20, &text, &len, d);

	if (rc != 0)
		return rc;
	rc = deid_recipe_parse((const char *)text, len, path, out, d);
	free(text);
	return rc;
}

const struct deid_recipe_rule *
deid_recipe_match(const struct deid_recipe *r, uint32_t tag, const char *creator, size_t n)
{
	if (r == NULL)
		return NULL;
	while (creator != NULL && n > 0 && (creator[n - 1] == ' ' || creator[n - 1] == '\0'))
		n--;
	for (unsigned i = 0; i < r->n; i++) {
		const struct deid_recipe_rule *x = &r->rules[i];
		if (x->is_private) {
			if (!DCM_IS_PRIVATE(tag) || creator == NULL || DCM_ELEM(tag) < 0x1000)
				continue;
			if (strlen(x->creator) != n || memcmp(x->creator, creator, n) != 0)
				continue;
			if (x->offset >= 0 && (DCM_ELEM(tag) & 0xff) != (unsigned)x->offset)
				continue;
			return x;
		}
		if ((tag & x->mask) == x->tag)
			return x;
	}
	return NULL;
}
