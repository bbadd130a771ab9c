/* scan.c: the residual-PHI scanner (see scan.h). */
#include "pacsvault/deid/scan.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/codec/codec.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/ocr.h"
#include "pacsvault/deid/profile.h"
#include "pacsvault/deid/textclean.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/value.h"
#include "pacsvault/dicom/vr.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_DEPTH 64

static const char *const kind_names[SCAN_KIND_COUNT] = {
	"phi-attribute", "national-id", "ssn", "phone", "email", "date", "person-name", "pattern",
	"private", "uid", "file-meta", "overlay", "curve", "burned-in-flag", "burned-in-text", "against",
	"institution", "age", "record-number",
};

const char *
scan_kind_name(enum scan_kind k)
{
	return (unsigned)k < SCAN_KIND_COUNT ? kind_names[k] : "?";
}

/* ---- masking ---- */

void
scan_mask(const char *v, size_t n, char *out, size_t outsz)
{
	size_t chars = 0, keep, i = 0, o = 0, c = 0, stars = 0;

	for (size_t k = 0; k < n; k++)
		if (((unsigned char)v[k] & 0xc0) != 0x80)
			chars++;
	keep = chars >= 8 ? 2 : chars >= 4 ? 1 : 0;
	if (outsz == 0)
		return;
	while (i < n) {
		size_t len = 1;
		while (i + len < n && ((unsigned char)v[i + len] & 0xc0) == 0x80)
			len++;
		int show = c < keep || c >= chars - keep;
		if (show) {
			if (o + len + 1 > outsz)
				break;
			memcpy(out + o, v + i, len);
			o += len;
		} else if (stars < 16) {
			if (o + 2 > outsz)
				break;
			out[o++] = '*';
			stars++;
		}
		i += len;
		c++;
	}
	out[o] = '\0';
}

/* ---- the report ---- */

static struct scan_finding *
add(struct scan_report *r, enum scan_kind k, const char *path, const char *detail)
{
	struct scan_finding *f;
	if (r->n >= SCAN_MAX_FINDINGS) {
		r->dropped++;
		return NULL;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		struct scan_finding *nf = pv_reallocarray(r->f, nc, sizeof(*nf));
		if (nf == NULL)
			return NULL;
		r->f = nf;
		r->cap = nc;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->kind = (uint8_t)k;
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	return f;
}

void
scan_report_free(struct scan_report *r)
{
	free(r->thumb);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

/* ---- site patterns ---- */

struct scan_pattern {
	char name[32];
	regex_t re;
};

struct scan_patterns {
	struct scan_pattern p[32];
	unsigned n;
};

int
scan_patterns_add(struct scan_patterns **pp, const char *spec, struct pv_diag *d)
{
	const char *eq = strchr(spec, '=');
	struct scan_patterns *p = *pp;
	size_t nl;
	int rc;

	if (eq == NULL || (nl = (size_t)(eq - spec)) == 0 || nl >= sizeof(p->p[0].name) || eq[1] == '\0')
		return pv_diag_set(d, PV_EINVAL, -1, "a pattern is NAME=REGEX (a name of 1 to 31 characters)");
	if (p == NULL && (p = *pp = pv_calloc(1, sizeof(*p))) == NULL)
		return PV_ENOMEM;
	if (p->n == sizeof(p->p) / sizeof(p->p[0]))
		return pv_diag_set(d, PV_ELIMIT, -1, "more than 32 patterns");
	memcpy(p->p[p->n].name, spec, nl);
	p->p[p->n].name[nl] = '\0';
	if ((rc = regcomp(&p->p[p->n].re, eq + 1, REG_EXTENDED | REG_ICASE)) != 0) {
		char msg[128];
		regerror(rc, &p->p[p->n].re, msg, sizeof(msg));
		return pv_diag_set(d, PV_EINVAL, -1, "pattern %s: %s", p->p[p->n].name, msg);
	}
	p->n++;
	return 0;
}

void
scan_patterns_free(struct scan_patterns *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n; i++)
		regfree(&p->p[i].re);
	free(p);
}

/* ---- --against: Aho-Corasick over the originals' values ---- */

struct ac_node {
	uint32_t child, sibling, fail, out, next_out;  /* out: pattern + 1 */
	uint8_t c;
};

struct ac {
	struct ac_node *n;
	size_t nn, cap;
	uint32_t root[256];    /* the root's children by byte: most steps start or fall back there */
};

struct against_value {
	uint32_t off, len;     /* in text: the value as collected (UTF-8) */
	uint32_t tag;          /* where it came from */
};

struct scan_against {
	struct pv_buf text;    /* the values, NUL-separated */
	struct against_value *v;
	size_t nv, cap;
	struct ac lc, raw;     /* lowercased UTF-8 (elements); exact bytes (raw files) */
	uint32_t *raw_value;   /* raw pattern -> value index */
	size_t nraw, rawcap;
	struct pv_buf rawtext; /* the raw patterns' bytes */
	uint32_t *raw_off, *raw_len;
	int finished;
	int elements_only;     /* no raw-byte patterns (a data set checked in memory: deid's output check) */
	/* a small hash set to skip duplicates */
	uint64_t *seen;
	size_t seen_cap, seen_n;
};

static uint64_t
fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static int
seen_insert(struct scan_against *a, uint64_t h)
{
	if (h == 0)
		h = 1;
	if (a->seen_n * 2 >= a->seen_cap) {
		size_t nc = a->seen_cap ? a->seen_cap * 2 : 128;
		uint64_t *ns = pv_calloc(nc, sizeof(*ns));
		if (ns == NULL)
			return -1;
		for (size_t i = 0; i < a->seen_cap; i++)
			if (a->seen[i] != 0) {
				size_t k = a->seen[i] & (nc - 1);
				while (ns[k] != 0)
					k = (k + 1) & (nc - 1);
				ns[k] = a->seen[i];
			}
		free(a->seen);
		a->seen = ns;
		a->seen_cap = nc;
	}
	size_t k = h & (a->seen_cap - 1);
	while (a->seen[k] != 0) {
		if (a->seen[k] == h)
			return 0;
		k = (k + 1) & (a->seen_cap - 1);
	}
	a->seen[k] = h;
	a->seen_n++;
	return 1;
}

static int
ac_init(struct ac *t)
{
	t->cap = 128;  /* grows as values are added: one file's values fit in a few hundred nodes */
	t->n = pv_calloc(t->cap, sizeof(*t->n));
	t->nn = t->n ? 1 : 0;
	return t->n ? 0 : PV_ENOMEM;
}

static uint32_t
ac_child(const struct ac *t, uint32_t s, uint8_t c)
{
	if (s == 0)
		return t->root[c];
	for (uint32_t k = t->n[s].child; k != 0; k = t->n[k].sibling)
		if (t->n[k].c == c)
			return k;
	return 0;
}

static int
ac_insert(struct ac *t, const uint8_t *p, size_t len, uint32_t id)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i++) {
		uint32_t k = ac_child(t, s, p[i]);
		if (k == 0) {
			if (t->nn == t->cap) {
				size_t nc = t->cap * 2;
				struct ac_node *nn = pv_reallocarray(t->n, nc, sizeof(*nn));
				if (nn == NULL)
					return PV_ENOMEM;
				t->n = nn;
				t->cap = nc;
			}
			k = (uint32_t)t->nn++;
			memset(&t->n[k], 0, sizeof(t->n[k]));
			t->n[k].c = p[i];
			t->n[k].sibling = t->n[s].child;
			if (s == 0)
				t->root[p[i]] = k;
			t->n[s].child = k;
		}
		s = k;
	}
	if (t->n[s].out == 0)
		t->n[s].out = id + 1;
	return 0;
}

static int
ac_build(struct ac *t)
{
	uint32_t *q = pv_mallocarray(t->nn + 1, sizeof(*q));
	size_t head = 0, tail = 0;
	if (q == NULL)
		return PV_ENOMEM;
	for (uint32_t k = t->n[0].child; k != 0; k = t->n[k].sibling) {
		t->n[k].fail = 0;
		q[tail++] = k;
	}
	while (head < tail) {
		uint32_t s = q[head++];
		for (uint32_t k = t->n[s].child; k != 0; k = t->n[k].sibling) {
			uint32_t f = t->n[s].fail, g;
			while ((g = ac_child(t, f, t->n[k].c)) == 0 && f != 0)
				f = t->n[f].fail;
			t->n[k].fail = g != k ? g : 0;
			t->n[k].next_out = t->n[t->n[k].fail].out ? t->n[k].fail : t->n[t->n[k].fail].next_out;
			q[tail++] = k;
		}
	}
	free(q);
	return 0;
}

/* Calls fn for each pattern occurrence (end position); stops when fn returns non-zero. */
static void
ac_scan(const struct ac *t, const uint8_t *p, size_t n, int lower, int (*fn)(void *, uint32_t, size_t), void *arg)
{
	uint32_t s = 0;
	if (t->nn == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = lower ? (uint8_t)tolower(p[i]) : p[i];
		uint32_t k;
		while ((k = ac_child(t, s, c)) == 0 && s != 0)
			s = t->n[s].fail;
		s = k;
		for (uint32_t o = t->n[s].out ? s : t->n[s].next_out; o != 0; o = t->n[o].next_out)
			if (t->n[o].out && fn(arg, t->n[o].out - 1, i + 1))
				return;
	}
}

