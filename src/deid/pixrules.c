/*
 * pixrules.c: the pixel cleaning rules file and matching.
 *
 *   # text after # is a comment
 *   rule us-vendor-x-1024            a name: letters, digits, - _ .
 *     modality US                    conditions: glob patterns (* and ?),
 *     manufacturer Vendor X*         case-insensitive, on the trimmed value
 *     model Model 7?                 (an absent attribute is the empty value)
 *     image-type ORIGINAL\PRIMARY*   the whole value, backslashes included
 *     sop-class 1.2.840.10008.5.1.4.1.1.6.*
 *     size 1024x768                  Columns x Rows, exact
 *     rect 0 0 1024 64               x y width height, in pixels
 *     outside-us-regions             everything outside the ultrasound regions
 *   end
 *
 * A rule needs at least one rect or outside-us-regions; a rule with
 * outside-us-regions only matches files that have regions.
 */
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/dicom/dict.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_MODALITY, C_MANUFACTURER, C_MODEL, C_IMAGE_TYPE, C_SOP_CLASS, C_COUNT };

static const char *const cond_names[C_COUNT] = {
	"modality", "manufacturer", "model", "image-type", "sop-class"
};

struct pixrule {
	char name[64];
	char *cond[C_COUNT];        /* NULL: any */
	uint32_t cols, rows;        /* 0: any size */
	struct pix_rect rect[PIXRULES_MAX_RECTS];
	unsigned nrect;
	int outside_regions;
};

struct pixrules {
	struct pixrule *r;
	size_t n, cap;
};

const char pixrules_builtin_text[] =
"# Built-in pixel cleaning rules of pacsvault.\n"
"#\n"
"# Ultrasound images that describe their calibrated image areas (Sequence\n"
"# of Ultrasound Regions): the banner, patient and study text of every\n"
"# vendor is drawn outside those areas, so everything outside them goes.\n"
"rule builtin-us-outside-regions\n"
"  modality US\n"
"  outside-us-regions\n"
"end\n";

