/* dimse.c: DIMSE command sets (see dimse.h). */
#include "pacsvault/net/dimse.h"

#include <string.h>

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
us(const uint8_t *v, uint32_t n, uint16_t *out, uint16_t elem, size_t off, struct pv_diag *d)
{
	if (n != 2)
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "(0000,%04X): %lu bytes for a US", elem, (unsigned long)n);
	*out = (uint16_t)(v[0] | v[1] << 8);
	return 0;
}

/* A UI, AE or LO value: trailing NULs and spaces removed, printable only. */
static int
text(const uint8_t *v, uint32_t n, char *out, size_t cap, uint16_t elem, size_t off, struct pv_diag *d)
{
	size_t a = 0;

	while (n > 0 && (v[n - 1] == '\0' || v[n - 1] == ' '))
		n--;
	while (cap == 17 && a < n && v[a] == ' ')   /* an AE title: leading spaces too */
		a++;
	if (n - a >= cap)
		return pv_diag_set(d, PV_ELIMIT, (int64_t)off, "(0000,%04X): %lu characters, over %zu", elem,
		    (unsigned long)(n - a), cap - 1);
	for (size_t i = a; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "(0000,%04X): byte 0x%02x", elem, v[i]);
	memcpy(out, v + a, n - a);
	out[n - a] = '\0';
	return 0;
}

int
dimse_parse(const uint8_t *p, size_t n, struct dimse_cmd *c, struct pv_diag *d)
{
	size_t i = 0;
	int have_field = 0, have_type = 0;
	uint32_t last = 0;

	memset(c, 0, sizeof(*c));
	if (n > DIMSE_CMD_MAX)
		return pv_diag_set(d, PV_ELIMIT, 0, "command set of %zu bytes", n);
	while (i < n) {
		uint16_t g, e;
		uint32_t l, tag;
		const uint8_t *v;
		int rc = 0;

		if (n - i < 8)
			return pv_diag_set(d, PV_EPARSE, (int64_t)i, "command element header cut");
		g = (uint16_t)(p[i] | p[i + 1] << 8);
		e = (uint16_t)(p[i + 2] | p[i + 3] << 8);
		l = le32(p + i + 4);
		tag = (uint32_t)g << 16 | e;
		if (g != 0)
			return pv_diag_set(d, PV_EPARSE, (int64_t)i, "(%04X,%04X) in a command set", g, e);
		if (i > 0 && tag <= last)
			return pv_diag_set(d, PV_EPARSE, (int64_t)i, "(0000,%04X) out of order", e);
		last = tag;
		if (l > n - i - 8)
			return pv_diag_set(d, PV_EPARSE, (int64_t)i, "(0000,%04X) of %lu bytes past the command set", e,
			    (unsigned long)l);
		v = p + i + 8;
		switch (e) {
		case 0x0002: rc = text(v, l, c->affected_class, 65, e, i + 8, d); break;
		case 0x0003: rc = text(v, l, c->requested_class, 65, e, i + 8, d); break;
		case 0x0100: rc = us(v, l, &c->field, e, i + 8, d); have_field = 1; break;
		case 0x0110: rc = us(v, l, &c->msg_id, e, i + 8, d); break;
		case 0x0120: rc = us(v, l, &c->responded_id, e, i + 8, d); break;
		case 0x0600: rc = text(v, l, c->move_dest, 17, e, i + 8, d); break;
		case 0x0700: rc = us(v, l, &c->priority, e, i + 8, d); break;
		case 0x0800: rc = us(v, l, &c->dataset_type, e, i + 8, d); have_type = 1; break;
		case 0x0900: rc = us(v, l, &c->status, e, i + 8, d); c->has_status = 1; break;
		case 0x0902: rc = text(v, l, c->error_comment, 65, e, i + 8, d); break;
		case 0x1000: rc = text(v, l, c->affected_inst, 65, e, i + 8, d); break;
		case 0x1001: rc = text(v, l, c->requested_inst, 65, e, i + 8, d); break;
		case 0x1002: rc = us(v, l, &c->event_type, e, i + 8, d); break;
		case 0x1008: rc = us(v, l, &c->action_type, e, i + 8, d); break;
		case 0x1020: rc = us(v, l, &c->remaining, e, i + 8, d); c->has_subops = 1; break;
		case 0x1021: rc = us(v, l, &c->completed, e, i + 8, d); c->has_subops = 1; break;
		case 0x1022: rc = us(v, l, &c->failed, e, i + 8, d); c->has_subops = 1; break;
		case 0x1023: rc = us(v, l, &c->warning, e, i + 8, d); c->has_subops = 1; break;
		case 0x1030: rc = text(v, l, c->move_orig_ae, 17, e, i + 8, d); break;
		case 0x1031: rc = us(v, l, &c->move_orig_id, e, i + 8, d); break;
		default:
			/* the group length, and elements this service does not use (retired ones among them) */
			break;
		}
		if (rc != 0)
			return rc;
		i += 8 + (size_t)l;
	}
	if (!have_field)
		return pv_diag_set(d, PV_EPARSE, 0, "command set without a Command Field");
	if (!have_type)
		return pv_diag_set(d, PV_EPARSE, 0, "command set without a Command Data Set Type");
	return 0;
}