static int
against_value(struct scan_against *a, const char *s, size_t n, uint32_t tag)
{
	int fresh;
	if (n < 4 || n > 256)
		return 0;
	/* a value that is all digits needs 6 of them (dates, IDs); short numbers are everywhere */
	size_t digits = 0;
	for (size_t i = 0; i < n; i++)
		digits += s[i] >= '0' && s[i] <= '9';
	if (digits == n && n < 6)
		return 0;
	char low[257];
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	if ((fresh = seen_insert(a, fnv(low, n, 1469598103934665603ull))) <= 0)
		return fresh < 0 ? PV_ENOMEM : 0;
	if (a->nv == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		struct against_value *nv = pv_reallocarray(a->v, nc, sizeof(*nv));
		if (nv == NULL)
			return PV_ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->nv] = (struct against_value){ (uint32_t)a->text.len, (uint32_t)n, tag };
	if (pv_buf_append(&a->text, s, n) != 0 || pv_buf_putc(&a->text, '\0') != 0)
		return PV_ENOMEM;
	a->nv++;
	return 0;
}

static int
against_raw(struct scan_against *a, const uint8_t *b, size_t n, uint32_t value)
{
	int fresh;
	/* 5 bytes at least: shorter patterns match by chance in megabytes of pixels */
	if (n < 5 || n > 1024)
		return 0;
	if ((fresh = seen_insert(a, fnv(b, n, 7809847782465536322ull))) <= 0)
		return fresh < 0 ? PV_ENOMEM : 0;
	if (a->nraw == a->rawcap) {
		size_t nc = a->rawcap ? a->rawcap * 2 : 256;
		uint32_t *o = pv_reallocarray(a->raw_off, nc, sizeof(*o)), *l, *v;
		if (o == NULL)
			return PV_ENOMEM;
		a->raw_off = o;
		if ((l = pv_reallocarray(a->raw_len, nc, sizeof(*l))) == NULL)
			return PV_ENOMEM;
		a->raw_len = l;
		if ((v = pv_reallocarray(a->raw_value, nc, sizeof(*v))) == NULL)
			return PV_ENOMEM;
		a->raw_value = v;
		a->rawcap = nc;
	}
	a->raw_off[a->nraw] = (uint32_t)a->rawtext.len;
	a->raw_len[a->nraw] = (uint32_t)n;
	a->raw_value[a->nraw] = value;
	if (pv_buf_append(&a->rawtext, b, n) != 0)
		return PV_ENOMEM;
	a->nraw++;
	return 0;
}

struct collect {
	struct scan_against *a;
	struct dcm_file *f;
	struct pv_buf u;
	int rc;
};

/* 1 when keyword has word (case-sensitive, as PS3.6 capitalises) at a word start. */
static int
keyword_has(const char *kw, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = strstr(kw, word); p != NULL; p = strstr(p + 1, word)) {
		char next = p[wl];
		if (next == '\0' || next == 's' || (next >= 'A' && next <= 'Z'))
			return 1;
	}
	return 0;
}

/*
 * The originals' values that --against looks for: those that identify a
 * person, an event or a place (names, IDs and numbers, dates, instance
 * UIDs, addresses, phones, institutions and stations), not descriptions
 * and comments that many patients share ("CT CHEST"): text that contains
 * an identifier is found by the identifier, not by its description.
 */
static int
identifying(uint32_t tag, enum dcm_vr vr, const struct dcm_dict_entry *de)
{
	const char *kw;

	switch (vr) {
	case DCM_VR_PN: case DCM_VR_UI: case DCM_VR_DA: case DCM_VR_DT:
		return 1;
	case DCM_VR_LO: case DCM_VR_SH: case DCM_VR_ST: case DCM_VR_LT: case DCM_VR_UT: case DCM_VR_UC:
	case DCM_VR_AE: case DCM_VR_UR:
		break;
	default:
		return 0;   /* CS, AS, DS, IS, TM: codes, ages, numbers, times of day */
	}
	if (de == NULL)
		return 1;
	kw = dcm_dict_keyword(de);
	(void)tag;
	if (strstr(kw, "Description") || strstr(kw, "Comment") || strstr(kw, "Protocol") || strstr(kw, "Code") ||
	    strstr(kw, "Type") || strstr(kw, "Label") || strstr(kw, "Model"))
		return 0;  /* shared by many patients: "CT CHEST", "CHEST ROUTINE" */
	return keyword_has(kw, "ID") || keyword_has(kw, "IDs") || keyword_has(kw, "Identifier") ||
	    keyword_has(kw, "Number") || keyword_has(kw, "Numbers") || keyword_has(kw, "Address") ||
	    keyword_has(kw, "Telephone") || keyword_has(kw, "Institution") || keyword_has(kw, "Institutional") ||
	    keyword_has(kw, "Station") || keyword_has(kw, "Issuer") || keyword_has(kw, "Name") ||
	    keyword_has(kw, "Names") || keyword_has(kw, "Title") || keyword_has(kw, "Location") ||
	    keyword_has(kw, "Country") || keyword_has(kw, "Region") || keyword_has(kw, "Occupation") ||
	    keyword_has(kw, "Religious") || keyword_has(kw, "Military") || keyword_has(kw, "Branch") ||
	    keyword_has(kw, "Attending") || keyword_has(kw, "Physician") || keyword_has(kw, "Operator") ||
	    keyword_has(kw, "Performing") || keyword_has(kw, "Requesting") || keyword_has(kw, "Referring") ||
	    vr == DCM_VR_AE || vr == DCM_VR_UR;
}

static void
collect_ds(struct collect *c, const struct dcm_dataset *ds, const struct dcm_charset *parent, unsigned depth)
{
	struct dcm_charset cs = *parent;
	struct dcm_elem *sc = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
	const uint8_t *v;

	if (depth > SCAN_MAX_DEPTH)
		return;
	if (sc != NULL && sc->seq == NULL && dcm_file_value(c->f, sc, &v) == 0)
		(void)dcm_charset_parse(v, sc->length, &cs);
	for (uint32_t i = 0; i < ds->n && c->rc == 0; i++) {
		struct dcm_elem *e = &ds->e[i];
		const struct deid_rule *rule;
		if (e->seq != NULL) {
			if (!(e->flags & DCM_EF_ENCAPS))
				for (uint32_t k = 0; k < e->seq->nitems; k++)
					collect_ds(c, e->seq->items[k], &cs, depth + 1);
			continue;
		}
		enum dcm_vr vr = (enum dcm_vr)e->vr;
		/* the dictionary only for standard tags (a private tag is never in it: a long miss) */
		const struct dcm_dict_entry *de = DCM_IS_PRIVATE(e->tag) ? NULL : dcm_dict_lookup(e->tag);
		if (vr == DCM_VR_UN && de != NULL && dcm_vr_info((enum dcm_vr)de->vr)->kind == DCM_VRK_STRING)
			vr = (enum dcm_vr)de->vr;
		if (dcm_vr_info(vr)->kind != DCM_VRK_STRING || e->length == 0 || e->length > 65536)
			continue;
		if (DCM_IS_PRIVATE(e->tag)) {
			if (DCM_IS_PRIVATE_CREATOR(e->tag))
				continue;
		} else if ((rule = deid_profile_rule(e->tag)) == NULL || rule->basic == DEID_A_K ||
		    !identifying(e->tag, vr, de)) {
			continue;
		}
		if (dcm_file_value(c->f, e, &v) != 0)
			continue;
		uint32_t len = dcm_value_trim_len(vr, v, e->length);
		pv_buf_reset(&c->u);
		if (dcm_charset_to_utf8(&cs, vr, v, len, &c->u) == PV_ENOMEM) {
			c->rc = PV_ENOMEM;
			return;
		}
		const char *s = c->u.data ? c->u.data : "";
		size_t n = c->u.len, a0 = 0;
		/* each value of a multi-valued element; names also by component */
		for (size_t b = 0; b <= n && c->rc == 0; b++) {
			int sep = b == n || s[b] == '\\';
			if (!sep)
				continue;
			size_t seg = b - a0;
			while (seg > 0 && s[a0 + seg - 1] == ' ')
				seg--;
			size_t before = c->a->nv;
			c->rc = against_value(c->a, s + a0, seg, e->tag);
			if (c->rc == 0 && c->a->nv > before && !c->a->elements_only) {
				/* also its own bytes, and Latin-1 / GB18030 forms */
				uint32_t id = (uint32_t)before;
				c->rc = against_raw(c->a, (const uint8_t *)s + a0, seg, id);
				if (c->rc == 0 && !dcm_charset_is_plain(v, len))
					c->rc = against_raw(c->a, v, len, id);
			}
			if (vr == DCM_VR_PN) {
				size_t p0 = a0;
				for (size_t k = a0; k <= a0 + seg && c->rc == 0; k++)
					if (k == a0 + seg || s[k] == '^' || s[k] == '=') {
						if (k - p0 >= 4 && k - p0 < seg)
							c->rc = against_value(c->a, s + p0, k - p0, e->tag);
						p0 = k + 1;
					}
			}
			a0 = b + 1;
		}
	}
}

