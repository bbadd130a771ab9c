/* engine.c: applies PS3.15 Annex E to a data set (see engine.h, docs/DEID.md). */
#include "pacsvault/deid/engine.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/cms.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/deid/recipe.h"
#include "pacsvault/deid/scan.h"
#include "pacsvault/deid/textclean.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/uid.h"
#include "pacsvault/dicom/value.h"
#include "pacsvault/dicom/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PATIENT_NAME        0x00100010u
#define TAG_PATIENT_ID          0x00100020u
#define TAG_PATIENT_AGE         0x00101010u
#define TAG_ISSUER_PATIENT_ID   0x00100021u
#define TAG_IDENTITY_REMOVED    0x00120062u
#define TAG_DEID_METHOD         0x00120063u
#define TAG_DEID_METHOD_CODES   0x00120064u
#define TAG_LONGITUDINAL        0x00280303u
#define TAG_CODE_VALUE          0x00080100u
#define TAG_CODING_SCHEME       0x00080102u
#define TAG_CODE_MEANING        0x00080104u
#define TAG_ENCRYPTED_ATTRS     0x04000500u
#define TAG_ENCRYPTED_TS        0x04000510u
#define TAG_ENCRYPTED_CONTENT   0x04000520u
#define TAG_MODIFIED_ATTRS      0x04000550u

struct dctx {
	struct dcm_file *f;
	const struct deid_config *cfg;
	struct deid_counts *c;
	struct pv_jw *jw;
	int date_offset;
	int have_offset;
	struct pv_buf termbuf;        /* the data set's identifiers, NUL-separated UTF-8 */
	const char **terms;           /* offsets into termbuf while collecting, then pointers */
	size_t *term_len;
	unsigned nterms, capterms;
	struct pv_buf tmp, tmp2;
	struct pv_diag *d;
	unsigned clean_all;           /* > 0 inside a sequence under C: every text value is cleaned */
};

int
deid_uid_pseudonym(const uint8_t key[32], const char *uid, size_t n, char out[48])
{
	uint8_t h[PV_SHA256_LEN];
	int rc;

	while (n > 0 && (uid[n - 1] == '\0' || uid[n - 1] == ' '))
		n--;
	if ((rc = pv_hmac_sha256_2(key, 32, "uid", 3, uid, n, h)) != 0)
		return rc;
	dcm_uid_from_128(h, out);  /* the first 128 bits (DESIGN.md, Pseudonyms) */
	return 0;
}

int
deid_date_offset(const uint8_t key[32], const char *patient_id, size_t n, int *days)
{
	uint8_t h[PV_SHA256_LEN];
	int rc = pv_hmac_sha256_2(key, 32, "date-shift", 10, patient_id, n, h);
	uint32_t v;

	if (rc != 0)
		return rc;
	v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	*days = -(int)(1 + v % 3650);
	return 0;
}

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void
civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long)yoe + era * 400 + (*m <= 2);
}

