/* json.c: the DICOM JSON model (PS3.18 F.2). */
#include "pacsvault/dicom/json.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jctx {
	struct dcm_file *f;
	struct pv_jw w;
	struct pv_buf tmp;
	struct pv_buf uri;   /* percent-encoded path */
	uint32_t inline_max;
	int err;
	int raw_prefix;      /* uri is a ready URI prefix (dcm_json_write_uri), not a path */
};

static void
uri_encode(struct pv_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			if (pv_buf_putc(out, (char)c) != 0)
				return;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (pv_buf_append(out, e, 3) != 0)
				return;
		}
	}
}

static void
bulk_uri(struct jctx *j, uint64_t off, uint64_t len)
{
	char tail[64];
	pv_buf_reset(&j->tmp);
	if ((!j->raw_prefix && pv_buf_puts(&j->tmp, "file:") != 0) || pv_buf_append(&j->tmp, j->uri.data, j->uri.len) != 0)
		return;
	snprintf(tail, sizeof(tail), "?offset=%llu&length=%llu", (unsigned long long)off,
	    (unsigned long long)len);
	if (pv_buf_puts(&j->tmp, tail) != 0)
		return;
	pv_jw_key(&j->w, "BulkDataURI", 11);
	pv_jw_string(&j->w, j->tmp.data, j->tmp.len);
}

/* Is s[0..n) a JSON number as DS/IS allow (PS3.5 6.2)? */
int
dcm_json_number_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || n > 32)
		return 0;
	if (s[i] == '-')
		i++;
	else if (s[i] == '+')
		return 0;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
		return 0; /* leading zeros are valid DS, not valid JSON */
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