int
scan_against_new(struct scan_against **ap, int elements_only)
{
	struct scan_against *a;

	if ((a = *ap = pv_calloc(1, sizeof(*a))) == NULL)
		return PV_ENOMEM;
	pv_buf_init(&a->text, (size_t)1 << 30);
	pv_buf_init(&a->rawtext, (size_t)1 << 30);
	a->elements_only = elements_only;
	return 0;
}

int
scan_against_add_file(struct scan_against **ap, struct dcm_file *f)
{
	struct scan_against *a = *ap;
	struct collect c;
	struct dcm_charset cs;
	int rc;

	if (a == NULL) {
		if ((rc = scan_against_new(ap, 0)) != 0)
			return rc;
		a = *ap;
	}
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.f = f;
	pv_buf_init(&c.u, (size_t)1 << 20);
	dcm_charset_default(&cs);
	collect_ds(&c, &f->ds, &cs, 0);
	pv_buf_free(&c.u);
	return c.rc;
}

/* The non-ASCII values also in the encodings viewers and other tools use. */
static const char *const other_sets[] = { "ISO_IR 100", "GB18030", "ISO_IR 192" };

int
scan_against_finish(struct scan_against *a)
{
	int rc;
	if (a == NULL)
		return 0;
	for (size_t i = 0, nv = a->elements_only ? 0 : a->nv; i < nv; i++) {
		const uint8_t *s = (const uint8_t *)a->text.data + a->v[i].off;
		if (dcm_charset_is_plain(s, a->v[i].len))
			continue;
		for (size_t k = 0; k < sizeof(other_sets) / sizeof(other_sets[0]); k++) {
			struct dcm_charset cs;
			struct pv_buf b;
			pv_buf_init(&b, 4096);
			dcm_charset_default(&cs);
			(void)dcm_charset_parse((const uint8_t *)other_sets[k], strlen(other_sets[k]), &cs);
			if (dcm_charset_from_utf8(&cs, s, a->v[i].len, &b) == 0 && b.len > 0)
				rc = against_raw(a, (const uint8_t *)b.data, b.len, (uint32_t)i);
			else
				rc = 0;
			pv_buf_free(&b);
			if (rc != 0)
				return rc;
		}
	}
	if ((rc = ac_init(&a->lc)) != 0 || (rc = ac_init(&a->raw)) != 0)
		return rc;
	for (size_t i = 0; i < a->nv; i++) {
		uint8_t low[257];
		const char *s = a->text.data + a->v[i].off;
		for (uint32_t k = 0; k < a->v[i].len; k++)
			low[k] = (uint8_t)tolower((unsigned char)s[k]);
		if ((rc = ac_insert(&a->lc, low, a->v[i].len, (uint32_t)i)) != 0)
			return rc;
	}
	for (size_t i = 0; i < a->nraw; i++)
		if ((rc = ac_insert(&a->raw, (const uint8_t *)a->rawtext.data + a->raw_off[i], a->raw_len[i],
		    (uint32_t)i)) != 0)
			return rc;
	if ((rc = ac_build(&a->lc)) != 0 || (!a->elements_only && (rc = ac_build(&a->raw)) != 0))
		return rc;
	a->finished = 1;
	return 0;
}

size_t
scan_against_count(const struct scan_against *a)
{
	return a != NULL ? a->nv : 0;
}

void
scan_against_free(struct scan_against *a)
{
	if (a == NULL)
		return;
	pv_buf_free_scrub(&a->text);
	pv_buf_free_scrub(&a->rawtext);
	free(a->v);
	free(a->lc.n);
	free(a->raw.n);
	free(a->raw_off);
	free(a->raw_len);
	free(a->raw_value);
	free(a->seen);
	free(a);
}

struct hitctx {
	const struct scan_against *a;
	struct scan_report *rep;
	const char *path;
	int raw;
	uint8_t *reported;   /* per value: already reported for this element/file */
	const uint8_t *text; /* what is searched */
	size_t n;
	unsigned opts;       /* the options the file declares (0 under --strict): what they keep may stay */
	int found;           /* against_matches: a whole-token hit */
};

static int
word_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '.';
}

/*
 * A match counts when it is a whole token: an ASCII pattern that starts or
 * ends with a letter, digit or dot must not continue into one (an original
 * UID 2.25.82 is not found inside a pseudonym 2.25.8213...; a name is found
 * in "note: Yamada" but not in "Yamadas"). Non-ASCII edges are not checked.
 */
static int
whole_token(const struct hitctx *h, size_t start, size_t end, const uint8_t *pat, size_t plen)
{
	if (plen == 0)
		return 0;
	if (word_char(pat[0]) && start > 0 && word_char(h->text[start - 1]))
		return 0;
	if (word_char(pat[plen - 1]) && end < h->n && word_char(h->text[end]))
		return 0;
	return 1;
}

static void
against_finding(struct hitctx *h, uint32_t value, const char *path)
{
	const struct against_value *v = &h->a->v[value];
	const struct dcm_dict_entry *de = dcm_dict_lookup(v->tag);
	char detail[96];
	struct scan_finding *f;

	if (DCM_IS_PRIVATE(v->tag))
		snprintf(detail, sizeof(detail), "a value of the originals' private (%04X,%04X)", DCM_GROUP(v->tag),
		    DCM_ELEM(v->tag));
	else
		snprintf(detail, sizeof(detail), "a value of the originals' %s", de ? dcm_dict_keyword(de) : "element");
	if ((f = add(h->rep, SCAN_AGAINST, path, detail)) != NULL)
		scan_mask(h->a->text.data + v->off, v->len, f->excerpt, sizeof(f->excerpt));
}

/*
 * 1 when the options the file declares keep the original's attribute tag
 * (Retain UIDs, Full Dates, Device or Institution Identity...): finding its
 * value again is what the user asked for, not a leak.
 */
static int
retained(const struct hitctx *h, uint32_t tag)
{
	const struct deid_rule *rule;

	if (h->opts == 0 || DCM_IS_PRIVATE(tag) || (rule = deid_profile_rule(tag)) == NULL)
		return 0;
	return deid_profile_action(rule, h->opts) == DEID_A_K;
}

static int
hit_any(void *arg, uint32_t id, size_t end)
{
	struct hitctx *h = arg;
	const struct against_value *v = &h->a->v[id];
	if (whole_token(h, end - v->len, end, (const uint8_t *)h->a->text.data + v->off, v->len)) {
		h->found = 1;
		return 1;
	}
	return 0;
}

/* 1 when the UTF-8 text s holds a value of the originals as a whole token. */
static int
against_matches(const struct scan_against *a, const char *s, size_t n)
{
	struct hitctx h = { a, NULL, "", 0, NULL, (const uint8_t *)s, n, 0, 0 };
	ac_scan(&a->lc, (const uint8_t *)s, n, 1, hit_any, &h);
	return h.found;
}

static int
hit_elem(void *arg, uint32_t id, size_t end)
{
	struct hitctx *h = arg;
	const struct against_value *v = &h->a->v[id];
	if (h->reported[id] || !whole_token(h, end - v->len, end, (const uint8_t *)h->a->text.data + v->off, v->len))
		return 0;
	if (retained(h, v->tag))
		return 0;
	h->reported[id] = 1;
	against_finding(h, id, h->path);
	return 0;
}

static int
hit_raw(void *arg, uint32_t id, size_t end)
{
	struct hitctx *h = arg;
	uint32_t value = h->a->raw_value[id];
	char path[64];
	if (h->reported[value] || !whole_token(h, end - h->a->raw_len[id], end,
	    (const uint8_t *)h->a->rawtext.data + h->a->raw_off[id], h->a->raw_len[id]))
		return 0;
	if (retained(h, h->a->v[value].tag))
		return 0;
	h->reported[value] = 1;
	snprintf(path, sizeof(path), "byte %zu", end - h->a->raw_len[id]);
	against_finding(h, value, path);
	return 0;
}

/* ---- the walk ---- */

static const struct { const char *root, *org; } uid_roots[] = {
	{ "1.2.840.113619.", "GE Healthcare" },
	{ "1.3.12.2.1107.", "Siemens" },
	{ "1.3.46.670589.", "Philips" },
	{ "1.2.840.113704.", "Philips (ADAC/Marconi)" },
	{ "1.2.392.200036.9116.", "Canon/Toshiba" },
	{ "1.2.392.200036.9125.", "Fujifilm" },
	{ "1.2.840.113564.", "Agfa" },
	{ "1.2.124.113532.", "Carestream/Kodak" },
	{ "1.2.840.113669.", "Hologic" },
	{ "1.2.826.0.1.3680043.2.1125.", "Medical Connections" },
	{ "1.2.826.0.1.3680043.8.498.", "pydicom" },
	{ "1.2.276.0.7230010.3.", "OFFIS dcmtk" },
	{ "1.3.6.1.4.1.", "an IANA enterprise" },
};

struct sctx {
	struct dcm_file *f;
	const struct scan_config *cfg;
	struct scan_report *rep;
	unsigned opts;
	int modified_dates;
	struct pv_buf u, tmp;
	const char *path;      /* of the element being scanned */
	const uint8_t *cur;    /* its UTF-8 text */
	uint8_t *against_seen;
	int rc;
};