static int
el(struct pv_buf *b, uint16_t e, const void *v, size_t n)
{
	uint8_t h[8] = { 0, 0, (uint8_t)e, (uint8_t)(e >> 8), (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
		(uint8_t)(n >> 24) };

	if (pv_buf_append(b, h, 8) != 0 || (n > 0 && pv_buf_append(b, v, n) != 0))
		return PV_ENOMEM;
	return 0;
}

static int
el_us(struct pv_buf *b, uint16_t e, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return el(b, e, x, 2);
}

/* A text value padded to even length (UI with NUL, others with a space). */
static int
el_text(struct pv_buf *b, uint16_t e, const char *s, char pad)
{
	char v[66];
	size_t n = strlen(s);

	if (n > 64)
		return PV_ELIMIT;
	memcpy(v, s, n);
	if (n & 1)
		v[n++] = pad;
	return el(b, e, v, n);
}

int
dimse_build(const struct dimse_cmd *c, struct pv_buf *b)
{
	size_t start = b->len;
	int rc = 0;
	uint8_t gl[4] = { 0, 0, 0, 0 };
	uint32_t len;

	if (el(b, 0x0000, gl, 4) != 0)
		return PV_ENOMEM;
	if (c->affected_class[0])
		rc |= el_text(b, 0x0002, c->affected_class, '\0');
	if (c->requested_class[0])
		rc |= el_text(b, 0x0003, c->requested_class, '\0');
	rc |= el_us(b, 0x0100, c->field);
	if (c->field & 0x8000)
		rc |= el_us(b, 0x0120, c->responded_id);
	else
		rc |= el_us(b, 0x0110, c->msg_id);
	if (c->move_dest[0])
		rc |= el_text(b, 0x0600, c->move_dest, ' ');
	if (!(c->field & 0x8000) && c->field != DIMSE_C_CANCEL_RQ && c->field != DIMSE_C_ECHO_RQ &&
	    c->field != DIMSE_N_EVENT_REPORT_RQ && c->field != DIMSE_N_ACTION_RQ)
		rc |= el_us(b, 0x0700, c->priority);
	rc |= el_us(b, 0x0800, c->dataset_type ? c->dataset_type : DIMSE_NO_DATASET);
	if (c->field & 0x8000)
		rc |= el_us(b, 0x0900, c->status);
	if (c->error_comment[0])
		rc |= el_text(b, 0x0902, c->error_comment, ' ');
	if (c->affected_inst[0])
		rc |= el_text(b, 0x1000, c->affected_inst, '\0');
	if (c->requested_inst[0])
		rc |= el_text(b, 0x1001, c->requested_inst, '\0');
	if (c->event_type)
		rc |= el_us(b, 0x1002, c->event_type);
	if (c->action_type)
		rc |= el_us(b, 0x1008, c->action_type);
	if (c->has_subops) {
		if (c->status == DIMSE_PENDING)
			rc |= el_us(b, 0x1020, c->remaining);
		rc |= el_us(b, 0x1021, c->completed);
		rc |= el_us(b, 0x1022, c->failed);
		rc |= el_us(b, 0x1023, c->warning);
	}
	if (c->move_orig_ae[0]) {
		rc |= el_text(b, 0x1030, c->move_orig_ae, ' ');
		rc |= el_us(b, 0x1031, c->move_orig_id);
	}
	if (rc != 0)
		return PV_ENOMEM;
	len = (uint32_t)(b->len - start - 12);
	{
		uint8_t *g = (uint8_t *)b->data + start + 8;

		g[0] = (uint8_t)len;
		g[1] = (uint8_t)(len >> 8);
		g[2] = (uint8_t)(len >> 16);
		g[3] = (uint8_t)(len >> 24);
	}
	return 0;
}

const char *
dimse_name(uint16_t field)
{
	switch (field) {
	case DIMSE_C_STORE_RQ: return "C-STORE-RQ";
	case DIMSE_C_STORE_RSP: return "C-STORE-RSP";
	case DIMSE_C_GET_RQ: return "C-GET-RQ";
	case DIMSE_C_GET_RSP: return "C-GET-RSP";
	case DIMSE_C_FIND_RQ: return "C-FIND-RQ";
	case DIMSE_C_FIND_RSP: return "C-FIND-RSP";
	case DIMSE_C_MOVE_RQ: return "C-MOVE-RQ";
	case DIMSE_C_MOVE_RSP: return "C-MOVE-RSP";
	case DIMSE_C_ECHO_RQ: return "C-ECHO-RQ";
	case DIMSE_C_ECHO_RSP: return "C-ECHO-RSP";
	case DIMSE_N_EVENT_REPORT_RQ: return "N-EVENT-REPORT-RQ";
	case DIMSE_N_EVENT_REPORT_RSP: return "N-EVENT-REPORT-RSP";
	case DIMSE_N_ACTION_RQ: return "N-ACTION-RQ";
	case DIMSE_N_ACTION_RSP: return "N-ACTION-RSP";
	case DIMSE_C_CANCEL_RQ: return "C-CANCEL-RQ";
	default: return "unknown";
	}
}