static void
put_double(struct jctx *j, double x, int prec)
{
	char b[40];
	int n;
	if (!isfinite(x)) {
		n = snprintf(b, sizeof(b), "%s", isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
		pv_jw_string(&j->w, b, (size_t)n);
		return;
	}
	n = snprintf(b, sizeof(b), "%.*g", prec, x);
	pv_jw_raw(&j->w, b, (size_t)n);
}

static int json_ds(struct jctx *j, struct dcm_dataset *ds, const struct dcm_charset *parent);

/* The strings of a text element, split after conversion to UTF-8. */
static void
json_strings(struct jctx *j, const struct dcm_elem *e, const uint8_t *v, const struct dcm_charset *cs)
{
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	uint32_t n = dcm_value_trim_len(vr, v, e->length);
	struct pv_buf *t = &j->tmp;
	size_t a = 0;

	pv_buf_reset(t);
	if (dcm_charset_to_utf8(cs, vr, v, n, t) == PV_ENOMEM) {
		j->err = PV_ENOMEM;
		return;
	}
	pv_jw_key(&j->w, "Value", 5);
	pv_jw_begin_array(&j->w);
	for (;;) {
		size_t b = a, s, end;
		while (b < t->len && !(vi->multi && t->data[b] == '\\'))
			b++;
		s = a;
		end = b;
		if (vr != DCM_VR_LT && vr != DCM_VR_ST && vr != DCM_VR_UT)
			while (s < end && t->data[s] == ' ')
				s++;
		while (end > s && (t->data[end - 1] == ' ' || t->data[end - 1] == '\0'))
			end--;
		if (end == s) {
			pv_jw_raw(&j->w, "null", 4);
		} else if (vr == DCM_VR_PN) {
			/* PS3.18 F.2.2: component groups split at '='. */
			static const char *const grp[] = { "Alphabetic", "Ideographic", "Phonetic" };
			size_t g0 = s;
			unsigned gi = 0;
			pv_jw_begin_object(&j->w);
			while (gi < 3) {
				size_t g1 = g0;
				while (g1 < end && t->data[g1] != '=')
					g1++;
				if (g1 > g0) {
					pv_jw_key(&j->w, grp[gi], strlen(grp[gi]));
					pv_jw_string(&j->w, t->data + g0, g1 - g0);
				}
				if (g1 >= end)
					break;
				g0 = g1 + 1;
				gi++;
			}
			pv_jw_end_object(&j->w);
		} else if ((vr == DCM_VR_DS || vr == DCM_VR_IS) && dcm_json_number_ok(t->data + s, end - s)) {
			pv_jw_raw(&j->w, t->data + s, end - s);
		} else if (vr == DCM_VR_DS || vr == DCM_VR_IS) {
			/* Not valid JSON as it stands; try to normalise ("+1", "01.50", ".5"). */
			char num[40], *ep;
			double x;
			size_t l = end - s < sizeof(num) - 1 ? end - s : sizeof(num) - 1;
			memcpy(num, t->data + s, l);
			num[l] = '\0';
			x = strtod(num, &ep);
			if (*ep == '\0' && l > 0 && isfinite(x))
				put_double(j, x, 17);
			else
				pv_jw_string(&j->w, t->data + s, end - s);
		} else {
			pv_jw_string(&j->w, t->data + s, end - s);
		}
		if (b >= t->len)
			break;
		a = b + 1;
	}
	pv_jw_end_array(&j->w);
}

static void
json_numbers(struct jctx *j, const struct dcm_elem *e, const uint8_t *v)
{
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	unsigned sz = vr == DCM_VR_US || vr == DCM_VR_SS ? 2 :
	    vr == DCM_VR_FD || vr == DCM_VR_SV || vr == DCM_VR_UV ? 8 : 4;
	char b[40];
	int n;

	pv_jw_key(&j->w, "Value", 5);
	pv_jw_begin_array(&j->w);
	for (uint32_t i = 0; i + sz <= e->length; i += sz) {
		const uint8_t *p = v + i;
		switch (vr) {
		case DCM_VR_US: n = snprintf(b, sizeof(b), "%u", dcm_le16(p)); break;
		case DCM_VR_SS: n = snprintf(b, sizeof(b), "%d", (int16_t)dcm_le16(p)); break;
		case DCM_VR_UL: n = snprintf(b, sizeof(b), "%lu", (unsigned long)dcm_le32(p)); break;
		case DCM_VR_SL: n = snprintf(b, sizeof(b), "%ld", (long)(int32_t)dcm_le32(p)); break;
		case DCM_VR_AT:
			n = snprintf(b, sizeof(b), "%04X%04X", dcm_le16(p), dcm_le16(p + 2));
			pv_jw_string(&j->w, b, (size_t)n);
			continue;
		case DCM_VR_UV: {
			uint64_t x = dcm_le64(p);
			n = snprintf(b, sizeof(b), "%llu", (unsigned long long)x);
			if (x > (1ULL << 53))
				pv_jw_string(&j->w, b, (size_t)n);
			else
				pv_jw_raw(&j->w, b, (size_t)n);
			continue;
		}
		case DCM_VR_SV: {
			int64_t x = (int64_t)dcm_le64(p);
			n = snprintf(b, sizeof(b), "%lld", (long long)x);
			if (x > (1LL << 53) || x < -(1LL << 53))
				pv_jw_string(&j->w, b, (size_t)n);
			else
				pv_jw_raw(&j->w, b, (size_t)n);
			continue;
		}
		case DCM_VR_FL: {
			float f;
			uint32_t u = dcm_le32(p);
			memcpy(&f, &u, 4);
			put_double(j, f, 9);
			continue;
		}
		case DCM_VR_FD: {
			double f;
			uint64_t u = dcm_le64(p);
			memcpy(&f, &u, 8);
			put_double(j, f, 17);
			continue;
		}
		default:
			continue;
		}
		pv_jw_raw(&j->w, b, (size_t)n);
	}
	pv_jw_end_array(&j->w);
}

static int
json_elem(struct jctx *j, struct dcm_elem *e, const struct dcm_charset *cs)
{
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	char key[9];
	const uint8_t *v;
	int rc;

	snprintf(key, sizeof(key), "%04X%04X", DCM_GROUP(e->tag), DCM_ELEM(e->tag));
	pv_jw_key(&j->w, key, 8);
	pv_jw_begin_object(&j->w);
	pv_jw_key(&j->w, "vr", 2);
	if (e->flags & DCM_EF_ENCAPS) {
		uint64_t start = 0, end = 0;
		pv_jw_string(&j->w, vr == DCM_VR_OW ? "OW" : "OB", 2);
		if (e->seq->nfrags > 0) {
			const struct dcm_frag *first = &e->seq->frags[0];
			const struct dcm_frag *last = &e->seq->frags[e->seq->nfrags - 1];
			if (first->ref && last->ref) {
				start = first->v.off - 8;
				end = last->v.off + last->length + 8;
			}
		}
		if (end > start)
			bulk_uri(j, start, end - start);
		pv_jw_end_object(&j->w);
		return 0;
	}
	if (e->seq != NULL) {
		pv_jw_string(&j->w, "SQ", 2);
		if (e->seq->nitems > 0) {
			pv_jw_key(&j->w, "Value", 5);
			pv_jw_begin_array(&j->w);
			for (uint32_t i = 0; i < e->seq->nitems; i++)
				if ((rc = json_ds(j, e->seq->items[i], cs)) != 0)
					return rc;
			pv_jw_end_array(&j->w);
		}
		pv_jw_end_object(&j->w);
		return 0;
	}
	pv_jw_string(&j->w, dcm_vr_name(vr), 2);
	if (e->length == 0) {
		pv_jw_end_object(&j->w);
		return 0;
	}
	if (vi->kind == DCM_VRK_BULK) {
		if (e->length > j->inline_max && (e->flags & DCM_EF_REF)) {
			bulk_uri(j, e->v.off, e->length);
		} else {
			if ((rc = dcm_file_value(j->f, e, &v)) != 0)
				return rc;
			pv_jw_key(&j->w, "InlineBinary", 12);
			pv_jw_base64(&j->w, v, e->length);
		}
		pv_jw_end_object(&j->w);
		return 0;
	}
	if ((rc = dcm_file_value(j->f, e, &v)) != 0)
		return rc;
	if (vi->kind == DCM_VRK_STRING)
		json_strings(j, e, v, cs);
	else
		json_numbers(j, e, v);
	pv_jw_end_object(&j->w);
	return j->err;
}

static int
json_ds(struct jctx *j, struct dcm_dataset *ds, const struct dcm_charset *parent)
{
	struct dcm_charset cs = *parent;
	struct dcm_elem *sc = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
	int rc;

	if (sc != NULL && sc->seq == NULL) {
		const uint8_t *v;
		if (dcm_file_value(j->f, sc, &v) == 0)
			(void)dcm_charset_parse(v, sc->length, &cs);
	}
	pv_jw_begin_object(&j->w);
	for (uint32_t i = 0; i < ds->n; i++) {
		if (DCM_GROUP(ds->e[i].tag) == 0x0002)
			continue;
		if ((rc = json_elem(j, &ds->e[i], &cs)) != 0)
			return rc;
		if (j->w.err != 0)
			return j->w.err;
	}
	pv_jw_end_object(&j->w);
	return j->w.err;
}

static int
write_json(struct dcm_file *f, const char *path, int raw, int pretty, uint32_t inline_max, struct pv_buf *out,
    struct pv_diag *d)
{
	struct jctx j;
	struct dcm_charset cs;
	int rc;

	memset(&j, 0, sizeof(j));
	j.f = f;
	j.inline_max = inline_max;
	j.raw_prefix = raw;
	pv_buf_init(&j.tmp, (size_t)1 << 31);
	pv_buf_init(&j.uri, 1 << 16);
	if (raw) {
		if (pv_buf_puts(&j.uri, path) != 0) {
			pv_buf_free(&j.tmp);
			pv_buf_free(&j.uri);
			return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		}
	} else {
		uri_encode(&j.uri, path);
	}
	if (j.uri.data == NULL && pv_buf_puts(&j.uri, "") != 0) {
		pv_buf_free(&j.tmp);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	pv_jw_init(&j.w, out, pretty);
	dcm_charset_default(&cs);
	rc = json_ds(&j, &f->ds, &cs);
	if (rc == 0 && j.w.err == 0 && pretty)
		rc = pv_buf_putc(out, '\n');
	if (rc == 0)
		rc = j.w.err;
	pv_buf_free(&j.tmp);
	pv_buf_free(&j.uri);
	if (rc != 0)
		return pv_diag_set(d, rc, -1, "cannot write JSON: %s", pv_strerror(rc));
	return 0;
}

int
dcm_json_write_file(struct dcm_file *f, const char *path, uint32_t inline_max,
    struct pv_buf *out, struct pv_diag *d)
{
	return write_json(f, path, 0, 1, inline_max, out, d);
}

int
dcm_json_write_uri(struct dcm_file *f, const char *prefix, uint32_t inline_max, struct pv_buf *out,
    struct pv_diag *d)
{
	return write_json(f, prefix, 1, 0, inline_max, out, d);
}