static int
is_dummy(struct dcm_elem *e, const char *s, size_t n)
{
	static const char *const dummies[] = { "ANONYMIZED", "ANONYMOUS", "19000101", "19000101000000", "000000",
		"000Y", "0", "REMOVED" };
	while (n > 0 && (s[n - 1] == '\0' || s[n - 1] == ' '))
		n--;
	if (n == 0)
		return 1;
	for (size_t i = 0; i < sizeof(dummies) / sizeof(dummies[0]); i++)
		if (strlen(dummies[i]) == n && memcmp(s, dummies[i], n) == 0)
			return 1;
	/* pacsvault's pseudonyms: Patient ID "PV" + 20 hex, Patient Name "PV^" + 12 hex */
	if (e->tag == 0x00100020u && n == 22 && memcmp(s, "PV", 2) == 0 &&
	    strspn(s + 2, "0123456789abcdefABCDEF") >= 20)
		return 1;
	if (e->tag == 0x00100010u && n == 15 && memcmp(s, "PV^", 3) == 0 &&
	    strspn(s + 3, "0123456789abcdefABCDEF") >= 12)
		return 1;
	return 0;
}

static enum scan_kind
tk_kind(enum deid_text_kind k)
{
	switch (k) {
	case DEID_TK_PRC_ID: return SCAN_NATIONAL_ID;
	case DEID_TK_SSN: return SCAN_SSN;
	case DEID_TK_DATE: return SCAN_DATE;
	case DEID_TK_PHONE: return SCAN_PHONE;
	case DEID_TK_EMAIL: return SCAN_EMAIL;
	case DEID_TK_INSTITUTION: return SCAN_INSTITUTION;
	case DEID_TK_AGE: return SCAN_AGE;
	case DEID_TK_RECORD: return SCAN_RECORD;
	default: return SCAN_PERSON_NAME;
	}
}

static const char *
tk_detail(enum deid_text_kind k)
{
	switch (k) {
	case DEID_TK_PRC_ID: return "PRC resident identity number (check digit and birth date valid)";
	case DEID_TK_SSN: return "US social security number";
	case DEID_TK_DATE: return "a date in text";
	case DEID_TK_PHONE: return "a phone number or long digit run";
	case DEID_TK_EMAIL: return "an e-mail address";
	case DEID_TK_INSTITUTION: return "an institution's name";
	case DEID_TK_AGE: return "an age over 89";
	case DEID_TK_RECORD: return "a record number (letters joined to five or more digits)";
	default: return "person-name-like text";
	}
}

struct spanctx {
	struct sctx *x;
	int is_pn;
};

static int
on_span(void *arg, enum deid_text_kind k, size_t a, size_t b)
{
	struct spanctx *sp = arg;
	struct sctx *x = sp->x;
	struct scan_finding *f;
	if (k == DEID_TK_NAME && sp->is_pn)
		return 0;  /* a PN value is a name by definition: the attribute check covers it */
	if ((f = add(x->rep, tk_kind(k), x->path, tk_detail(k))) != NULL)
		scan_mask((const char *)x->cur + a, b - a, f->excerpt, sizeof(f->excerpt));
	return 0;
}

/*
 * With --against: a Patient's Name or ID that holds none of the originals'
 * values is another tool's pseudonym, not a leak (issue #14). Without
 * --against there is nothing to compare with, and it is reported.
 */
static int
pseudonym_of_another(const struct sctx *x, const struct dcm_elem *e, const char *s, size_t n)
{
	const struct scan_against *a = x->cfg->against;

	if (a == NULL || !a->finished || (e->tag != 0x00100010u && e->tag != 0x00100020u))
		return 0;
	return !against_matches(a, s, n);
}

/* The options the file declares, unless --strict. */
static unsigned
declared(const struct sctx *x)
{
	return x->cfg->strict ? 0u : x->opts;
}

static void
text_checks(struct sctx *x, struct dcm_elem *e, const char *s, size_t n)
{
	struct spanctx sp = { x, e->vr == DCM_VR_PN };
	struct deid_terms code = { NULL, NULL, 0, DEID_TF_CODE };
	x->cur = (const uint8_t *)s;
	if (is_dummy(e, s, n))
		return;  /* pacsvault's own dummies and pseudonyms (PV^ + 12 hex digits is no phone) */
	/* a code value's digits are a code (SNOMED, LOINC), not a phone or an ID */
	(void)deid_text_find(s, n, e->tag == 0x00080100u || e->tag == 0x00080119u || e->tag == 0x00080103u ?
	    &code : NULL, on_span, &sp);
	if (x->cfg->patterns != NULL && n < 65536) {
		char *z = malloc(n + 1);
		if (z != NULL) {
			memcpy(z, s, n);
			z[n] = '\0';
			for (unsigned i = 0; i < x->cfg->patterns->n; i++) {
				regmatch_t m;
				if (regexec(&x->cfg->patterns->p[i].re, z, 1, &m, 0) == 0 && m.rm_eo > m.rm_so) {
					char detail[64];
					struct scan_finding *f;
					snprintf(detail, sizeof(detail), "site pattern %s", x->cfg->patterns->p[i].name);
					if ((f = add(x->rep, SCAN_PATTERN, x->path, detail)) != NULL)
						scan_mask(z + m.rm_so, (size_t)(m.rm_eo - m.rm_so), f->excerpt, sizeof(f->excerpt));
				}
			}
			free(z);
		}
	}
	if (x->cfg->against != NULL && x->cfg->against->finished && x->against_seen != NULL) {
		struct hitctx h = { x->cfg->against, x->rep, x->path, 0, x->against_seen, (const uint8_t *)s, n,
			declared(x), 0 };
		ac_scan(&x->cfg->against->lc, (const uint8_t *)s, n, 1, hit_elem, &h);
	}
}

static void
uid_checks(struct sctx *x, const char *s, size_t n)
{
	size_t a = 0;
	for (size_t b = 0; b <= n; b++) {
		if (b < n && s[b] != '\\')
			continue;
		const char *u = s + a;
		size_t len = b - a;
		a = b + 1;
		while (len > 0 && (u[len - 1] == ' ' || u[len - 1] == '\0'))
			len--;
		if (len == 0 || (len >= 14 && memcmp(u, "1.2.840.10008.", 14) == 0) || (len > 5 && memcmp(u, "2.25.", 5) == 0))
			continue;
		char detail[96];
		struct scan_finding *f;
		snprintf(detail, sizeof(detail), "not in the 2.25 form");
		for (size_t k = 0; k < sizeof(uid_roots) / sizeof(uid_roots[0]); k++)
			if (len > strlen(uid_roots[k].root) && memcmp(u, uid_roots[k].root, strlen(uid_roots[k].root)) == 0) {
				snprintf(detail, sizeof(detail), "the UID root of %s", uid_roots[k].org);
				break;
			}
		if ((f = add(x->rep, SCAN_UID, x->path, detail)) != NULL)
			scan_mask(u, len, f->excerpt, sizeof(f->excerpt));
	}
}

/*
 * An unlisted free-text attribute that deid removes unless the allow-list
 * keeps it or Clean Descriptors cleans it (the file's declared options):
 * looked at at the top level, where no cleaned sequence encloses it.
 */
static int
unlisted_text(const struct sctx *x, const struct dcm_elem *e, const struct dcm_dict_entry *de, unsigned depth)
{
	enum dcm_vr vr = (enum dcm_vr)(e->vr == DCM_VR_UN ? de->vr : e->vr);

	if (depth > 0 || deid_safe_text(e->tag))
		return 0;
	if (!x->cfg->strict && (x->opts & DEID_OPT_BIT(DEID_OPT_CLEAN_DESCRIPTORS)) && vr != DCM_VR_PN &&
	    vr != DCM_VR_AE && vr != DCM_VR_UR)
		return 0;
	return deid_text_vr(vr);
}