int
deid_shift_date(const char *da, int days, char out[9])
{
	long y;
	unsigned m, d;

	for (int i = 0; i < 8; i++)
		if (da[i] < '0' || da[i] > '9')
			return PV_EPARSE;
	y = (da[0] - '0') * 1000 + (da[1] - '0') * 100 + (da[2] - '0') * 10 + (da[3] - '0');
	m = (unsigned)((da[4] - '0') * 10 + (da[5] - '0'));
	d = (unsigned)((da[6] - '0') * 10 + (da[7] - '0'));
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return PV_EPARSE;
	civil_from_days(days_from_civil(y, m, d) + days, &y, &m, &d);
	if (y < 0 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return PV_EPARSE;
	{
		char buf[40];
		snprintf(buf, sizeof(buf), "%04ld%02u%02u", y, m, d);
		memcpy(out, buf, 8);
		out[8] = '\0';
	}
	return 0;
}

static void
report(struct dctx *x, const char *path, enum deid_action a)
{
	if (x->jw == NULL)
		return;
	pv_jw_key(x->jw, path, strlen(path));
	pv_jw_string(x->jw, deid_action_name(a), strlen(deid_action_name(a)));
}

/* Replaces e's value with n bytes (copied into the arena). */
static int
set_value(struct dctx *x, struct dcm_elem *e, const void *p, size_t n)
{
	uint8_t *b;

	if (n > UINT32_MAX - 2)
		return PV_ELIMIT;
	b = (uint8_t *)pv_arena_memdup(&x->f->arena, p, n);
	if (b == NULL)
		return PV_ENOMEM;
	e->v.bytes = b;
	e->length = (uint32_t)n;
	e->flags &= (uint8_t)~(DCM_EF_REF | DCM_EF_ODD);
	e->swap = 0;
	return 0;
}

static int
set_str(struct dctx *x, struct dcm_elem *e, const char *s)
{
	return set_value(x, e, s, strlen(s));
}

/* A keyed pseudonym of a value, for Patient ID ("PV" + 20 hex) and Name ("PV^" + 12 hex). */
static int
pseudonym(struct dctx *x, const char *label, const uint8_t *v, size_t n, char *out, size_t outsz,
    const char *prefix, unsigned hexdigits)
{
	uint8_t h[PV_SHA256_LEN];
	static const char hex[] = "0123456789ABCDEF";
	size_t k;
	int rc;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\0'))
		n--;
	if ((rc = pv_hmac_sha256_2(x->cfg->key, 32, label, strlen(label), v, n, h)) != 0)
		return rc;
	k = (size_t)snprintf(out, outsz, "%s", prefix);
	for (unsigned i = 0; i < hexdigits && k + 1 < outsz; i++)
		out[k++] = hex[(h[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[k] = '\0';
	return 0;
}

static int
uid_values(struct dctx *x, struct dcm_elem *e)
{
	const uint8_t *v;
	char p[48];
	int rc;

	if ((rc = dcm_file_value(x->f, e, &v)) != 0)
		return rc;
	pv_buf_reset(&x->tmp);
	for (unsigned i = 0;; i++) {
		const uint8_t *s;
		size_t n;
		if (dcm_value_string_at(DCM_VR_UI, v, e->length, i, &s, &n) != 0)
			break;
		if (i > 0 && (rc = pv_buf_putc(&x->tmp, '\\')) != 0)
			return rc;
		if (n == 0)
			continue;
		if ((rc = deid_uid_pseudonym(x->cfg->key, (const char *)s, n, p)) != 0)
			return rc;
		if ((rc = pv_buf_puts(&x->tmp, p)) != 0)
			return rc;
	}
	x->c->uids++;
	return set_value(x, e, x->tmp.data ? x->tmp.data : "", x->tmp.len);
}

/* A dummy value valid for the VR (PS3.15 E.1.1, action D). */
static int
dummy(struct dctx *x, struct dcm_elem *e)
{
	static const uint8_t zeros[8];
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	const uint8_t *v;
	char p[80];
	int rc;

	x->c->dummied++;
	if (e->tag == TAG_PATIENT_ID || e->tag == TAG_PATIENT_NAME) {
		if ((rc = dcm_file_value(x->f, e, &v)) != 0)
			return rc;
		x->c->pseudonyms++;
		if (e->tag == TAG_PATIENT_ID)
			rc = pseudonym(x, "patient-id", v, e->length, p, sizeof(p), "PV", 20);
		else
			rc = pseudonym(x, "patient-name", v, e->length, p, sizeof(p), "PV^", 12);
		return rc != 0 ? rc : set_str(x, e, p);
	}
	switch (vr) {
	case DCM_VR_UI: return uid_values(x, e);
	case DCM_VR_DA: return set_str(x, e, "19000101");
	case DCM_VR_DT: return set_str(x, e, "19000101000000");
	case DCM_VR_TM: return set_str(x, e, "000000");
	case DCM_VR_AS: return set_str(x, e, "000Y");
	case DCM_VR_DS: case DCM_VR_IS: return set_str(x, e, "0");
	case DCM_VR_CS: return set_str(x, e, "ANONYMIZED");
	case DCM_VR_UR: return set_value(x, e, "", 0);
	case DCM_VR_AE: case DCM_VR_PN: case DCM_VR_SH: case DCM_VR_LO:
	case DCM_VR_ST: case DCM_VR_LT: case DCM_VR_UT: case DCM_VR_UC:
		return set_str(x, e, "ANONYMIZED");
	default: {
		/* numbers and binary: zeros of the same length (one value for numbers) */
		const struct dcm_vr_info *vi = dcm_vr_info(vr);
		size_t n = vi->kind == DCM_VRK_NUMBER ? vi->max_len : e->length;
		if (n <= sizeof(zeros))
			return set_value(x, e, zeros, n);
		uint8_t *z = pv_arena_zalloc(&x->f->arena, n + 1);
		if (z == NULL)
			return PV_ENOMEM;
		e->v.bytes = z;
		e->length = (uint32_t)n;
		e->flags &= (uint8_t)~(DCM_EF_REF | DCM_EF_ODD);
		return 0;
	}
	}
}

/* Action C on a value: dates shift, text is cleaned (docs/DEID.md). */
static int
clean_value(struct dctx *x, struct dcm_elem *e, const struct dcm_charset *cs)
{
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	const uint8_t *v;
	unsigned red = 0;
	int rc;

	if ((rc = dcm_file_value(x->f, e, &v)) != 0)
		return rc;
	if (vr == DCM_VR_DA || vr == DCM_VR_DT) {
		/* Modified dates: every date of the patient moves by one offset. */
		char out[9];
		pv_buf_reset(&x->tmp);
		if (!x->have_offset)
			return dummy(x, e);
		for (unsigned i = 0;; i++) {
			const uint8_t *s;
			size_t n;
			if (dcm_value_string_at(vr, v, e->length, i, &s, &n) != 0)
				break;
			if (i > 0 && (rc = pv_buf_putc(&x->tmp, '\\')) != 0)
				return rc;
			if (n == 0)
				continue;
			if (n < 8 || deid_shift_date((const char *)s, x->date_offset, out) != 0)
				return dummy(x, e);  /* not a date we can move: no guess */
			if ((rc = pv_buf_append(&x->tmp, out, 8)) != 0)
				return rc;
			/* DT keeps its time of day and zone after the date */
			if (vr == DCM_VR_DT && n > 8 && (rc = pv_buf_append(&x->tmp, s + 8, n - 8)) != 0)
				return rc;
		}
		x->c->shifted++;
		return set_value(x, e, x->tmp.data ? x->tmp.data : "", x->tmp.len);
	}
	if (vr == DCM_VR_TM) {
		/* a whole-day shift leaves the time of day as it is */
		return 0;
	}
	if (vr == DCM_VR_UI)
		return uid_values(x, e);
	if (vi->kind != DCM_VRK_STRING) {
		/* Binary data (overlay bitmaps...) cannot be cleaned here: removed instead. */
		return PV_ENOTFOUND;
	}
	{
		struct deid_terms t = { x->terms, x->term_len, x->nterms, 0 };
		if (e->tag == TAG_CODE_VALUE || e->tag == 0x00080119u || e->tag == 0x00080103u)
			t.flags = DEID_TF_CODE;  /* SNOMED and LOINC codes are digit runs, not phones */
		pv_buf_reset(&x->tmp);
		pv_buf_reset(&x->tmp2);
		rc = dcm_charset_to_utf8(cs, vr, v, dcm_value_trim_len(vr, v, e->length), &x->tmp);
		if (rc != 0 && rc != PV_ECHARSET)
			return rc;
		if ((rc = deid_text_clean(x->tmp.data ? x->tmp.data : "", x->tmp.len, &t, &x->tmp2, &red)) != 0)
			return rc;
		if (red == 0)
			return 0;
		x->c->cleaned++;
		pv_buf_reset(&x->tmp);
		if (dcm_charset_from_utf8(cs, (const uint8_t *)x->tmp2.data, x->tmp2.len, &x->tmp) != 0)
			return set_str(x, e, "***"); /* cannot re-encode: redact the whole value */
		return set_value(x, e, x->tmp.data ? x->tmp.data : "", x->tmp.len);
	}
}

/* Adds the UTF-8 term s[0, len) (copied into termbuf); no limit but memory. */
static void
add_term(struct dctx *x, const char *s, size_t len)
{
	size_t at = x->termbuf.len;

	if (x->nterms == x->capterms) {
		unsigned cap = x->capterms ? x->capterms * 2 : 64;
		const char **nt = realloc(x->terms, cap * sizeof(*nt));
		size_t *nl;
		if (nt == NULL)
			return;
		x->terms = nt;
		if ((nl = realloc(x->term_len, cap * sizeof(*nl))) == NULL)
			return;
		x->term_len = nl;
		x->capterms = cap;
	}
	if (pv_buf_append(&x->termbuf, s, len) == 0 && pv_buf_putc(&x->termbuf, '\0') == 0) {
		x->term_len[x->nterms] = len;
		x->terms[x->nterms++] = (const char *)(uintptr_t)at; /* fixed up once all are in */
	}
}

/* Attributes whose values are looked for in every text of the data set, beside every PN. */
static int
term_attribute(uint32_t tag)
{
	switch (tag) {
	case TAG_PATIENT_ID: case 0x00101000u: case 0x00080050u: case 0x00102154u: case 0x00101040u:
	case 0x00101001u: case 0x00080080u: case 0x00080081u: case 0x00081040u: case 0x00101002u:
	case 0x00380010u: case 0x00401001u: case 0x00200010u: case 0x00081010u: case 0x00102152u:
		return 1;
	default:
		return 0;
	}
}

/*
 * Collects the identifying values of ds (and below) as UTF-8 terms for
 * cleaning: whole values and, for names and addresses, each part of two or
 * more characters (a name is found in any order, and in each of its
 * alphabetic, ideographic and phonetic forms).
 */
static void
collect_terms(struct dctx *x, const struct dcm_dataset *ds, const struct dcm_charset *parent, unsigned depth)
{
	struct dcm_charset cs = *parent;
	struct dcm_elem *sc = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
	const uint8_t *v;

	if (depth > 256)
		return;
	if (sc != NULL && sc->seq == NULL && dcm_file_value(x->f, sc, &v) == 0)
		(void)dcm_charset_parse(v, sc->length, &cs);
	for (uint32_t i = 0; i < ds->n; i++) {
		struct dcm_elem *e = &ds->e[i];
		int want, split;
		if (e->seq != NULL) {
			if (!(e->flags & DCM_EF_ENCAPS))
				for (uint32_t k = 0; k < e->seq->nitems; k++)
					collect_terms(x, e->seq->items[k], &cs, depth + 1);
			continue;
		}
		want = e->vr == DCM_VR_PN || term_attribute(e->tag) ||
		    (DCM_IS_PRIVATE(e->tag) && (e->vr == DCM_VR_LO || e->vr == DCM_VR_SH || e->vr == DCM_VR_PN) &&
		    !DCM_IS_PRIVATE_CREATOR(e->tag));
		/* a private element read in Implicit VR (UN) that holds a short text: an identifier as likely
		 * as the same element in Explicit VR */
		if (!want && DCM_IS_PRIVATE(e->tag) && !DCM_IS_PRIVATE_CREATOR(e->tag) && e->vr == DCM_VR_UN &&
		    e->length >= 4 && e->length <= 64 && dcm_file_value(x->f, e, &v) == 0) {
			uint32_t k = 0, n2 = e->length;

			while (n2 > 0 && (v[n2 - 1] == ' ' || v[n2 - 1] == 0))
				n2--;
			while (k < n2 && v[k] >= 0x20 && v[k] < 0x7f && v[k] != '\\')
				k++;
			want = n2 >= 4 && k == n2;
		}
		if (!want || e->length == 0 || e->length > 1024 || dcm_file_value(x->f, e, &v) != 0)
			continue;
		pv_buf_reset(&x->tmp);
		if (dcm_charset_to_utf8(&cs, (enum dcm_vr)e->vr, v, e->length, &x->tmp) == PV_ENOMEM)
			continue;
		split = e->vr == DCM_VR_PN || e->tag == 0x00101040u || e->tag == 0x00080081u;
		const char *s = x->tmp.data ? x->tmp.data : "";
		size_t n = x->tmp.len, a = 0;
		for (size_t b = 0; b <= n; b++) {
			int sep = b == n || s[b] == '\\' || (split && (s[b] == '^' || s[b] == '=' || s[b] == ' ' ||
			    s[b] == ',' || s[b] == '.'));
			if (!sep)
				continue;
			size_t len = b - a;
			while (len > 0 && s[a + len - 1] == ' ')
				len--;
			if (len >= 2)
				add_term(x, s + a, len);
			a = b + 1;
		}
		if (split && n >= 2) {
			/* the whole name as text writes it: "Family Given" (its first form) */
			size_t k = 0;
			char *copy;
			while (k < n && s[k] != '=')
				k++;
			if (k >= 2 && (copy = malloc(k)) != NULL) {
				for (size_t j = 0; j < k; j++)
					copy[j] = s[j] == '^' ? ' ' : s[j];
				add_term(x, copy, k);
				free(copy);
			}
		}
	}
}

static int walk(struct dctx *x, struct dcm_dataset *ds, const struct dcm_charset *parent, const char *path,
    unsigned depth);

#define PATH_MAX_LEN (PV_DIAG_PATH + 16)

/* Z: an empty value; a sequence without items; encapsulated pixel data removed. */
static int
empty_elem(struct dctx *x, struct dcm_elem *e, int *remove)
{
	if (e->flags & DCM_EF_ENCAPS) {
		*remove = 1;
		return 0;
	}
	if (e->seq != NULL) {
		e->seq->nitems = 0;
		return 0;
	}
	return set_value(x, e, "", 0);
}

/* Applies the profile inside every item of sequence e (path: its tag path). */
static int
walk_items(struct dctx *x, struct dcm_elem *e, const struct dcm_charset *cs, const char *path,
    unsigned depth)
{
	int rc;

	for (uint32_t k = 0; k < e->seq->nitems; k++) {
		char ipath[PATH_MAX_LEN + 32];
		if (snprintf(ipath, sizeof(ipath), "%s[%u]", path, k) >= (int)sizeof(ipath))
			ipath[sizeof(ipath) - 1] = '\0';
		if ((rc = walk(x, e->seq->items[k], cs, ipath, depth + 1)) != 0)
			return rc;
	}
	return 0;
}

/* The elements of an overlay plane that describe its bitmap (PS3.3 C.9.2). */
static int
overlay_layout_elem(uint16_t el)
{
	switch (el) {
	case 0x0010: case 0x0011: case 0x0015: case 0x0040: case 0x0045: case 0x0050: case 0x0051:
	case 0x0100: case 0x0102: case 0x3000:
		return 1;
	default:
		return 0;
	}
}

/*
 * The action for a standard attribute that Table E.1-1 does not list (the
 * allow-list of docs/DEID.md): command-group elements (0000), DICOMDIR
 * records (0004) and tags absent from the dictionary go; free text goes
 * unless the reviewed list keeps it (cleaned), or Clean Descriptors (or a
 * sequence under C above it) asks to clean it; a name always goes. Other
 * VRs (codes, numbers, dates the table does not name, binary) are kept.
 */
static enum deid_action
unlisted_action(const struct dctx *x, const struct dcm_elem *e, int is_seq)
{
	uint16_t g = DCM_GROUP(e->tag);
	enum dcm_vr vr = (enum dcm_vr)e->vr;

	if (g == 0x0000 || g == 0x0004 || dcm_dict_lookup(e->tag) == NULL)
		return DEID_A_X;
	if (is_seq || (e->flags & DCM_EF_ENCAPS))
		return DEID_A_NONE;
	if (vr == DCM_VR_UN)
		vr = dcm_dict_vr(e->tag);  /* not read as its VR (too long, big endian): text goes whole */
	if (!deid_text_vr(vr))
		return DEID_A_NONE;
	if (e->vr == DCM_VR_UN || vr == DCM_VR_PN)
		return DEID_A_X;
	if (deid_safe_text(e->tag) || x->clean_all > 0)
		return DEID_A_C;
	if ((x->cfg->opts & DEID_OPT_BIT(DEID_OPT_CLEAN_DESCRIPTORS)) && vr != DCM_VR_AE && vr != DCM_VR_UR)
		return DEID_A_C;
	return DEID_A_X;
}

/* 1 when the n bytes at v are a valid value of a string VR whose repertoire is narrow (PS3.5 6.2). */
static int
narrow_string_ok(enum dcm_vr vr, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = v[i];
		int ok;
		switch (vr) {
		case DCM_VR_DS: ok = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' ||
		    c == 'E' || c == ' ' || c == '\\'; break;
		case DCM_VR_IS: ok = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == ' ' || c == '\\'; break;
		case DCM_VR_CS: ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_' ||
		    c == '\\'; break;
		case DCM_VR_UI: ok = (c >= '0' && c <= '9') || c == '.' || c == '\\' || (c == 0 && i == n - 1); break;
		default: return 0;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/*
 * A private element whose block and offset Table E.3.10-1 lists (Retain
 * Safe Private): kept only as the VR the table gives. An element read as UN
 * (Implicit VR) takes that VR when its value fits it; a numeric or code
 * slot holding anything else, or an explicit VR other than the table's,
 * goes. Text slots (LO, SH, ST, LT) are cleaned, a sequence has the
 * profile applied inside. Returns the action: K, C or X.
 */
static enum deid_action
safe_private_action(struct dctx *x, struct dcm_elem *e, const struct deid_safe_private *row, int is_seq)
{
	enum dcm_vr want = DCM_VR__, alt = DCM_VR__;
	const struct dcm_vr_info *vi;
	const uint8_t *v;

	if (strlen(row->vr) >= 2)
		want = dcm_vr_parse((uint8_t)row->vr[0], (uint8_t)row->vr[1]);
	if (strlen(row->vr) == 5 && row->vr[2] == '/')
		alt = dcm_vr_parse((uint8_t)row->vr[3], (uint8_t)row->vr[4]);
	if (want == DCM_VR__)
		return DEID_A_X;
	if (want == DCM_VR_SQ)
		return is_seq ? DEID_A_K : DEID_A_X;
	if (is_seq || (e->flags & DCM_EF_ENCAPS))
		return DEID_A_X;
	if (e->vr != DCM_VR_UN && e->vr != want && e->vr != alt)
		return DEID_A_X;
	vi = dcm_vr_info(want);
	if (vi->kind == DCM_VRK_STRING) {
		if (want == DCM_VR_DS || want == DCM_VR_IS || want == DCM_VR_CS || want == DCM_VR_UI) {
			if (dcm_file_value(x->f, e, &v) != 0 || !narrow_string_ok(want, v, e->length))
				return DEID_A_X;
			e->vr = (uint8_t)want;
			return DEID_A_K;
		}
		e->vr = (uint8_t)want;
		return DEID_A_C;
	}
	if (vi->kind == DCM_VRK_NUMBER && (vi->max_len == 0 || e->length % vi->max_len != 0))
		return DEID_A_X;
	if (vi->kind != DCM_VRK_NUMBER && vi->kind != DCM_VRK_BULK)
		return DEID_A_X;  /* AT and the like: kept only when sent with the table's VR */
	e->vr = (uint8_t)want;
	return DEID_A_K;
}

/*
 * D on a sequence (PS3.15 E.1.1: a dummy value): one item that keeps the
 * shape of the first, every value in it a dummy (UIDs their pseudonyms),
 * nested sequences the same; private elements go. No original value stays.
 */
static int
dummy_item(struct dctx *x, struct dcm_dataset *ds, unsigned depth)
{
	uint32_t w = 0;
	int rc;

	if (depth > 256)
		return pv_diag_set(x->d, PV_ELIMIT, -1, "nesting too deep");
	for (uint32_t i = 0; i < ds->n; i++) {
		struct dcm_elem *e = &ds->e[i];
		enum deid_action a = deid_profile_action(deid_profile_rule(e->tag), x->cfg->opts);
		if (DCM_IS_PRIVATE(e->tag) || DCM_ELEM(e->tag) == 0 || (e->flags & DCM_EF_ENCAPS) ||
		    DCM_GROUP(e->tag) <= 0x0004 || e->tag == DCM_TAG_SPECIFIC_CHARSET || a == DEID_A_X ||
		    dcm_dict_lookup(e->tag) == NULL)
			continue;
		if (a == DEID_A_Z || a == DEID_A_XZ) {
			/* the table's own rule inside: empty */
			if (e->seq != NULL)
				e->seq->nitems = 0;
			else if ((rc = set_value(x, e, "", 0)) != 0)
				return rc;
		} else if (e->seq != NULL) {
			if (e->seq->nitems > 1)
				e->seq->nitems = 1;
			if (e->seq->nitems == 1 && (rc = dummy_item(x, e->seq->items[0], depth + 1)) != 0)
				return rc;
		} else if (e->length > 0) {
			if (e->vr == DCM_VR_UN || (e->tag != TAG_PATIENT_ID && e->tag != TAG_PATIENT_NAME &&
			    dcm_vr_info((enum dcm_vr)e->vr)->kind == DCM_VRK_BULK)) {
				if ((rc = set_value(x, e, "", 0)) != 0)
					return rc;
			} else if ((rc = dummy(x, e)) != 0) {
				return rc;
			}
		}
		ds->e[w++] = *e;
	}
	ds->n = w;
	return 0;
}

/*
 * An age kept under Retain Patient Characteristics (PS3.15 E.3.5 note,
 * HIPAA): over 89 years becomes 090Y whatever the spelling ("95Y ",
 * "095y", "1200M", "5000W"); a value that is not an age becomes the
 * dummy. Sets *replace to the value to write, or NULL to keep.
 */
static const char *
age_kept(const uint8_t *v, size_t n)
{
	unsigned long num = 0;
	size_t i = 0, digits = 0;
	char unit;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == 0))
		n--;
	while (i < n && v[i] == ' ')
		i++;
	if (i == n)
		return NULL;
	for (; i < n && v[i] >= '0' && v[i] <= '9' && digits < 6; i++, digits++)
		num = num * 10 + (unsigned long)(v[i] - '0');
	if (digits == 0 || i + 1 != n)
		return "000Y";
	unit = (char)(v[i] & ~0x20);
	switch (unit) {
	case 'Y': break;
	case 'M': num /= 12; break;
	case 'W': num /= 52; break;
	case 'D': num /= 365; break;
	default: return "000Y";
	}
	if (num > 89)
		return "090Y";
	/* a valid spelling is kept as it is; another is rewritten as nnnU */
	return n == 4 && digits == 3 && v[3] == (uint8_t)unit ? NULL : "";
}

/* Applies the action to element i of ds; sets *remove when it goes. */
static int
apply(struct dctx *x, struct dcm_dataset *ds, uint32_t i, const struct dcm_charset *cs, const char *path,
    unsigned depth, int *remove)
{
	struct dcm_elem *e = &ds->e[i];
	unsigned opts = x->cfg->opts;
	enum deid_action a;
	char here[PATH_MAX_LEN + 16];
	int rc, is_seq = e->seq != NULL && !(e->flags & DCM_EF_ENCAPS);

	*remove = 0;
	dcm_tag_path(here, sizeof(here), path, e->tag);
	if (DCM_ELEM(e->tag) == 0 || DCM_GROUP(e->tag) == 0x0002) {
		/* group lengths (retired) and stray meta: the writer recomputes what it needs */
		*remove = 1;
		return 0;
	}
	if (x->cfg->recipe != NULL) {
		/* Site overrides come first (docs/DEID.md, Recipes). */
		const struct deid_recipe_rule *rr = NULL;
		if (DCM_IS_PRIVATE(e->tag) && !DCM_IS_PRIVATE_CREATOR(e->tag) && DCM_ELEM(e->tag) >= 0x1000) {
			struct dcm_elem *ce = dcm_ds_find(ds, DCM_PRIVATE_CREATOR_OF(e->tag));
			const uint8_t *cv;
			if (ce != NULL && ce->seq == NULL && dcm_file_value(x->f, ce, &cv) == 0)
				rr = deid_recipe_match(x->cfg->recipe, e->tag, (const char *)cv, ce->length);
		} else if (!DCM_IS_PRIVATE(e->tag)) {
			rr = deid_recipe_match(x->cfg->recipe, e->tag, NULL, 0);
		}
		if (rr != NULL) {
			x->c->recipe++;
			report(x, here, rr->action == DEID_R_KEEP ? DEID_A_K : rr->action == DEID_R_REMOVE ?
			    DEID_A_X : rr->action == DEID_R_EMPTY ? DEID_A_Z : DEID_A_D);
			switch (rr->action) {
			case DEID_R_REMOVE:
				*remove = 1;
				return 0;
			case DEID_R_EMPTY:
				return empty_elem(x, e, remove);
			case DEID_R_REPLACE:
				if (is_seq || dcm_vr_info((enum dcm_vr)e->vr)->kind != DCM_VRK_STRING) {
					*remove = 1;  /* only text can take a replacement: no guess */
					return 0;
				}
				return set_str(x, e, rr->value);
			default: /* keep: a sequence keeps the profile inside */
				return is_seq ? walk_items(x, e, cs, here, depth) : 0;
			}
		}
	}
	if (DCM_IS_PRIVATE(e->tag)) {
		if (DCM_IS_PRIVATE_CREATOR(e->tag))
			return 0; /* decided once the block is known (walk) */
		a = deid_profile_action(deid_profile_private_rule(), opts);
		if (a == DEID_A_C && DCM_ELEM(e->tag) >= 0x1000) {
			struct dcm_elem *ce = dcm_ds_find(ds, DCM_PRIVATE_CREATOR_OF(e->tag));
			const struct deid_safe_private *row = NULL;
			const uint8_t *cv;
			if (ce != NULL && ce->seq == NULL && dcm_file_value(x->f, ce, &cv) == 0)
				row = deid_safe_private_find(DCM_GROUP(e->tag), (uint8_t)(DCM_ELEM(e->tag) & 0xff),
				    (const char *)cv, ce->length);
			a = row != NULL ? safe_private_action(x, e, row, is_seq) : DEID_A_X;
			if (a == DEID_A_K || a == DEID_A_C) {
				x->c->kept_private++;
				report(x, here, a);
				if (is_seq)
					return walk_items(x, e, cs, here, depth);
				if (a == DEID_A_C && (rc = clean_value(x, e, cs)) != PV_ENOTFOUND)
					return rc;
				if (a == DEID_A_K)
					return 0;
			}
		}
		x->c->removed++;
		report(x, here, DEID_A_X);
		*remove = 1;
		return 0;
	}
	if ((DCM_GROUP(e->tag) & 0xff00) == 0x6000) {
		/* Overlays (60xx): the data goes (E.1-1 X), so the whole overlay group
		 * goes. Under Clean Graphics (C) a top-level overlay plane keeps its
		 * bitmap and layout for clean_overlays(), which blanks the text in it
		 * or removes the group; its free text (description, label,
		 * comments, ROI statistics) goes. */
		if (depth == 0 && (opts & DEID_OPT_BIT(DEID_OPT_CLEAN_GRAPHICS)) && !(DCM_GROUP(e->tag) & 1) &&
		    overlay_layout_elem(DCM_ELEM(e->tag)))
			return 0;
		x->c->removed++;
		report(x, here, DEID_A_X);
		*remove = 1;
		return 0;
	}
	if (e->vr == DCM_VR_UN && !is_seq && dcm_dict_vr(e->tag) == DCM_VR_SQ) {
		/* a sequence sent as UN that could not be read as one (CP-246): the
		 * profile cannot be applied inside it, so it goes whole */
		x->c->removed++;
		report(x, here, DEID_A_X);
		*remove = 1;
		return 0;
	}
	a = deid_profile_action(deid_profile_rule(e->tag), opts);
	if (e->tag == TAG_PATIENT_ID || e->tag == TAG_PATIENT_NAME)
		a = DEID_A_D;  /* keyed pseudonyms instead of Z (issue #3) */
	if (a == DEID_A_NONE)
		a = unlisted_action(x, e, is_seq);
	else if (a == DEID_A_K && x->clean_all > 0 && !is_seq && deid_text_vr((enum dcm_vr)e->vr) &&
	    e->vr != DCM_VR_PN)
		a = DEID_A_C;  /* under a cleaned sequence, kept text is cleaned too */
	/* Compound actions: the choice that keeps a valid object (docs/DEID.md). */
	switch (a) {
	case DEID_A_XZ: a = DEID_A_Z; break;
	case DEID_A_XD: case DEID_A_XZD: case DEID_A_ZD: a = DEID_A_D; break;
	case DEID_A_XZU:
		/* a UID is replaced; a reference sequence is kept with its UIDs replaced */
		a = e->vr == DCM_VR_UI || is_seq ? DEID_A_U : DEID_A_Z;
		break;
	default: break;
	}
	if (a != DEID_A_NONE && a != DEID_A_K)
		report(x, here, a);
	switch (a) {
	case DEID_A_NONE:
	case DEID_A_K:
		break;
	case DEID_A_X:
		x->c->removed++;
		*remove = 1;
		return 0;
	case DEID_A_Z:
		x->c->emptied++;
		return empty_elem(x, e, remove);
	case DEID_A_D:
		if (is_seq) {
			/* one dummy item: no original value stays */
			x->c->dummied++;
			if (e->seq->nitems > 1)
				e->seq->nitems = 1;
			return e->seq->nitems == 1 ? dummy_item(x, e->seq->items[0], depth + 1) : 0;
		}
		return dummy(x, e);
	case DEID_A_U:
		if (is_seq)
			break; /* recurse: the UIDs inside are replaced by their own rules */
		if (e->vr != DCM_VR_UI) {
			x->c->emptied++;
			return set_value(x, e, "", 0);
		}
		return uid_values(x, e);
	case DEID_A_C:
		if (is_seq) {
			/* Clean Structured Content and the like: the tree stays, every text in it is cleaned */
			x->clean_all++;
			rc = walk_items(x, e, cs, here, depth);
			x->clean_all--;
			return rc;
		}
		rc = clean_value(x, e, cs);
		if (rc == PV_ENOTFOUND) {
			x->c->removed++;
			*remove = 1;
			return 0;
		}
		return rc;
	default:
		break;
	}
	if ((a == DEID_A_K || a == DEID_A_NONE) && e->vr == DCM_VR_AS && !is_seq && e->length > 0) {
		/* Ages over 89 become 090Y where ages are kept (PS3.15 E.3.5 note, HIPAA). */
		const uint8_t *v;
		const char *nv;
		if ((rc = dcm_file_value(x->f, e, &v)) != 0)
			return rc;
		if ((nv = age_kept(v, e->length)) != NULL) {
			if (nv[0] == '\0') {
				/* a valid age spelt another way: nnnU */
				char b[8];
				unsigned long num = 0;
				size_t k = 0, n = e->length;
				while (k < n && v[k] == ' ')
					k++;
				for (; k < n && v[k] >= '0' && v[k] <= '9'; k++)
					num = num * 10 + (unsigned long)(v[k] - '0');
				snprintf(b, sizeof(b), "%03lu%c", num % 1000, k < n ? (char)(v[k] & ~0x20) : 'Y');
				return set_str(x, e, b);
			}
			return set_str(x, e, nv);
		}
	}
	return is_seq ? walk_items(x, e, cs, here, depth) : 0;
}

static int
walk(struct dctx *x, struct dcm_dataset *ds, const struct dcm_charset *parent, const char *path,
    unsigned depth)
{
	struct dcm_charset cs = *parent;
	struct dcm_elem *sc = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
	uint8_t *gone;
	uint32_t w = 0;
	int rc = 0;

	if (depth > 256)
		return pv_diag_set(x->d, PV_ELIMIT, -1, "nesting too deep");
	if (sc != NULL && sc->seq == NULL) {
		const uint8_t *v;
		if (dcm_file_value(x->f, sc, &v) == 0)
			(void)dcm_charset_parse(v, sc->length, &cs);
	}
	gone = calloc(ds->n + 1, 1);
	if (gone == NULL)
		return PV_ENOMEM;
	for (uint32_t i = 0; i < ds->n && rc == 0; i++) {
		int remove;
		rc = apply(x, ds, i, &cs, path, depth, &remove);
		gone[i] = (uint8_t)remove;
	}
	/* A private creator stays only while its block keeps an element. */
	for (uint32_t i = 0; i < ds->n && rc == 0; i++) {
		struct dcm_elem *e = &ds->e[i];
		int used = 0;
		if (!DCM_IS_PRIVATE_CREATOR(e->tag))
			continue;
		for (uint32_t k = 0; k < ds->n; k++)
			if (!gone[k] && DCM_IS_PRIVATE(ds->e[k].tag) && DCM_ELEM(ds->e[k].tag) >= 0x1000 &&
			    DCM_PRIVATE_CREATOR_OF(ds->e[k].tag) == e->tag)
				used = 1;
		if (!used) {
			gone[i] = 1;
			x->c->removed++;
		}
	}
	for (uint32_t i = 0; i < ds->n; i++)
		if (!gone[i])
			ds->e[w++] = ds->e[i];
	ds->n = w;
	free(gone);
	return rc;
}

/* Removes every element of group g from the top level. */
static void
remove_group(struct dcm_file *f, uint16_t g)
{
	uint32_t w = 0;
	for (uint32_t i = 0; i < f->ds.n; i++)
		if (DCM_GROUP(f->ds.e[i].tag) != g)
			f->ds.e[w++] = f->ds.e[i];
	f->ds.n = w;
}

#define OVERLAY_MAX_BOXES 512
#define OVERLAY_MARGIN 4

/* The text-like regions of frame k of an overlay bitmap, grown by the margin. */
static size_t
overlay_text(const uint8_t *bits, uint64_t first, unsigned rows, unsigned cols, uint8_t *g, struct pix_rect *box)
{
	size_t n;
	for (uint64_t i = 0; i < (uint64_t)rows * cols; i++) {
		uint64_t b = first + i;
		g[i] = (bits[b >> 3] >> (b & 7)) & 1 ? 255 : 0;
	}
	n = scan_text_regions(g, cols, rows, 0, box, OVERLAY_MAX_BOXES);
	for (size_t k = 0; k < n; k++) {
		uint32_t x0 = box[k].x > OVERLAY_MARGIN ? box[k].x - OVERLAY_MARGIN : 0;
		uint32_t y0 = box[k].y > OVERLAY_MARGIN ? box[k].y - OVERLAY_MARGIN : 0;
		uint32_t x1 = box[k].x + box[k].w + OVERLAY_MARGIN, y1 = box[k].y + box[k].h + OVERLAY_MARGIN;
		box[k].x = x0;
		box[k].y = y0;
		box[k].w = (x1 < cols ? x1 : cols) - x0;
		box[k].h = (y1 < rows ? y1 : rows) - y0;
	}
	return n;
}

/*
 * Clean Graphics on overlay planes (60xx,3000 under C): in every frame of
 * every top-level 1-bit overlay, the text-like regions (the detector the
 * scanner uses: rows of glyphs) are cleared with a margin and the plane is
 * looked at again; graphics (outlines, marks) stay. A plane the detector
 * still finds text in after that, or that does not describe a valid 1-bit
 * bitmap, is removed whole, as without the option.
 */
static int
clean_overlays(struct dctx *x)
{
	struct dcm_file *f = x->f;
	struct pix_rect *box = pv_calloc(OVERLAY_MAX_BOXES, sizeof(*box));
	int rc = 0;

	if (box == NULL)
		return PV_ENOMEM;
	for (uint16_t g = 0x6000; g <= 0x601e && rc == 0; g += 2) {
		struct dcm_elem *data = dcm_ds_find(&f->ds, (uint32_t)g << 16 | 0x3000);
		unsigned rows, cols, ba, bp, frames = 1;
		char here[16], nf[16];
		const uint8_t *v;
		uint8_t *img = NULL;
		uint64_t plane, need;
		int ok = 1;

		if (data == NULL) {
			if (dcm_ds_find(&f->ds, (uint32_t)g << 16 | 0x0010) != NULL)
				remove_group(f, g);  /* no bitmap (an embedded overlay: the pixels' bits are cleared) */
			continue;
		}
		snprintf(here, sizeof(here), "%04X3000", g);
		if (dcm_ds_get_str(f, &f->ds, (uint32_t)g << 16 | 0x0015, nf, sizeof(nf)) == 0 && nf[0] != '\0')
			frames = (unsigned)strtoul(nf, NULL, 10);
		if (dcm_ds_get_us(f, &f->ds, (uint32_t)g << 16 | 0x0010, &rows) != 0 ||
		    dcm_ds_get_us(f, &f->ds, (uint32_t)g << 16 | 0x0011, &cols) != 0 ||
		    dcm_ds_get_us(f, &f->ds, (uint32_t)g << 16 | 0x0100, &ba) != 0 ||
		    dcm_ds_get_us(f, &f->ds, (uint32_t)g << 16 | 0x0102, &bp) != 0 || ba != 1 || bp != 0 ||
		    rows == 0 || cols == 0 || frames == 0 || frames > 65535 || data->seq != NULL)
			ok = 0;
		plane = (uint64_t)rows * cols;
		need = ok ? (plane * frames + 7) / 8 : 0;
		if (ok && (data->length < need || dcm_file_value(f, data, &v) != 0))
			ok = 0;
		if (ok && (img = malloc((size_t)plane)) == NULL) {
			rc = PV_ENOMEM;
			break;
		}
		for (unsigned k = 0; ok && k < frames; k++) {
			uint8_t *bits = (uint8_t *)(uintptr_t)v;  /* in f's arena: ours to change */
			size_t n = overlay_text(bits, plane * k, rows, cols, img, box);
			for (size_t b = 0; b < n; b++)
				for (uint32_t yy = box[b].y; yy < box[b].y + box[b].h; yy++)
					for (uint32_t xx = box[b].x; xx < box[b].x + box[b].w; xx++) {
						uint64_t bit = plane * k + (uint64_t)yy * cols + xx;
						bits[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
					}
			if (n > 0 && overlay_text(bits, plane * k, rows, cols, img, box) > 0)
				ok = 0;  /* text left: the plane goes */
		}
		free(img);
		if (!ok) {
			remove_group(f, g);
			x->c->removed++;
			report(x, here, DEID_A_X);
		} else {
			x->c->cleaned++;
			report(x, here, DEID_A_C);
		}
	}
	free(box);
	return rc;
}

/* PS3.15 E.1.1: the attributes a de-identified object carries. */
static int
add_required(struct dctx *x)
{
	struct dcm_file *f = x->f;
	unsigned opts = x->cfg->opts;
	struct dcm_seq *seq;
	char method[512];
	size_t n;
	int rc;

	if ((rc = dcm_ds_set_str(f, &f->ds, TAG_IDENTITY_REMOVED, DCM_VR_CS, "YES")) != 0)
		return rc;
	n = (size_t)snprintf(method, sizeof(method), "PS3.15 E.1-1 %s Basic Profile", deid_profile_edition());
	for (unsigned o = 0; o < DEID_OPT_COUNT && n < sizeof(method) - 64; o++)
		if (opts & DEID_OPT_BIT(o))
			n += (size_t)snprintf(method + n, sizeof(method) - n, "\\%s", deid_option_flag((enum deid_option)o));
	if ((rc = dcm_ds_set_str(f, &f->ds, TAG_DEID_METHOD, DCM_VR_LO, method)) != 0)
		return rc;
	if ((rc = dcm_ds_set_seq(f, &f->ds, TAG_DEID_METHOD_CODES, &seq)) != 0)
		return rc;
	for (int o = -1; o < DEID_OPT_COUNT; o++) {
		const struct deid_method_code *mc;
		struct dcm_dataset *item;
		if (o >= 0 && !(opts & DEID_OPT_BIT(o)))
			continue;
		if ((mc = deid_method_code(o)) == NULL)
			continue;
		if ((rc = dcm_seq_add_item(f, seq, &item)) != 0 ||
		    (rc = dcm_ds_set_str(f, item, TAG_CODE_VALUE, DCM_VR_SH, mc->value)) != 0 ||
		    (rc = dcm_ds_set_str(f, item, TAG_CODING_SCHEME, DCM_VR_SH, mc->scheme)) != 0 ||
		    (rc = dcm_ds_set_str(f, item, TAG_CODE_MEANING, DCM_VR_LO, mc->meaning)) != 0)
			return rc;
	}
	return dcm_ds_set_str(f, &f->ds, TAG_LONGITUDINAL, DCM_VR_CS,
	    (opts & DEID_OPT_BIT(DEID_OPT_FULL_DATES)) ? "UNMODIFIED" :
	    (opts & DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)) ? "MODIFIED" : "REMOVED");
}

/*
 * PS3.15 E.1.2: the original values of every top-level attribute that was
 * changed or removed go, as a Modified Attributes Sequence item, into a
 * data set encrypted (CMS) for the re-identification certificate.
 */
static int
add_encrypted_originals(struct dctx *x, struct dcm_dataset *orig)
{
	struct dcm_file *f = x->f;
	struct dcm_dataset wrapper, *item, *eitem;
	struct dcm_seq *mod, *enc;
	struct pv_buf plain, der;
	struct dcm_elem *ce;
	int rc;

	memset(&wrapper, 0, sizeof(wrapper));
	if ((rc = dcm_ds_set_seq(f, &wrapper, TAG_MODIFIED_ATTRS, &mod)) != 0 ||
	    (rc = dcm_seq_add_item(f, mod, &item)) != 0)
		return rc;
	for (uint32_t i = 0; i < orig->n; i++) {
		struct dcm_elem *o = &orig->e[i], *now = dcm_ds_find(&f->ds, o->tag);
		if (now != NULL && dcm_elem_equal(f, o, f, now))
			continue;
		if ((rc = dcm_ds_copy_elem(f, item, f, o)) != 0)
			return rc;
	}
	pv_buf_init(&plain, (size_t)1 << 31);
	pv_buf_init(&der, (size_t)1 << 31);
	rc = dcm_encode_dataset(f, &wrapper, dcm_ts_lookup(DCM_TS_EXPLICIT_LE, strlen(DCM_TS_EXPLICIT_LE)),
	    &plain, x->d);
	if (rc == 0)
		rc = pv_cms_encrypt(x->cfg->reid, (const uint8_t *)(plain.data ? plain.data : ""), plain.len,
		    &der, x->d);
	pv_buf_free_scrub(&plain);
	if (rc == 0 && der.len > UINT32_MAX - 2)
		rc = PV_ELIMIT;
	if (rc == 0 && (rc = dcm_ds_set_seq(f, &f->ds, TAG_ENCRYPTED_ATTRS, &enc)) == 0 &&
	    (rc = dcm_seq_add_item(f, enc, &eitem)) == 0 &&
	    (rc = dcm_ds_set_str(f, eitem, TAG_ENCRYPTED_TS, DCM_VR_UI, DCM_TS_EXPLICIT_LE)) == 0)
		rc = dcm_ds_set(f, eitem, TAG_ENCRYPTED_CONTENT, DCM_VR_OB, der.data, (uint32_t)der.len, &ce);
	pv_buf_free(&der);
	return rc;
}

int
deid_apply(struct dcm_file *f, const struct deid_config *cfg, struct deid_counts *counts,
    struct pv_buf *rep, struct pv_diag *d)
{
	struct dcm_dataset orig;
	struct deid_counts local;
	struct dcm_charset cs;
	struct pv_jw jw;
	struct dctx x;
	char pid[80];
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&local, 0, sizeof(local));
	x.f = f;
	x.cfg = cfg;
	x.c = counts != NULL ? counts : &local;
	x.d = d;
	pv_buf_init(&x.termbuf, 1 << 20);
	pv_buf_init(&x.tmp, (size_t)1 << 31);
	pv_buf_init(&x.tmp2, (size_t)1 << 31);
	if (rep != NULL) {
		pv_jw_init(&jw, rep, 0);
		x.jw = &jw;
		pv_jw_begin_object(&jw);
	}
	/* The per-patient date offset is keyed by the original Patient ID. */
	if (dcm_ds_get_str(f, &f->ds, TAG_PATIENT_ID, pid, sizeof(pid)) == 0) {
		if ((rc = deid_date_offset(cfg->key, pid, strlen(pid), &x.date_offset)) != 0)
			goto out;
		x.have_offset = 1;
	}
	dcm_charset_default(&cs);
	collect_terms(&x, &f->ds, &cs, 0);
	for (unsigned t = 0; t < x.nterms; t++)
		x.terms[t] = x.termbuf.data + (uintptr_t)x.terms[t];
	if (cfg->reid != NULL && (rc = dcm_ds_clone(f, &f->ds, &orig)) != 0)
		goto out;
	rc = walk(&x, &f->ds, &cs, "", 0);
	if (rc == 0 && (cfg->opts & DEID_OPT_BIT(DEID_OPT_CLEAN_GRAPHICS)))
		rc = clean_overlays(&x);
	if (rc == 0)
		rc = add_required(&x);
	if (rc == 0 && cfg->reid != NULL)
		rc = add_encrypted_originals(&x, &orig);
	/* The writer regenerates the meta from the new data set: no source AE
	 * titles, no private meta, the new SOP Instance UID (PS3.10 7.1). */
	f->meta.n = 0;
	f->has_preamble = 0;
	/* Overlay data goes (E.1-1 X), also an overlay embedded in the unused
	 * bits of the pixels (PS3.5 8.1.2, retired): the writer clears them. */
	if (rc == 0)
		x.c->unused_bits = (unsigned)dcm_pixfix_setup(f);
out:
	if (rc == 0 && x.jw != NULL) {
		pv_jw_end_object(x.jw);
		rc = x.jw->err;
	}
	pv_cleanse(pid, sizeof(pid));
	pv_buf_free_scrub(&x.termbuf);
	free(x.terms);
	free(x.term_len);
	pv_buf_free_scrub(&x.tmp);
	pv_buf_free_scrub(&x.tmp2);
	if (rc != 0 && (d == NULL || d->code == 0))
		pv_diag_set(d, rc, -1, "de-identification failed: %s", pv_strerror(rc));
	return rc;
}

int
deid_burned_in_risk(struct dcm_file *f, char *reason, size_t n)
{
	static const char *const modalities[] = { "US", "XA", "OT", "SC" };
	char v[80];

	if (dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA) == NULL)
		return 0;
	if (dcm_ds_get_str(f, &f->ds, 0x00280301u, v, sizeof(v)) == 0 && strcmp(v, "YES") == 0) {
		snprintf(reason, n, "BurnedInAnnotation is YES");
		return 1;
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00080060u, v, sizeof(v)) == 0)
		for (size_t i = 0; i < sizeof(modalities) / sizeof(modalities[0]); i++)
			if (strcmp(v, modalities[i]) == 0) {
				snprintf(reason, n, "modality %s usually carries burned-in text", modalities[i]);
				return 1;
			}
	if (dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_CLASS_UID, v, sizeof(v)) == 0 &&
	    strncmp(v, "1.2.840.10008.5.1.4.1.1.7", 25) == 0 && (v[25] == '\0' || v[25] == '.')) {
		snprintf(reason, n, "a Secondary Capture (screen captures carry text)");
		return 1;
	}
	return 0;
}