/* Case-insensitive glob: * any run, ? one character. */
static int
glob_match(const char *p, const char *s)
{
	const char *star = NULL, *ss = s;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || (*p != '\0' && tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static void
rule_free(struct pixrule *r)
{
	for (int c = 0; c < C_COUNT; c++)
		free(r->cond[c]);
}

void
pixrules_free(struct pixrules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_free(&r->r[i]);
	free(r->r);
	free(r);
}

size_t
pixrules_count(const struct pixrules *r)
{
	return r != NULL ? r->n : 0;
}

static int
parse_u32(const char *s, uint32_t *v, const char **end)
{
	unsigned long long x = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		x = x * 10 + (unsigned)(*p - '0');
		if (x > 65535)
			return -1;
		p++;
	}
	*v = (uint32_t)x;
	*end = p;
	return 0;
}

int
pixrules_parse(const char *text, size_t n, const char *name, struct pixrules **out, struct pv_diag *d)
{
	struct pixrules *rs;
	struct pixrule *cur = NULL;
	size_t pos = 0;
	unsigned lineno = 0;
	char line[1025];
	int rc = 0;

	*out = NULL;
	if (n > PIXRULES_MAX_TEXT)
		return pv_diag_set(d, PV_ELIMIT, -1, "%s: the rules file is over %u bytes", name, PIXRULES_MAX_TEXT);
	if ((rs = pv_calloc(1, sizeof(*rs))) == NULL)
		return PV_ENOMEM;
	while (pos < n && rc == 0) {
		size_t e = pos, len;
		char *p, *kw, *arg;
		while (e < n && text[e] != '\n')
			e++;
		len = e - pos;
		lineno++;
		if (len >= sizeof(line)) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: line longer than 1024 bytes", name, lineno);
			break;
		}
		memcpy(line, text + pos, len);
		line[len] = '\0';
		pos = e + 1;
		if (memchr(line, '\0', len) != NULL) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: NUL byte in the line", name, lineno);
			break;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = line;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			p[--len] = '\0';
		if (*p == '\0')
			continue;
		kw = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		arg = p;
		if (strlen(arg) >= 2 && arg[0] == '"' && arg[strlen(arg) - 1] == '"') {
			arg[strlen(arg) - 1] = '\0';
			arg++;
		}
		if (strcmp(kw, "rule") == 0) {
			if (cur != NULL) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: 'rule' inside a rule (missing 'end')", name, lineno);
				break;
			}
			if (*arg == '\0' || strlen(arg) >= sizeof(cur->name) || strspn(arg,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(arg)) {
				rc = pv_diag_set(d, PV_EPARSE, -1,
				    "%s:%u: a rule name is 1 to 63 letters, digits, '-', '_' or '.'", name, lineno);
				break;
			}
			if (rs->n == PIXRULES_MAX_RULES) {
				rc = pv_diag_set(d, PV_ELIMIT, -1, "%s:%u: more than %u rules", name, lineno, PIXRULES_MAX_RULES);
				break;
			}
			if (rs->n == rs->cap) {
				size_t nc = rs->cap ? rs->cap * 2 : 8;
				struct pixrule *nr = pv_reallocarray(rs->r, nc, sizeof(*nr));
				if (nr == NULL) {
					rc = PV_ENOMEM;
					break;
				}
				rs->r = nr;
				rs->cap = nc;
			}
			cur = &rs->r[rs->n++];
			memset(cur, 0, sizeof(*cur));
			strcpy(cur->name, arg);
			continue;
		}
		if (cur == NULL) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: '%s' outside a rule", name, lineno, kw);
			break;
		}
		if (strcmp(kw, "end") == 0) {
			if (*arg != '\0') {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: 'end' takes nothing", name, lineno);
				break;
			}
			if (cur->nrect == 0 && !cur->outside_regions) {
				rc = pv_diag_set(d, PV_EPARSE, -1,
				    "%s:%u: rule '%s' blanks nothing (no rect, no outside-us-regions)", name, lineno, cur->name);
				break;
			}
			cur = NULL;
			continue;
		}
		int c;
		for (c = 0; c < C_COUNT && strcmp(kw, cond_names[c]) != 0; c++)
			;
		if (c < C_COUNT) {
			if (cur->cond[c] != NULL) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: '%s' given twice", name, lineno, kw);
				break;
			}
			if (*arg == '\0') {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: '%s' needs a pattern", name, lineno, kw);
				break;
			}
			if ((cur->cond[c] = strdup(arg)) == NULL)
				rc = PV_ENOMEM;
			continue;
		}
		if (strcmp(kw, "size") == 0) {
			const char *q;
			if (parse_u32(arg, &cur->cols, &q) != 0 || (*q != 'x' && *q != 'X') ||
			    parse_u32(q + 1, &cur->rows, &q) != 0 || *q != '\0' || cur->cols == 0 || cur->rows == 0) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: size is COLUMNSxROWS, e.g. 1024x768", name, lineno);
				break;
			}
			continue;
		}
		if (strcmp(kw, "rect") == 0) {
			uint32_t v[4];
			const char *q = arg;
			int ok = 1;
			for (int k = 0; k < 4 && ok; k++) {
				while (*q == ' ' || *q == '\t')
					q++;
				ok = parse_u32(q, &v[k], &q) == 0;
			}
			if (!ok || *q != '\0' || v[2] == 0 || v[3] == 0) {
				rc = pv_diag_set(d, PV_EPARSE, -1,
				    "%s:%u: rect is X Y WIDTH HEIGHT in pixels (0..65535, sizes not 0)", name, lineno);
				break;
			}
			if (cur->nrect == PIXRULES_MAX_RECTS) {
				rc = pv_diag_set(d, PV_ELIMIT, -1, "%s:%u: more than %u rects in a rule", name, lineno,
				    PIXRULES_MAX_RECTS);
				break;
			}
			cur->rect[cur->nrect++] = (struct pix_rect){ v[0], v[1], v[2], v[3] };
			continue;
		}
		if (strcmp(kw, "outside-us-regions") == 0) {
			if (*arg != '\0') {
				rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: 'outside-us-regions' takes nothing", name, lineno);
				break;
			}
			cur->outside_regions = 1;
			continue;
		}
		rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: unknown word '%.40s' (conditions: modality, manufacturer, "
		    "model, image-type, sop-class, size; actions: rect, outside-us-regions; end)", name, lineno, kw);
	}
	if (rc == 0 && cur != NULL)
		rc = pv_diag_set(d, PV_EPARSE, -1, "%s:%u: rule '%s' has no 'end'", name, lineno, cur->name);
	if (rc != 0) {
		pixrules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

int
pixrules_builtin(struct pixrules **out)
{
	struct pv_diag d;
	pv_diag_clear(&d);
	return pixrules_parse(pixrules_builtin_text, strlen(pixrules_builtin_text), "builtin", out, &d);
}

int
pixrules_merge(struct pixrules *dst, struct pixrules *src)
{
	if (src->n == 0)
		return 0;
	if (dst->n + src->n > 2 * PIXRULES_MAX_RULES)
		return PV_ELIMIT;
	struct pixrule *nr = pv_reallocarray(dst->r, dst->n + src->n, sizeof(*nr));
	if (nr == NULL)
		return PV_ENOMEM;
	memcpy(nr + dst->n, src->r, src->n * sizeof(*nr));
	dst->r = nr;
	dst->n += src->n;
	dst->cap = dst->n;
	src->n = 0;
	return 0;
}

static uint32_t
get_ul(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, int *ok)
{
	struct dcm_elem *e = dcm_ds_find(ds, tag);
	const uint8_t *v;
	if (e == NULL || e->length < 4 || dcm_file_value(f, e, &v) != 0) {
		*ok = 0;
		return 0;
	}
	return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

int
pix_subject_read(struct dcm_file *f, struct pix_subject *s)
{
	struct dcm_elem *e;

	memset(s, 0, sizeof(*s));
	if (dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA) == NULL)
		return PV_ENOTFOUND;
	(void)dcm_ds_get_str(f, &f->ds, 0x00080060u, s->modality, sizeof(s->modality));
	(void)dcm_ds_get_str(f, &f->ds, 0x00080070u, s->manufacturer, sizeof(s->manufacturer));
	(void)dcm_ds_get_str(f, &f->ds, 0x00081090u, s->model, sizeof(s->model));
	(void)dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_CLASS_UID, s->sop_class, sizeof(s->sop_class));
	/* ImageType: the whole value with its backslashes. */
	if ((e = dcm_ds_find(&f->ds, 0x00080008u)) != NULL && e->seq == NULL) {
		const uint8_t *p;
		if (dcm_file_value(f, e, &p) == 0) {
			size_t len = e->length < sizeof(s->image_type) - 1 ? e->length : sizeof(s->image_type) - 1;
			memcpy(s->image_type, p, len);
			while (len > 0 && (s->image_type[len - 1] == ' ' || s->image_type[len - 1] == '\0'))
				len--;
			s->image_type[len] = '\0';
		}
	}
	{
		const uint8_t *p;
		if ((e = dcm_ds_find(&f->ds, 0x00280010u)) != NULL && e->length >= 2 && dcm_file_value(f, e, &p) == 0)
			s->rows = (uint32_t)(p[0] | p[1] << 8);
		if ((e = dcm_ds_find(&f->ds, 0x00280011u)) != NULL && e->length >= 2 && dcm_file_value(f, e, &p) == 0)
			s->cols = (uint32_t)(p[0] | p[1] << 8);
	}
	if ((e = dcm_ds_find(&f->ds, 0x00186011u)) != NULL && e->seq != NULL && !(e->flags & DCM_EF_ENCAPS)) {
		for (uint32_t i = 0; i < e->seq->nitems && s->nregions < PIX_MAX_REGIONS; i++) {
			struct dcm_dataset *it = e->seq->items[i];
			int ok = 1;
			uint32_t x0 = get_ul(f, it, 0x00186018u, &ok), y0 = get_ul(f, it, 0x0018601au, &ok);
			uint32_t x1 = get_ul(f, it, 0x0018601cu, &ok), y1 = get_ul(f, it, 0x0018601eu, &ok);
			if (!ok || x1 < x0 || y1 < y0 || x0 >= s->cols || y0 >= s->rows)
				continue;  /* an unusable region protects nothing */
			s->regions[s->nregions++] = (struct pix_rect){ x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
		}
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The complement of the union of the regions, as rectangles (grid cells merged along rows). */
static int
outside_regions(const struct pix_subject *s, struct pix_rect *out, size_t max, size_t *n)
{
	uint32_t xs[2 * PIX_MAX_REGIONS + 2], ys[2 * PIX_MAX_REGIONS + 2];
	size_t nx = 0, ny = 0;

	xs[nx++] = 0;
	xs[nx++] = s->cols;
	ys[ny++] = 0;
	ys[ny++] = s->rows;
	for (unsigned i = 0; i < s->nregions; i++) {
		const struct pix_rect *r = &s->regions[i];
		xs[nx++] = r->x;
		xs[nx++] = r->x + r->w < s->cols ? r->x + r->w : s->cols;
		ys[ny++] = r->y;
		ys[ny++] = r->y + r->h < s->rows ? r->y + r->h : s->rows;
	}
	qsort(xs, nx, sizeof(xs[0]), cmp_u32);
	qsort(ys, ny, sizeof(ys[0]), cmp_u32);
	for (size_t j = 0; j + 1 < ny; j++) {
		if (ys[j] == ys[j + 1])
			continue;
		size_t i = 0;
		while (i + 1 < nx) {
			if (xs[i] == xs[i + 1]) {
				i++;
				continue;
			}
			/* is cell (i, j) inside a region? */
			int in = 0;
			for (unsigned k = 0; k < s->nregions && !in; k++) {
				const struct pix_rect *r = &s->regions[k];
				in = xs[i] >= r->x && xs[i + 1] <= r->x + r->w && ys[j] >= r->y && ys[j + 1] <= r->y + r->h;
			}
			if (in) {
				i++;
				continue;
			}
			/* extend to the right over outside cells */
			size_t k2 = i + 1;
			while (k2 + 1 < nx) {
				int in2 = 0;
				for (unsigned k = 0; k < s->nregions && !in2; k++) {
					const struct pix_rect *r = &s->regions[k];
					in2 = xs[k2] >= r->x && xs[k2 + 1] <= r->x + r->w && ys[j] >= r->y &&
					    ys[j + 1] <= r->y + r->h;
				}
				if (in2)
					break;
				k2++;
			}
			if (*n == max)
				return 0;
			out[(*n)++] = (struct pix_rect){ xs[i], ys[j], xs[k2] - xs[i], ys[j + 1] - ys[j] };
			i = k2;
		}
	}
	return 1;
}

size_t
pixrules_match(const struct pixrules *rs, const struct pix_subject *s, struct pix_rect *rects, size_t max,
    size_t *nrects, const char **name)
{
	size_t matched = 0;

	*nrects = 0;
	if (name != NULL)
		*name = NULL;
	for (size_t i = 0; rs != NULL && i < rs->n; i++) {
		const struct pixrule *r = &rs->r[i];
		const char *val[C_COUNT] = { s->modality, s->manufacturer, s->model, s->image_type, s->sop_class };
		int ok = 1;
		for (int c = 0; c < C_COUNT && ok; c++)
			if (r->cond[c] != NULL && !glob_match(r->cond[c], val[c]))
				ok = 0;
		if (ok && r->cols != 0 && (r->cols != s->cols || r->rows != s->rows))
			ok = 0;
		if (ok && r->outside_regions && s->nregions == 0)
			ok = 0;
		/* A rect that misses the image means the rule was not written
		 * for it: not a match (the file is then held back, not trusted). */
		for (unsigned k = 0; k < r->nrect && ok; k++) {
			struct pix_desc pd = { .rows = s->rows, .cols = s->cols };
			struct pix_rect c;
			ok = pix_rect_clip(&pd, &r->rect[k], &c);
		}
		if (!ok)
			continue;
		matched++;
		if (name != NULL && *name == NULL)
			*name = r->name;
		for (unsigned k = 0; k < r->nrect; k++) {
			struct pix_desc pd = { .rows = s->rows, .cols = s->cols };
			if (*nrects == max)
				return PIXRULES_OVERFLOW;
			if (pix_rect_clip(&pd, &r->rect[k], &rects[*nrects]))
				(*nrects)++;
		}
		if (r->outside_regions && !outside_regions(s, rects, max, nrects))
			return PIXRULES_OVERFLOW;
	}
	return matched;
}