static void
walk(struct sctx *x, const struct dcm_dataset *ds, const struct dcm_charset *parent, const char *path,
    unsigned depth)
{
	struct dcm_charset cs = *parent;
	struct dcm_elem *sc = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
	const uint8_t *v;
	char here[sizeof(((struct scan_finding *)0)->path)];
	uint32_t last_curve = 0;

	if (depth > SCAN_MAX_DEPTH)
		return;
	if (sc != NULL && sc->seq == NULL && dcm_file_value(x->f, sc, &v) == 0)
		(void)dcm_charset_parse(v, sc->length, &cs);
	for (uint32_t i = 0; i < ds->n && x->rc == 0; i++) {
		struct dcm_elem *e = &ds->e[i];
		const struct deid_rule *rule = NULL;
		enum deid_action act = DEID_A_NONE;
		uint16_t g = DCM_GROUP(e->tag);
		int is_seq = e->seq != NULL && !(e->flags & DCM_EF_ENCAPS);
		const struct dcm_dict_entry *de = DCM_IS_PRIVATE(e->tag) ? NULL : dcm_dict_lookup(e->tag);

		dcm_tag_path(here, sizeof(here), path, e->tag);
		x->path = here;
		if ((g & 0xff00) == 0x6000 && !(g & 1) && DCM_ELEM(e->tag) == 0x3000) {
			add(x->rep, SCAN_OVERLAY, here, "overlay data (a bitmap that can carry text)");
			continue;
		}
		if ((g & 0xff00) == 0x5000 && !(g & 1)) {
			if (last_curve != g)
				add(x->rep, SCAN_CURVE, here, "curve data (retired; can carry annotations)");
			last_curve = g;
			continue;
		}
		if (e->tag == DCM_TAG_PIXEL_DATA || DCM_ELEM(e->tag) == 0)
			continue;
		if (DCM_IS_PRIVATE(e->tag)) {
			if (DCM_IS_PRIVATE_CREATOR(e->tag))
				continue;
			struct dcm_elem *ce = dcm_ds_find(ds, DCM_PRIVATE_CREATOR_OF(e->tag));
			const uint8_t *cv = NULL;
			uint32_t cl = 0;
			if (ce != NULL && ce->seq == NULL && dcm_file_value(x->f, ce, &cv) == 0)
				cl = dcm_value_trim_len(DCM_VR_LO, cv, ce->length);
			if (cv == NULL || DCM_ELEM(e->tag) < 0x1000 ||
			    !deid_safe_private(g, (uint8_t)(DCM_ELEM(e->tag) & 0xff), (const char *)cv, cl)) {
				char detail[96];
				snprintf(detail, sizeof(detail), "private, creator \"%.*s\"", (int)(cl > 48 ? 48 : cl),
				    cv ? (const char *)cv : "");
				for (char *p = detail; *p; p++)
					if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
						*p = '?';
				add(x->rep, SCAN_PRIVATE, here, detail);
			}
		} else if ((rule = deid_profile_rule(e->tag)) != NULL) {
			act = deid_profile_action(rule, x->cfg->strict ? 0u : x->opts);
		} else if (g == 0x0000 || g == 0x0004 || de == NULL) {
			/* the allow-list (docs/DEID.md): command and DICOMDIR elements, unknown tags go */
			add(x->rep, SCAN_PHI_ATTRIBUTE, here, g == 0x0000 ? "command element (should be X)" :
			    g == 0x0004 ? "DICOMDIR record element (should be X)" : "not in the dictionary (should be X)");
			continue;
		} else if (!is_seq && e->length > 0 && unlisted_text(x, e, de, depth)) {
			char detail[96];
			snprintf(detail, sizeof(detail), "%s (free text not on the allow-list: should be X)",
			    dcm_dict_keyword(de));
			add(x->rep, SCAN_PHI_ATTRIBUTE, here, detail);
		}
		if (is_seq) {
			/* A sequence that should be gone (X) or empty (Z) but has items;
			 * X/Z/U*, D and the others allow items (with the profile applied inside). */
			if (rule != NULL && (act == DEID_A_X || act == DEID_A_Z) && e->seq->nitems > 0) {
				char detail[96];
				snprintf(detail, sizeof(detail), "%s (should be %s)", de ? dcm_dict_keyword(de) : "sequence",
				    deid_action_name(act));
				add(x->rep, SCAN_PHI_ATTRIBUTE, here, detail);
			}
			for (uint32_t k = 0; k < e->seq->nitems; k++) {
				char ipath[sizeof(here) + 16];
				snprintf(ipath, sizeof(ipath), "%s[%u]", here, k);
				walk(x, e->seq->items[k], &cs, ipath, depth + 1);
				x->path = here;
			}
			continue;
		}
		if (e->seq != NULL || e->length == 0)
			continue;
		/* A UN element (an implicit file read without a dictionary) is read as its dictionary VR. */
		enum dcm_vr vr = (enum dcm_vr)e->vr;
		if (vr == DCM_VR_UN && de != NULL && dcm_vr_info((enum dcm_vr)de->vr)->kind == DCM_VRK_STRING)
			vr = (enum dcm_vr)de->vr;
		const struct dcm_vr_info *vi = dcm_vr_info(vr);
		if (vi->kind != DCM_VRK_STRING) {
			if (rule != NULL && act != DEID_A_K && act != DEID_A_C && act != DEID_A_U && act != DEID_A_NONE &&
			    !DCM_IS_PRIVATE(e->tag)) {
				char detail[96];
				int zero = 0;
				/* a dummy is all zero bytes (an encapsulated document of 150 bytes was
				 * held back as a finding when only 64 were looked at) */
				if (e->length <= (1u << 24) && dcm_file_value(x->f, e, &v) == 0) {
					zero = 1;
					for (uint32_t k = 0; k < e->length; k++)
						zero &= v[k] == 0;
				}
				if (!zero) {
					snprintf(detail, sizeof(detail), "%s (should be %s)", de ? dcm_dict_keyword(de) : "element",
					    deid_action_name(act));
					add(x->rep, SCAN_PHI_ATTRIBUTE, here, detail);
				}
			}
			continue;
		}
		if (e->length > (1u << 24))
			continue;
		if (dcm_file_value(x->f, e, &v) != 0) {
			x->rc = PV_EIO;
			return;
		}
		uint32_t len = dcm_value_trim_len(vr, v, e->length);
		pv_buf_reset(&x->u);
		if (dcm_charset_to_utf8(&cs, vr, v, len, &x->u) == PV_ENOMEM) {
			x->rc = PV_ENOMEM;
			return;
		}
		const char *s = x->u.data ? x->u.data : "";
		size_t n = x->u.len;
		if (vr == DCM_VR_UI) {
			/* Instance UIDs (those the profile replaces: U, X/Z/U*); class,
			 * coding scheme and syntax UIDs identify nobody. */
			if (g != 0x0002 && rule != NULL && (rule->basic == DEID_A_U || rule->basic == DEID_A_XZU))
				uid_checks(x, s, n);
			continue;
		}
		if (rule != NULL && act != DEID_A_K && act != DEID_A_C && act != DEID_A_U && act != DEID_A_NONE &&
		    !is_dummy(e, s, n) && !(x->modified_dates && (vr == DCM_VR_DA || vr == DCM_VR_DT ||
		    vr == DCM_VR_TM)) && !pseudonym_of_another(x, e, s, n)) {
			char detail[96];
			struct scan_finding *f;
			snprintf(detail, sizeof(detail), "%s (should be %s)", de ? dcm_dict_keyword(de) : "element",
			    deid_action_name(act));
			if ((f = add(x->rep, SCAN_PHI_ATTRIBUTE, here, detail)) != NULL)
				scan_mask(s, n, f->excerpt, sizeof(f->excerpt));
		}
		if (vr != DCM_VR_DA && vr != DCM_VR_TM && vr != DCM_VR_DT && vr != DCM_VR_CS &&
		    vr != DCM_VR_AS && vr != DCM_VR_DS && vr != DCM_VR_IS && vr != DCM_VR_UR)
			text_checks(x, e, s, n);
	}
}

/* The options the file says were used (CID 7050 codes of DeidentificationMethodCodeSequence). */
static unsigned
declared_options(struct dcm_file *f, int *modified_dates)
{
	struct dcm_elem *e = dcm_ds_find(&f->ds, 0x00120064u);
	unsigned opts = 0;
	char v[32];

	*modified_dates = 0;
	if (dcm_ds_get_str(f, &f->ds, 0x00120062u, v, sizeof(v)) != 0 || strcmp(v, "YES") != 0)
		return 0;  /* not declared de-identified: no option is assumed */
	if (e == NULL || e->seq == NULL || (e->flags & DCM_EF_ENCAPS))
		return 0;
	for (uint32_t i = 0; i < e->seq->nitems; i++) {
		if (dcm_ds_get_str(f, e->seq->items[i], 0x00080100u, v, sizeof(v)) != 0)
			continue;
		for (int o = 0; o < DEID_OPT_COUNT; o++) {
			const struct deid_method_code *mc = deid_method_code(o);
			if (mc != NULL && strcmp(mc->value, v) == 0)
				opts |= DEID_OPT_BIT(o);
		}
	}
	if (opts & DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES))
		*modified_dates = 1;
	return opts;
}

static void
burned_in_checks(struct sctx *x)
{
	static const char *const modalities[] = { "US", "XA", "OT", "SC", "ES", "XC", "GM", "SM" };
	struct dcm_file *f = x->f;
	char v[80], detail[96];

	if (dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA) == NULL)
		return;
	if (dcm_ds_get_str(f, &f->ds, 0x00280301u, v, sizeof(v)) == 0) {
		if (strcmp(v, "YES") == 0)
			add(x->rep, SCAN_BURNED_IN_FLAG, "00280301", "BurnedInAnnotation is YES");
		return;
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00080060u, v, sizeof(v)) == 0)
		for (size_t i = 0; i < sizeof(modalities) / sizeof(modalities[0]); i++)
			if (strcmp(v, modalities[i]) == 0) {
				snprintf(detail, sizeof(detail), "BurnedInAnnotation missing on modality %s, which usually carries text",
				    modalities[i]);
				add(x->rep, SCAN_BURNED_IN_FLAG, "00280301", detail);
				return;
			}
	if (dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_CLASS_UID, v, sizeof(v)) == 0 &&
	    strncmp(v, "1.2.840.10008.5.1.4.1.1.7", 25) == 0 && (v[25] == '\0' || v[25] == '.'))
		add(x->rep, SCAN_BURNED_IN_FLAG, "00280301", "BurnedInAnnotation missing on a Secondary Capture");
}

