/* value.c: reading and formatting element values (PS3.5 6.2). */
#include "pacsvault/dicom/value.h"
#include "pacsvault/base/err.h"

#include <string.h>

static unsigned
num_size(enum dcm_vr vr)
{
	switch (vr) {
	case DCM_VR_US: case DCM_VR_SS: return 2;
	case DCM_VR_UL: case DCM_VR_SL: case DCM_VR_FL: case DCM_VR_AT: return 4;
	case DCM_VR_FD: case DCM_VR_SV: case DCM_VR_UV: return 8;
	default: return 0;
	}
}

uint32_t
dcm_value_trim_len(enum dcm_vr vr, const uint8_t *v, uint32_t len)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	if (vi->kind != DCM_VRK_STRING)
		return len;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
		len--;
	return len;
}

unsigned
dcm_value_vm(enum dcm_vr vr, const uint8_t *v, uint32_t len)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	unsigned vm = 1, sz;

	if (len == 0)
		return 0;
	switch (vi->kind) {
	case DCM_VRK_STRING:
		if (!vi->multi)
			return 1;
		for (const uint8_t *q = v, *end = v + len; (q = memchr(q, '\\', (size_t)(end - q))) != NULL; q++)
			vm++;
		return vm;
	case DCM_VRK_NUMBER:
		sz = num_size(vr);
		return sz ? len / sz : 1;
	default:
		return 1;
	}
}

int
dcm_value_string_at(enum dcm_vr vr, const uint8_t *v, uint32_t len, unsigned idx,
    const uint8_t **start, size_t *n)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	uint32_t a = 0, b;
	unsigned k = 0;

	len = dcm_value_trim_len(vr, v, len);
	for (;;) {
		b = a;
		while (b < len && !(vi->multi && v[b] == '\\'))
			b++;
		if (k == idx) {
			uint32_t s = a, e = b;
			/* Leading spaces are significant only in LT, ST, UT (PS3.5 6.2). */
			if (vr != DCM_VR_LT && vr != DCM_VR_ST && vr != DCM_VR_UT)
				while (s < e && v[s] == ' ')
					s++;
			while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\0'))
				e--;
			*start = v + s;
			*n = e - s;
			return 0;
		}
		if (b >= len)
			return PV_ENOTFOUND;
		a = b + 1;
		k++;
	}
}

/* Decimal of v without printf (the dump's hot path). */
static int
fmt_u64(struct pv_buf *out, uint64_t v, int neg)
{
	char d[24];
	int n = 0;
	do {
		d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		d[sizeof(d) - 1 - n++] = '-';
	return pv_buf_append(out, d + sizeof(d) - n, (size_t)n);
}

static int
fmt_i64(struct pv_buf *out, int64_t v)
{
	return v < 0 ? fmt_u64(out, (uint64_t)0 - (uint64_t)v, 1) : fmt_u64(out, (uint64_t)v, 0);
}

static int
fmt_hex(struct pv_buf *out, uint64_t v, unsigned digits)
{
	static const char hex[] = "0123456789abcdef";
	char d[16];
	for (unsigned i = 0; i < digits; i++)
		d[digits - 1 - i] = hex[(v >> (4 * i)) & 15];
	return pv_buf_append(out, d, digits);
}

static int
fmt_double(struct pv_buf *out, double x, int prec)
{
	return pv_buf_printf(out, "%.*g", prec, x);
}

int
dcm_value_format(enum dcm_vr vr, const uint8_t *v, uint32_t len,
    const struct dcm_charset *cs, unsigned max_values, struct pv_buf *out)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	unsigned sz, count;
	int rc = 0;

	if (len == 0)
		return pv_buf_puts(out, "(no value available)");
	switch (vi->kind) {
	case DCM_VRK_STRING: {
		uint32_t n = dcm_value_trim_len(vr, v, len);
		if ((rc = pv_buf_putc(out, '[')) != 0)
			return rc;
		rc = dcm_charset_to_utf8(cs, vr, v, n, out);
		if (rc == PV_ECHARSET)
			rc = 0;
		if (rc == 0)
			rc = pv_buf_putc(out, ']');
		return rc;
	}
	case DCM_VRK_NUMBER:
		sz = num_size(vr);
		count = len / sz;
		for (unsigned i = 0; i < count && rc == 0; i++) {
			const uint8_t *p = v + (size_t)i * sz;
			if (max_values && i == max_values)
				return pv_buf_puts(out, "...");
			if (i > 0 && (rc = pv_buf_putc(out, '\\')) != 0)
				break;
			switch (vr) {
			case DCM_VR_US: rc = fmt_u64(out, dcm_le16(p), 0); break;
			case DCM_VR_SS: rc = fmt_i64(out, (int16_t)dcm_le16(p)); break;
			case DCM_VR_UL: rc = fmt_u64(out, dcm_le32(p), 0); break;
			case DCM_VR_SL: rc = fmt_i64(out, (int32_t)dcm_le32(p)); break;
			case DCM_VR_UV: rc = fmt_u64(out, dcm_le64(p), 0); break;
			case DCM_VR_SV: rc = fmt_i64(out, (int64_t)dcm_le64(p)); break;
			case DCM_VR_AT:
				rc = pv_buf_printf(out, "(%04x,%04x)", dcm_le16(p), dcm_le16(p + 2));
				break;
			case DCM_VR_FL: {
				float f;
				uint32_t u = dcm_le32(p);
				memcpy(&f, &u, 4);
				rc = fmt_double(out, f, 8);
				break;
			}
			case DCM_VR_FD: {
				double f;
				uint64_t u = dcm_le64(p);
				memcpy(&f, &u, 8);
				rc = fmt_double(out, f, 17);
				break;
			}
			default:
				break;
			}
		}
		if (rc == 0 && len % sz != 0)
			rc = pv_buf_printf(out, "%s(%u stray bytes)", count ? " " : "", len % sz);
		return rc;
	case DCM_VRK_BULK:
		sz = vr == DCM_VR_OW ? 2 : vr == DCM_VR_OF || vr == DCM_VR_OL ? 4 :
		    vr == DCM_VR_OD || vr == DCM_VR_OV ? 8 : 1;
		count = len / sz;
		if (count == 0)
			sz = 1, count = len;
		for (unsigned i = 0; i < count && rc == 0; i++) {
			const uint8_t *p = v + (size_t)i * sz;
			if (max_values && i == max_values)
				return pv_buf_puts(out, "...");
			if (i > 0 && (rc = pv_buf_putc(out, '\\')) != 0)
				break;
			if (vr == DCM_VR_OF) {
				float f;
				uint32_t u = dcm_le32(p);
				memcpy(&f, &u, 4);
				rc = fmt_double(out, f, 8);
			} else if (vr == DCM_VR_OD) {
				double f;
				uint64_t u = dcm_le64(p);
				memcpy(&f, &u, 8);
				rc = fmt_double(out, f, 17);
			} else if (sz == 1) {
				rc = fmt_hex(out, p[0], 2);
			} else if (sz == 2) {
				rc = fmt_hex(out, dcm_le16(p), 4);
			} else if (sz == 4) {
				rc = fmt_hex(out, dcm_le32(p), 8);
			} else {
				rc = fmt_hex(out, dcm_le64(p), 16);
			}
		}
		return rc;
	default:
		return 0;
	}
}