static void
meta_checks(struct sctx *x)
{
	static const struct { uint32_t tag; const char *what; } m[] = {
		{ 0x00020016u, "SourceApplicationEntityTitle (the sending station)" },
		{ 0x00020017u, "SendingApplicationEntityTitle" },
		{ 0x00020018u, "ReceivingApplicationEntityTitle" },
		{ 0x00020100u, "PrivateInformationCreatorUID" },
		{ 0x00020102u, "PrivateInformation" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct dcm_elem *e = dcm_ds_find(&x->f->meta, m[i].tag);
		const uint8_t *v;
		char path[16];
		struct scan_finding *f;
		if (e == NULL || e->length == 0 || e->seq != NULL)
			continue;
		snprintf(path, sizeof(path), "%08X", m[i].tag);
		if ((f = add(x->rep, SCAN_FILE_META, path, m[i].what)) != NULL && m[i].tag != 0x00020102u &&
		    dcm_file_value(x->f, e, &v) == 0)
			scan_mask((const char *)v, dcm_value_trim_len(DCM_VR_AE, v, e->length), f->excerpt, sizeof(f->excerpt));
	}
}

/* ---- pixels ---- */

/* The file's own identifiers, upper-cased, for matching OCR words: name parts, IDs, dates. */
struct idterms {
	char t[32][48];
	unsigned n;
};

static void
add_term(struct idterms *it, const char *s, size_t n)
{
	if (n < 2 || n >= sizeof(it->t[0]) || it->n == 32)
		return;
	for (size_t i = 0; i < n; i++)
		it->t[it->n][i] = (char)toupper((unsigned char)s[i]);
	it->t[it->n][n] = '\0';
	it->n++;
}

static void
collect_ids(struct dcm_file *f, const struct dcm_dataset *ds, struct idterms *it, unsigned depth)
{
	static const uint32_t tags[] = { 0x00100010u, 0x00100020u, 0x00101000u, 0x00080050u, 0x00100030u, 0x00101001u };
	char v[128];
	for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
		if (dcm_ds_get_str(f, ds, tags[k], v, sizeof(v)) != 0 || v[0] == '\0')
			continue;
		size_t a = 0, n = strlen(v);
		add_term(it, v, n);
		for (size_t b = 0; b <= n; b++)
			if (b == n || v[b] == '^' || v[b] == '=' || v[b] == ' ' || v[b] == '\\') {
				if (b - a < n)
					add_term(it, v + a, b - a);
				a = b + 1;
			}
	}
	struct dcm_elem *e = dcm_ds_find(ds, 0x00101002u);  /* OtherPatientIDsSequence */
	if (depth == 0 && e != NULL && e->seq != NULL && !(e->flags & DCM_EF_ENCAPS))
		for (uint32_t i = 0; i < e->seq->nitems; i++)
			collect_ids(f, e->seq->items[i], it, depth + 1);
}

/*
 * Whether an OCR word counts: two letters or digits at least, 5 pixels
 * high at least, confidence 50 at least. Tesseract reads shapes in
 * anatomy as short, flat, unsure "words" ("ah", "be."); real burned-in
 * text of 12 pixels reads at 80-95 (tests/e2e/090-scan).
 */
static int
ocr_word_counts(const struct ocr_word *w)
{
	size_t alnum = 0;
	for (const char *c = w->text; *c; c++)
		if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80)
			alnum++;
	return alnum >= 2 && w->box.h >= 5 && w->conf >= 50;
}

static void
ocr_checks(struct sctx *x, const uint8_t *g, uint32_t w, uint32_t h, uint32_t frame, const struct idterms *ids)
{
	struct ocr_result res;
	struct pv_diag d;

	pv_diag_clear(&d);
	if (ocr_frame(g, w, h, &res, &d) != 0) {
		snprintf(x->rep->pixel_note, sizeof(x->rep->pixel_note), "OCR not done: %.200s", d.msg);
		return;
	}
	x->rep->ocr_frames++;
	for (size_t i = 0; i < res.n; i++) {
		struct ocr_word *ow = &res.w[i];
		char up[64], detail[96];
		size_t n = 0, alnum = 0;
		for (const char *c = ow->text; *c && n + 1 < sizeof(up); c++) {
			unsigned char ch = (unsigned char)*c;
			if (isalnum(ch) || ch >= 0x80 || ch == '^') {
				up[n++] = (char)toupper(ch);
				alnum++;
			}
		}
		up[n] = '\0';
		if (alnum < 2 || !ocr_word_counts(ow))
			continue;  /* noise: a letter or two, or a guess */
		snprintf(detail, sizeof(detail), "OCR read text (confidence %d)", ow->conf);
		for (unsigned k = 0; k < ids->n; k++)
			if (strlen(ids->t[k]) >= 3 && strstr(up, ids->t[k]) != NULL) {
				snprintf(detail, sizeof(detail), "OCR read text that matches an identifier of this file (confidence %d)",
				    ow->conf);
				break;
			}
		struct scan_finding *sf = add(x->rep, SCAN_BURNED_IN_TEXT, "pixels", detail);
		if (sf != NULL) {
			sf->box = ow->box;
			sf->frame = frame;
			scan_mask(ow->text, strlen(ow->text), sf->excerpt, sizeof(sf->excerpt));
		}
	}
	ocr_result_free(&res);
}

/*
 * PALETTE COLOR: the brightness of each index (the largest of its red,
 * green and blue entries). Text drawn with a low index that the palette
 * shows white is no contrast at all as raw indices.
 */
struct palette {
	uint32_t n;
	int32_t first;
	uint32_t *lum;
};

/* 0, or -1 when the palette is not there as three plain tables (segmented ones are not read). */
static int
palette_read(struct dcm_file *f, struct palette *p)
{
	memset(p, 0, sizeof(*p));
	for (uint32_t c = 0; c < 3; c++) {
		struct dcm_elem *de = dcm_ds_find(&f->ds, 0x00281101u + c), *dd = dcm_ds_find(&f->ds, 0x00281201u + c);
		const uint8_t *dv, *vv;
		uint32_t n;

		if (de == NULL || dd == NULL || de->length < 6 || dcm_file_value(f, de, &dv) != 0 ||
		    dcm_file_value(f, dd, &vv) != 0)
			goto fail;
		n = (uint32_t)dv[0] | (uint32_t)dv[1] << 8;
		if (n == 0)
			n = 65536;
		if (c == 0) {
			uint32_t first = (uint32_t)dv[2] | (uint32_t)dv[3] << 8;
			p->n = n;
			p->first = de->vr == DCM_VR_SS ? (int32_t)(int16_t)first : (int32_t)first;
			if ((p->lum = pv_calloc(n, sizeof(*p->lum))) == NULL)
				goto fail;
		} else if (n != p->n) {
			goto fail;
		}
		for (uint32_t i = 0; i < n; i++) {
			/* 16-bit entries; 8-bit ones either in 16-bit words or packed */
			uint32_t v = dd->length >= 2 * (uint64_t)n ? (uint32_t)vv[2 * i] | (uint32_t)vv[2 * i + 1] << 8 :
			    dd->length >= n ? vv[i] : 0;
			if (dd->length < n)
				goto fail;
			if (v > p->lum[i])
				p->lum[i] = v;
		}
	}
	return 0;
fail:
	free(p->lum);
	memset(p, 0, sizeof(*p));
	return -1;
}

/* Native frame -> 8-bit grey, stretched between the lowest and the highest value of the frame. */
static void
to_grey(const uint8_t *fr, const struct pix_desc *pd, const struct palette *pal, uint8_t *g)
{
	size_t npix = (size_t)pd->rows * pd->cols, plane = npix * (pd->bits_alloc / 8u);
	unsigned bytes = pd->bits_alloc / 8u;
	int32_t lo = INT32_MAX, hi = INT32_MIN;
	int32_t *tmp = pv_mallocarray(npix, sizeof(*tmp));
	if (tmp == NULL) {
		memset(g, 0, npix);
		return;
	}
	for (size_t i = 0; i < npix; i++) {
		int32_t best = INT32_MIN;
		for (unsigned s = 0; s < pd->spp; s++) {
			size_t off = pd->planar && pd->spp > 1 ? s * plane + i * bytes : (i * pd->spp + s) * bytes;
			uint32_t u = fr[off];
			if (bytes >= 2)
				u |= (uint32_t)fr[off + 1] << 8;
			if (bytes == 4)
				u |= (uint32_t)fr[off + 2] << 16 | (uint32_t)fr[off + 3] << 24;
			int32_t val;
			unsigned bs = pd->bits_stored ? pd->bits_stored : pd->bits_alloc;
			if (bs < 32)
				u &= (1u << bs) - 1;
			if (pd->pixrep && bs < 32 && (u & (1u << (bs - 1))))
				val = (int32_t)(u | ~((1u << bs) - 1));
			else
				val = (int32_t)u;
			if (val > best)
				best = val;
		}
		if (strcmp(pd->photometric, "MONOCHROME1") == 0)
			best = -best;
		if (pal != NULL && pal->lum != NULL) {
			int64_t k = (int64_t)best - pal->first;
			best = (int32_t)pal->lum[k < 0 ? 0 : k >= pal->n ? pal->n - 1 : k];
		}
		tmp[i] = best;
		if (best < lo)
			lo = best;
		if (best > hi)
			hi = best;
	}
	for (size_t i = 0; i < npix; i++)
		g[i] = hi > lo ? (uint8_t)((((int64_t)tmp[i] - lo) * 255) / ((int64_t)hi - lo)) : 0;  /* 32-bit: no overflow */
	free(tmp);
}

/* Called with each frame looked at, as 8-bit grey; ocr says whether OCR should read this one. */
typedef int (*frame_fn)(void *arg, const uint8_t *g, uint32_t w, uint32_t h, uint32_t frame, int ocr);

/*
 * Decodes the frames of f (every step-th, step chosen so that at most
 * max_frames are looked at; 0: all) and calls fn with each, marking up to
 * ocr_max of them (spread) for OCR. Returns 0, or an error with the reason
 * in note when the pixels cannot be looked at (a compression the scanner
 * does not decode, a frame that does not decode).
 */
static int
each_frame(struct dcm_file *f, uint32_t max_frames, uint32_t ocr_max, frame_fn fn, void *arg, char *note,
    size_t nn, unsigned *looked)
{
	struct dcm_elem *e = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
	struct pix_desc pd;
	struct pv_diag d;
	struct pix_frame *fr = NULL;
	struct palette pal;
	enum pix_codec c;
	uint8_t *frame = NULL, *g = NULL;
	uint32_t step, ocr_step;
	int rc = 0;

	*looked = 0;
	memset(&pal, 0, sizeof(pal));
	if (e == NULL)
		return 0;
	pv_diag_clear(&d);
	if ((rc = pix_desc_read(f, &pd, &d)) != 0) {
		snprintf(note, nn, "pixels not looked at: %.200s", d.msg);
		return rc;
	}
	c = pix_codec_of(f->ts->uid, (e->flags & DCM_EF_ENCAPS) != 0);
	if (c != PIX_NATIVE && c != PIX_RLE && c != PIX_JPEG_LOSSLESS && c != PIX_JPEG_DCT &&
	    c != PIX_JPEG_2000 && c != PIX_JPEG_LS && c != PIX_HTJ2K) {
		snprintf(note, nn, "pixels not looked at: %s is not decoded by the scanner yet", pix_codec_name(c));
		return PV_EUNSUPPORTED;
	}
	size_t fb = pix_frame_bytes(&pd), npix = (size_t)pd.rows * pd.cols, nb = fb;
	const uint8_t *native = NULL;
	int sub = c == PIX_NATIVE && pix_native_422(&pd);
	if (sub && (nb = pix_native_422_bytes(&pd)) == 0) {
		snprintf(note, nn, "pixels not looked at: uncompressed %s other than 8-bit, even width", pd.photometric);
		return PV_EUNSUPPORTED;
	}
	if (c == PIX_NATIVE) {
		if ((uint64_t)nb * pd.frames > e->length || dcm_file_value(f, e, &native) != 0) {
			snprintf(note, nn, "pixels not looked at: pixel data shorter than its frames");
			return PV_EPARSE;
		}
	} else if ((rc = pix_encaps_frames(f, e, pd.frames, c, &fr, &d)) != 0) {
		snprintf(note, nn, "pixels not looked at: %.200s", d.msg);
		return rc;
	}
	if ((frame = malloc(fb)) == NULL || (g = malloc(npix)) == NULL) {
		rc = PV_ENOMEM;
		goto out;
	}
	if (strcmp(pd.photometric, "PALETTE COLOR") == 0 && palette_read(f, &pal) != 0) {
		/* raw indices say nothing of what is seen: not judged */
		snprintf(note, nn, "pixels not looked at: a PALETTE COLOR image without a plain palette");
		rc = PV_EUNSUPPORTED;
		goto out;
	}
	step = max_frames && pd.frames > max_frames ? (pd.frames + max_frames - 1) / max_frames : 1;
	ocr_step = ocr_max && pd.frames > ocr_max ? (pd.frames + ocr_max - 1) / ocr_max : 1;
	if (c == PIX_JPEG_2000 || c == PIX_JPEG_LS || c == PIX_HTJ2K) {
		/* Third-party decoders: the frames looked at go to the sandboxed helper, in one request
		 * (OpenJPEG decodes High-Throughput JPEG 2000 too). */
		uint32_t nsel = (pd.frames + step - 1) / step;
		struct pix_frame *sel = pv_calloc(nsel, sizeof(*sel));
		struct pv_buf *nat = pv_calloc(nsel, sizeof(*nat));
		struct pix_desc one = pd;
		one.frames = 1;
		one.planar = 0;
		if (sel == NULL || nat == NULL) {
			free(sel);
			free(nat);
			rc = PV_ENOMEM;
			goto out;
		}
		for (uint32_t k = 0; k < nsel; k++) {
			sel[k] = fr[k * step];
			sel[k].owned = NULL;
			pv_buf_init(&nat[k], fb + 1);
		}
		rc = pix_helper_decode(c == PIX_HTJ2K ? PIX_JPEG_2000 : c, sel, nsel, &one, nat, &d);
		if (rc != 0)
			snprintf(note, nn, "pixels not looked at: %.200s", d.msg);
		for (uint32_t k = 0; k < nsel && rc == 0; k++) {
			if (nat[k].len != fb) {
				snprintf(note, nn, "frame %u not decoded", k * step + 1);
				rc = PV_EPARSE;
				break;
			}
			to_grey((const uint8_t *)nat[k].data, &one, pal.lum != NULL ? &pal : NULL, g);
			rc = fn(arg, g, pd.cols, pd.rows, k * step, ocr_max != 0 && ((k * step) % ocr_step) < step);
			(*looked)++;
		}
		for (uint32_t k = 0; k < nsel; k++)
			pv_buf_free(&nat[k]);
		free(nat);
		free(sel);
		goto out;
	}
	for (uint32_t i = 0; i < pd.frames && rc == 0; i += step) {
		struct pix_desc one = pd;
		struct jpegll_params lp;
		one.frames = 1;
		if (sub) {
			/* Y1 Y2 Cb Cr pairs: looked at as full YBR */
			pix_expand_422(native + (size_t)i * nb, &pd, frame);
			one.planar = 0;
			snprintf(one.photometric, sizeof(one.photometric), "YBR_FULL");
		} else if (c == PIX_NATIVE) {
			memcpy(frame, native + (size_t)i * fb, fb);
		} else {
			one.planar = 0;
			rc = c == PIX_RLE ? rle_decode(fr[i].p, fr[i].n, &one, frame, &d) :
			    c == PIX_JPEG_LOSSLESS ? jpegll_decode(fr[i].p, fr[i].n, &one, frame, &lp, &d) :
			    jpeg_decode(fr[i].p, fr[i].n, &one, frame, &d);
			if (rc != 0) {
				snprintf(note, nn, "frame %u not decoded: %.200s", i + 1, d.msg);
				break;
			}
		}
		to_grey(frame, &one, pal.lum != NULL ? &pal : NULL, g);
		rc = fn(arg, g, pd.cols, pd.rows, i, ocr_max != 0 && (i % ocr_step) < step);
		(*looked)++;
	}
out:
	free(frame);
	free(g);
	free(pal.lum);
	pix_frames_free(fr, pd.frames);
	return rc;
}

struct scan_frames {
	struct sctx *x;
	struct idterms ids;
	int likely;     /* a modality or SOP class that carries burned-in text (deid_burned_in_risk) */
};

static int
scan_frame(void *arg, const uint8_t *g, uint32_t w, uint32_t h, uint32_t i, int ocr)
{
	struct scan_frames *sf0 = arg;
	struct sctx *x = sf0->x;
	struct pix_rect boxes[64];
	size_t nb = scan_text_regions(g, w, h, sf0->likely, boxes, 64);
	for (size_t k = 0; k < nb; k++) {
		struct scan_finding *sf = add(x->rep, SCAN_BURNED_IN_TEXT, "pixels", "a text-like region");
		if (sf != NULL) {
			sf->box = boxes[k];
			sf->frame = i;
			snprintf(sf->excerpt, sizeof(sf->excerpt), "%ux%u at %u,%u", boxes[k].w, boxes[k].h, boxes[k].x,
			    boxes[k].y);
		}
	}
	/* OCR where text is likely: the detector saw text-like regions, or the
	 * kind of image usually carries text (US, XA, OT, SC, screen captures).
	 * A CT or MR slice with neither is not read (issue #15: 2,000 small
	 * files took 450-590 s with OCR on each, 3.4 s without, same findings). */
	if (ocr && (nb > 0 || sf0->likely))
		ocr_checks(x, g, w, h, i, &sf0->ids);
	/* a thumbnail of the first frame with text found, for the HTML report */
	if (x->cfg->thumbs && x->rep->thumb == NULL) {
		int text = 0;
		for (size_t k = 0; k < x->rep->n; k++)
			text |= x->rep->f[k].kind == SCAN_BURNED_IN_TEXT && x->rep->f[k].frame == i;
		if (text) {
			uint32_t big = w > h ? w : h, tw = w, th = h;
			if (big > 256) {
				tw = (uint32_t)((uint64_t)w * 256 / big);
				th = (uint32_t)((uint64_t)h * 256 / big);
			}
			if (tw == 0)
				tw = 1;
			if (th == 0)
				th = 1;
			if ((x->rep->thumb = malloc((size_t)tw * th)) != NULL) {
				for (uint32_t ty = 0; ty < th; ty++)
					for (uint32_t tx = 0; tx < tw; tx++)
						x->rep->thumb[(size_t)ty * tw + tx] =
						    g[(size_t)((uint64_t)ty * h / th) * w + (size_t)((uint64_t)tx * w / tw)];
				x->rep->thumb_w = tw;
				x->rep->thumb_h = th;
				x->rep->thumb_frame = i;
				x->rep->img_w = w;
				x->rep->img_h = h;
			}
		}
	}
	return 0;
}

static void
pixel_checks(struct sctx *x)
{
	struct scan_frames sf;
	memset(&sf, 0, sizeof(sf));
	sf.x = x;
	if (x->cfg->ocr) {
		char why[160];
		collect_ids(x->f, &x->f->ds, &sf.ids, 0);
		sf.likely = deid_burned_in_risk(x->f, why, sizeof(why));
	}
	/* at most 16 frames, spread over the series (burned-in text is on every frame); OCR on 3 */
	(void)each_frame(x->f, 16, x->cfg->ocr ? 3 : 0, scan_frame, &sf, x->rep->pixel_note, sizeof(x->rep->pixel_note),
	    &x->rep->pixel_frames);
}

/*
 * Native pixels with bits set outside BitsStored/HighBit: an overlay
 * embedded there (PS3.5 8.1.2, retired) or any other payload travels
 * unseen by viewers. pacsvault deid clears them; this reports them.
 */
struct unused_count {
	const struct dcm_pixfix *fx;
	uint64_t found;
};

static int
unused_chunk(void *arg, uint8_t *buf, size_t whole, size_t chunk)
{
	struct unused_count *u = arg;

	(void)chunk;
	u->found += dcm_pixfix_count(u->fx, buf, whole);
	return 0;
}

static void
unused_bits_check(struct sctx *x)
{
	struct dcm_file *f = x->f;
	struct dcm_pixfix fx;
	struct unused_count u = { &fx, 0 };
	int rc;

	if (!dcm_pixfix_setup(f))
		return;
	fx = f->pixfix;
	memset(&f->pixfix, 0, sizeof(f->pixfix));
	/* A pixel value that cannot be read is the file's error, not "nothing found". */
	if ((rc = dcm_pixel_chunks(f, dcm_ds_find(&f->ds, 0x7fe00010u), fx.unit, unused_chunk, &u)) != 0) {
		x->rc = rc;
		return;
	}
	if (u.found > 0) {
		char detail[160];
		snprintf(detail, sizeof(detail), "%llu samples with bits set outside BitsStored/HighBit (%u/%u): "
		    "an embedded overlay?", (unsigned long long)u.found, fx.bits_stored, fx.high_bit);
		add(x->rep, SCAN_OVERLAY, "7FE00010", detail);
	}
}

struct box_collect {
	struct pix_rect *out;
	size_t max, n;
	int overflow;
	char *note;
	size_t nn;
	int ocr_failed;
};

static void
box_add(struct box_collect *b, struct pix_rect r)
{
	if (b->n == b->max) {
		b->overflow = 1;
		return;
	}
	b->out[b->n++] = r;
}

static int
box_frame(void *arg, const uint8_t *g, uint32_t w, uint32_t h, uint32_t i, int ocr)
{
	struct box_collect *b = arg;
	struct pix_rect boxes[64];
	size_t nb = scan_text_regions(g, w, h, 1, boxes, 64);  /* a file at risk: grey text too */
	(void)i;
	for (size_t k = 0; k < nb; k++)
		box_add(b, boxes[k]);
	if (ocr) {
		struct ocr_result res;
		struct pv_diag d;
		pv_diag_clear(&d);
		if (ocr_frame(g, w, h, &res, &d) != 0) {
			snprintf(b->note, b->nn, "OCR cannot judge it: %.200s", d.msg);
			b->ocr_failed = 1;
			return PV_EUNSUPPORTED;
		}
		for (size_t k = 0; k < res.n; k++)
			if (ocr_word_counts(&res.w[k]))
				box_add(b, res.w[k].box);
		ocr_result_free(&res);
	}
	return 0;
}

int
scan_text_boxes(struct dcm_file *f, int ocr, struct pix_rect *out, size_t max, size_t *n, char *note, size_t nn)
{
	struct box_collect b = { out, max, 0, 0, note, nn, 0 };
	unsigned looked = 0;
	int rc;

	note[0] = '\0';
	*n = 0;
	rc = each_frame(f, 0, ocr ? 16 : 0, box_frame, &b, note, nn, &looked);
	*n = b.n;
	if (rc == 0 && b.overflow) {
		snprintf(note, nn, "more than %zu text boxes", max);
		return PV_ELIMIT;
	}
	return rc;
}

int
scan_file(struct dcm_file *f, const struct scan_config *cfg, struct scan_report *rep, struct pv_diag *d)
{
	struct sctx x;
	struct dcm_charset cs;

	memset(rep, 0, sizeof(*rep));
	memset(&x, 0, sizeof(x));
	x.f = f;
	x.cfg = cfg;
	x.rep = rep;
	x.opts = declared_options(f, &x.modified_dates);
	if (cfg->strict)
		x.modified_dates = 0;
	pv_buf_init(&x.u, (size_t)1 << 25);
	if (cfg->against != NULL && cfg->against->nv > 0 && (x.against_seen = pv_calloc(cfg->against->nv, 1)) == NULL)
		return PV_ENOMEM;
	dcm_charset_default(&cs);
	meta_checks(&x);
	walk(&x, &f->ds, &cs, "", 0);
	if (x.rc == 0)
		burned_in_checks(&x);
	if (x.rc == 0 && cfg->pixels)
		pixel_checks(&x);
	if (x.rc == 0 && cfg->pixels)
		unused_bits_check(&x);
	if (x.rc == 0 && cfg->raw != NULL && x.against_seen != NULL && cfg->against->finished) {
		/* The raw bytes too: values in binary elements, in other encodings,
		 * in places the parser does not show. Each value once per file. */
		struct hitctx h = { cfg->against, rep, "", 1, x.against_seen, cfg->raw, cfg->raw_len, declared(&x), 0 };
		ac_scan(&cfg->against->raw, cfg->raw, cfg->raw_len, 0, hit_raw, &h);
	}
	pv_buf_free_scrub(&x.u);
	free(x.against_seen);
	if (x.rc != 0)
		return pv_diag_set(d, x.rc, -1, "scan failed: %s", pv_strerror(x.rc));
	return 0;
}

/* ---- file and folder names (issue #15: exports name folders after patients) ---- */

struct namectx {
	struct scan_report *rep;
	const char *comp;
};

static int
name_span(void *arg, enum deid_text_kind k, size_t a, size_t b)
{
	struct namectx *nc = arg;
	struct scan_finding *f;
	char detail[96];

	snprintf(detail, sizeof(detail), "in a file or folder name: %s", tk_detail(k));
	if ((f = add(nc->rep, tk_kind(k), "file name", detail)) != NULL)
		scan_mask(nc->comp + a, b - a, f->excerpt, sizeof(f->excerpt));
	return 0;
}

static int
name_hit(void *arg, uint32_t id, size_t end)
{
	struct hitctx *h = arg;
	const struct against_value *v = &h->a->v[id];
	if (!whole_token(h, end - v->len, end, (const uint8_t *)h->a->text.data + v->off, v->len))
		return 0;
	h->found = 1;
	against_finding(h, id, "file name");
	return 1;  /* one finding per name is enough */
}

void
scan_names(const char *rel, const struct scan_config *cfg, struct scan_report *rep)
{
	char comp[256];
	size_t a = 0, n = strlen(rel), ci = 0;

	for (size_t b = 0; b <= n; b++) {
		size_t len, before = rep->n + rep->dropped;
		if (b < n && rel[b] != '/')
			continue;
		len = b - a;
		if (len > 0 && len < sizeof(comp) && !(len == 1 && rel[a] == '.') &&
		    !(len == 2 && rel[a] == '.' && rel[a + 1] == '.')) {
			struct namectx nc = { rep, comp };
			size_t e;
			memcpy(comp, rel + a, len);
			comp[len] = '\0';
			/* an extension (".dcm") is no part of the name */
			for (e = len; e > 0 && ((comp[e - 1] | 0x20) >= 'a' && (comp[e - 1] | 0x20) <= 'z'); e--)
				;
			if (e > 1 && e < len && len - e <= 5 && comp[e - 1] == '.') {
				len = e - 1;
				comp[len] = '\0';
			}
			if (strspn(comp, "0123456789.") == len) {
				/* named by a UID: a pseudonym (2.25) is fine, another UID is the original's */
				if (strncmp(comp, "2.25.", 5) != 0 && strchr(comp, '.') != NULL) {
					struct scan_finding *f = add(rep, SCAN_UID, "file name",
					    "a file or folder named by a UID that is not a 2.25 pseudonym");
					if (f != NULL)
						scan_mask(comp, len, f->excerpt, sizeof(f->excerpt));
				}
			} else {
				/* a name's words are often joined by '_': read them as spaces */
				for (size_t k = 0; k < len; k++)
					if (comp[k] == '_')
						comp[k] = ' ';
				(void)deid_text_find(comp, len, NULL, name_span, &nc);
			}
			if (cfg->against != NULL && cfg->against->finished) {
				struct hitctx h = { cfg->against, rep, "file name", 0, NULL, (const uint8_t *)comp, len, 0, 0 };
				ac_scan(&cfg->against->lc, (const uint8_t *)comp, len, 1, name_hit, &h);
			}
		}
		if (rep->n + rep->dropped > before && ci < 64)
			rep->name_flagged |= (uint64_t)1 << ci;
		ci++;
		a = b + 1;
	}
}
