/* ul.c: DICOM upper layer PDUs, parsed and built (see ul.h; PS3.8 9.3). */
#include "pacsvault/net/ul.h"

#include <string.h>

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
ul_header(const uint8_t h[UL_HEADER], uint32_t max, uint8_t *type, uint32_t *len, struct pv_diag *d)
{
	*type = h[0];
	*len = be32(h + 2);
	if (h[0] < UL_ASSOCIATE_RQ || h[0] > UL_ABORT)
		return pv_diag_set(d, PV_EPARSE, 0, "unknown PDU type 0x%02x", h[0]);
	if (*len > max)
		return pv_diag_set(d, PV_ELIMIT, 2, "PDU of %lu bytes, over the limit of %lu", (unsigned long)*len,
		    (unsigned long)max);
	return 0;
}

/*
 * A UID or AE title field: n bytes, trailing NULs and spaces removed (AE
 * titles: leading spaces too); printable ASCII only.
 */
static int
text_field(const uint8_t *p, size_t n, char *out, size_t cap, int ae, const char *what, size_t off,
    struct pv_diag *d)
{
	size_t a = 0;

	while (n > 0 && (p[n - 1] == '\0' || p[n - 1] == ' '))
		n--;
	while (ae && a < n && p[a] == ' ')
		a++;
	if (n - a >= cap)
		return pv_diag_set(d, PV_ELIMIT, (int64_t)off, "%s of %zu characters, over %zu", what, n - a, cap - 1);
	for (size_t i = a; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '\\')
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "%s: a byte 0x%02x that is not allowed", what,
			    p[i]);
	memcpy(out, p + a, n - a);
	out[n - a] = '\0';
	return 0;
}

static int
uid_field(const uint8_t *p, size_t n, char *out, const char *what, size_t off, struct pv_diag *d)
{
	int rc = text_field(p, n, out, UL_UID_MAX + 1, 0, what, off, d);

	if (rc == 0 && out[0] == '\0')
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "%s: empty", what);
	for (size_t i = 0; rc == 0 && out[i] != '\0'; i++)
		if (!(out[i] == '.' || (out[i] >= '0' && out[i] <= '9')))
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "%s: not a UID", what);
	return rc;
}

/* Presentation context item (0x20 in an RQ, 0x21 in an AC). */
static int
parse_pctx(uint8_t type, const uint8_t *p, size_t n, size_t off, struct ul_pctx *pc, struct pv_diag *d)
{
	size_t i = 4;
	int abstract = 0;

	if (n < 4)
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context item of %zu bytes", n);
	memset(pc, 0, sizeof(*pc));
	pc->id = p[0];
	pc->result = p[2];
	if (pc->id == 0 || (pc->id & 1) == 0)
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context ID %u: not odd", pc->id);
	while (i < n) {
		uint8_t st;
		uint16_t sl;

		if (n - i < 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "presentation context sub-item header cut");
		st = p[i];
		sl = be16(p + i + 2);
		if (sl > n - i - 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "sub-item of %u bytes past its context", sl);
		if (st == 0x30 && type == UL_ASSOCIATE_RQ) {
			if (abstract++)
				return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "two abstract syntaxes in one context");
			if (uid_field(p + i + 4, sl, pc->abstract, "abstract syntax", off + i + 4, d) != 0)
				return d->code;
		} else if (st == 0x40) {
			if (pc->nts == UL_MAX_TS)
				return pv_diag_set(d, PV_ELIMIT, (int64_t)(off + i), "more than %d transfer syntaxes in one "
				    "context", UL_MAX_TS);
			if (type == UL_ASSOCIATE_AC && pc->nts == 1)
				return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "two transfer syntaxes in an accepted "
				    "context");
			if (type == UL_ASSOCIATE_AC && pc->result != UL_PC_ACCEPT && sl == 0) {
				/* a rejected context may carry an empty transfer syntax sub-item */
			} else if (uid_field(p + i + 4, sl, pc->ts[pc->nts++], "transfer syntax", off + i + 4, d) != 0) {
				return d->code;
			}
		} else {
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "sub-item type 0x%02x in a presentation "
			    "context", st);
		}
		i += 4 + (size_t)sl;
	}
	if (type == UL_ASSOCIATE_RQ && (!abstract || pc->nts == 0))
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context %u without %s", pc->id,
		    abstract ? "a transfer syntax" : "an abstract syntax");
	if (type == UL_ASSOCIATE_AC && pc->result > UL_PC_TS_NOT_SUPPORTED)
		return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context result %u", pc->result);
	return 0;
}

static int
copy_identity(const uint8_t *p, size_t n, uint8_t *out, size_t *nout, const char *what, size_t off,
    struct pv_diag *d)
{
	if (n > UL_IDENTITY_MAX)
		return pv_diag_set(d, PV_ELIMIT, (int64_t)off, "%s of %zu bytes, over %d", what, n, UL_IDENTITY_MAX);
	memcpy(out, p, n);
	*nout = n;
	return 0;
}

/* User information item (0x50). */
static int
parse_user(uint8_t type, const uint8_t *p, size_t n, size_t off, struct ul_assoc *a, struct pv_diag *d)
{
	size_t i = 0;

	while (i < n) {
		uint8_t st;
		uint16_t sl;
		const uint8_t *v;
		size_t vo;

		if (n - i < 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "user information sub-item header cut");
		st = p[i];
		sl = be16(p + i + 2);
		if (sl > n - i - 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(off + i), "user information sub-item of %u bytes past "
			    "its item", sl);
		v = p + i + 4;
		vo = off + i + 4;
		switch (st) {
		case 0x51:
			if (sl != 4)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "maximum length sub-item of %u bytes", sl);
			a->max_pdu = be32(v);
			break;
		case 0x52:
			if (uid_field(v, sl, a->impl_uid, "implementation class UID", vo, d) != 0)
				return d->code;
			break;
		case 0x53:
			if (sl != 4)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "asynchronous operations sub-item of %u bytes",
				    sl);
			a->has_async = 1;
			a->async_invoked = be16(v);
			a->async_performed = be16(v + 2);
			break;
		case 0x54: {
			uint16_t ul;
			struct ul_role *r;

			if (sl < 4 || (ul = be16(v)) > sl - 4 || (size_t)ul + 4 != sl)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "role selection sub-item malformed");
			if (a->nroles == UL_MAX_PCTX)
				return pv_diag_set(d, PV_ELIMIT, (int64_t)vo, "more than %d role selections", UL_MAX_PCTX);
			r = &a->roles[a->nroles];
			if (uid_field(v + 2, ul, r->uid, "role selection SOP class", vo + 2, d) != 0)
				return d->code;
			r->scu = v[2 + ul];
			r->scp = v[3 + ul];
			if (r->scu > 1 || r->scp > 1)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "role selection values %u/%u", r->scu, r->scp);
			a->nroles++;
			break;
		}
		case 0x55:
			if (text_field(v, sl, a->impl_version, sizeof(a->impl_version), 0, "implementation version name",
			    vo, d) != 0)
				return d->code;
			break;
		case 0x58: {
			uint16_t l1, l2;

			if (type != UL_ASSOCIATE_RQ)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "a user identity request in an A-ASSOCIATE-AC");
			if (sl < 6 || (l1 = be16(v + 2)) > sl - 6 || (l2 = be16(v + 4 + l1)) != sl - 6 - l1)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "user identity sub-item malformed");
			a->has_identity = 1;
			a->identity.type = v[0];
			a->identity.positive_response = v[1];
			if (v[0] < 1 || v[0] > 5)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "user identity type %u", v[0]);
			if (l1 == 0)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "user identity without its primary field");
			if (copy_identity(v + 4, l1, a->identity.primary, &a->identity.nprimary, "user identity", vo, d) !=
			    0 || copy_identity(v + 6 + l1, l2, a->identity.secondary, &a->identity.nsecondary,
			    "user identity passcode", vo, d) != 0)
				return d->code;
			break;
		}
		case 0x59: {
			uint16_t l;

			if (type != UL_ASSOCIATE_AC)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "a user identity response in an "
				    "A-ASSOCIATE-RQ");
			if (sl < 2 || (l = be16(v)) != sl - 2)
				return pv_diag_set(d, PV_EPARSE, (int64_t)vo, "user identity response malformed");
			a->has_identity = 1;
			if (copy_identity(v + 2, l, a->id_response, &a->nid_response, "user identity response", vo, d) != 0)
				return d->code;
			break;
		}
		default:
			/* SOP class extended and common extended negotiation (0x56, 0x57) and sub-items this
			 * version does not know: not negotiated (PS3.7 D.3.3: an acceptor ignores them) */
			break;
		}
		i += 4 + (size_t)sl;
	}
	return 0;
}

int
ul_parse_assoc(uint8_t type, const uint8_t *p, size_t n, struct ul_assoc *a, struct pv_diag *d)
{
	size_t i = 68;
	int app = 0, user = 0;

	memset(a, 0, sizeof(*a));
	a->type = type;
	if (type != UL_ASSOCIATE_RQ && type != UL_ASSOCIATE_AC)
		return pv_diag_set(d, PV_EINVAL, -1, "not an A-ASSOCIATE PDU");
	if (n < 68)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER, "A-ASSOCIATE body of %zu bytes, under 68", n);
	a->version = be16(p);
	if ((a->version & 1) == 0)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER, "protocol version 0x%04x without bit 0", a->version);
	if (text_field(p + 4, 16, a->called, sizeof(a->called), 1, "called AE title", UL_HEADER + 4, d) != 0 ||
	    text_field(p + 20, 16, a->calling, sizeof(a->calling), 1, "calling AE title", UL_HEADER + 20, d) != 0)
		return d->code;
	if (type == UL_ASSOCIATE_RQ && (a->called[0] == '\0' || a->calling[0] == '\0'))
		return pv_diag_set(d, PV_EPARSE, UL_HEADER + 4, "an empty AE title");
	while (i < n) {
		uint8_t it;
		uint16_t il;
		size_t off = UL_HEADER + i;

		if (n - i < 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)off, "item header cut");
		it = p[i];
		il = be16(p + i + 2);
		if (il > n - i - 4)
			return pv_diag_set(d, PV_EPARSE, (int64_t)off, "item of %u bytes past the PDU", il);
		switch (it) {
		case 0x10:
			if (app++)
				return pv_diag_set(d, PV_EPARSE, (int64_t)off, "two application context items");
			if (uid_field(p + i + 4, il, a->app_context, "application context", off + 4, d) != 0)
				return d->code;
			break;
		case 0x20:
		case 0x21:
			if ((it == 0x20) != (type == UL_ASSOCIATE_RQ))
				return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context item 0x%02x in an %s", it,
				    type == UL_ASSOCIATE_RQ ? "A-ASSOCIATE-RQ" : "A-ASSOCIATE-AC");
			if (a->npc == UL_MAX_PCTX)
				return pv_diag_set(d, PV_ELIMIT, (int64_t)off, "more than %d presentation contexts",
				    UL_MAX_PCTX);
			if (parse_pctx(type, p + i + 4, il, off + 4, &a->pc[a->npc], d) != 0)
				return d->code;
			for (size_t k = 0; k < a->npc; k++)
				if (a->pc[k].id == a->pc[a->npc].id)
					return pv_diag_set(d, PV_EPARSE, (int64_t)off, "presentation context ID %u twice",
					    a->pc[k].id);
			a->npc++;
			break;
		case 0x50:
			if (user++)
				return pv_diag_set(d, PV_EPARSE, (int64_t)off, "two user information items");
			if (parse_user(type, p + i + 4, il, off + 4, a, d) != 0)
				return d->code;
			break;
		default:
			return pv_diag_set(d, PV_EPARSE, (int64_t)off, "item type 0x%02x in an A-ASSOCIATE", it);
		}
		i += 4 + (size_t)il;
	}
	if (!app)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER + 68, "no application context item");
	if (a->npc == 0)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER + 68, "no presentation context");
	if (!user)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER + 68, "no user information item (maximum length)");
	return 0;
}

int
ul_parse_reject(const uint8_t *p, size_t n, struct ul_reject *r, struct pv_diag *d)
{
	if (n != 4)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER, "A-ASSOCIATE-RJ body of %zu bytes, not 4", n);
	r->result = p[1];
	r->source = p[2];
	r->reason = p[3];
	return 0;
}

int
ul_parse_abort(const uint8_t *p, size_t n, struct ul_abort *r, struct pv_diag *d)
{
	if (n != 4)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER, "A-ABORT body of %zu bytes, not 4", n);
	r->source = p[2];
	r->reason = p[3];
	return 0;
}

int
ul_parse_release(const uint8_t *p, size_t n, struct pv_diag *d)
{
	(void)p;
	if (n != 4)
		return pv_diag_set(d, PV_EPARSE, UL_HEADER, "A-RELEASE body of %zu bytes, not 4", n);
	return 0;
}

int
ul_next_pdv(const uint8_t *p, size_t n, size_t *off, struct ul_pdv *pdv, struct pv_diag *d)
{
	uint32_t l;
	size_t i = *off;

	if (i >= n)
		return i == 0 ? pv_diag_set(d, PV_EPARSE, UL_HEADER, "P-DATA-TF without a PDV") : 0;
	if (n - i < 6)
		return pv_diag_set(d, PV_EPARSE, (int64_t)(UL_HEADER + i), "PDV item header cut");
	l = be32(p + i);
	if (l < 2 || l > n - i - 4)
		return pv_diag_set(d, PV_EPARSE, (int64_t)(UL_HEADER + i), "PDV item of %lu bytes in %zu",
		    (unsigned long)l, n - i - 4);
	pdv->ctx = p[i + 4];
	if (p[i + 5] & 0xfc)
		return pv_diag_set(d, PV_EPARSE, (int64_t)(UL_HEADER + i + 5), "message control header 0x%02x",
		    p[i + 5]);
	pdv->command = p[i + 5] & 1;
	pdv->last = (p[i + 5] >> 1) & 1;
	pdv->data = p + i + 6;
	pdv->len = l - 2;
	*off = i + 4 + l;
	return 1;
}

/* ---- building ---- */

static int
put16(struct pv_buf *b, unsigned v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return pv_buf_append(b, x, 2);
}

static int
put32(struct pv_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return pv_buf_append(b, x, 4);
}

static void
set32(struct pv_buf *b, size_t at, uint32_t v)
{
	uint8_t *p = (uint8_t *)b->data + at;

	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
set16(struct pv_buf *b, size_t at, size_t v)
{
	uint8_t *p = (uint8_t *)b->data + at;

	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An item or sub-item: type, reserved, 16-bit length, then n bytes. */
static int
item(struct pv_buf *b, uint8_t type, const void *v, size_t n)
{
	uint8_t h[2] = { type, 0 };

	if (n > 0xffff)
		return PV_ELIMIT;
	if (pv_buf_append(b, h, 2) != 0 || put16(b, (unsigned)n) != 0)
		return PV_ENOMEM;
	return n > 0 ? pv_buf_append(b, v, n) : 0;
}

static int
ae_field(struct pv_buf *b, const char *ae)
{
	char f[16];
	size_t n = strlen(ae);

	memset(f, ' ', sizeof(f));
	memcpy(f, ae, n < 16 ? n : 16);
	return pv_buf_append(b, f, 16);
}

int
ul_build_assoc(const struct ul_assoc *a, struct pv_buf *b)
{
	size_t start = b->len, at;
	uint8_t h[2] = { a->type, 0 };
	uint8_t zeros[32] = { 0 };

	if (pv_buf_append(b, h, 2) != 0 || put32(b, 0) != 0 || put16(b, 1) != 0 || put16(b, 0) != 0 ||
	    ae_field(b, a->called) != 0 || ae_field(b, a->calling) != 0 || pv_buf_append(b, zeros, 32) != 0 ||
	    item(b, 0x10, UL_APP_CONTEXT, strlen(UL_APP_CONTEXT)) != 0)
		return PV_ENOMEM;
	for (size_t i = 0; i < a->npc; i++) {
		const struct ul_pctx *pc = &a->pc[i];
		uint8_t head[4] = { pc->id, 0, a->type == UL_ASSOCIATE_AC ? pc->result : 0, 0 };

		at = b->len;
		if (item(b, a->type == UL_ASSOCIATE_RQ ? 0x20 : 0x21, head, 4) != 0)
			return PV_ENOMEM;
		if (a->type == UL_ASSOCIATE_RQ && item(b, 0x30, pc->abstract, strlen(pc->abstract)) != 0)
			return PV_ENOMEM;
		for (size_t k = 0; k < pc->nts; k++)
			if (item(b, 0x40, pc->ts[k], strlen(pc->ts[k])) != 0)
				return PV_ENOMEM;
		if (a->type == UL_ASSOCIATE_AC && pc->nts == 0 && item(b, 0x40, NULL, 0) != 0)
			return PV_ENOMEM;
		if (b->len - at - 4 > 0xffff)
			return PV_ELIMIT;
		set16(b, at + 2, b->len - at - 4);
	}
	at = b->len;
	if (item(b, 0x50, NULL, 0) != 0)
		return PV_ENOMEM;
	{
		uint8_t ml[4] = { (uint8_t)(a->max_pdu >> 24), (uint8_t)(a->max_pdu >> 16), (uint8_t)(a->max_pdu >> 8),
			(uint8_t)a->max_pdu };

		if (item(b, 0x51, ml, 4) != 0 ||
		    (a->impl_uid[0] != '\0' && item(b, 0x52, a->impl_uid, strlen(a->impl_uid)) != 0))
			return PV_ENOMEM;
	}
	if (a->has_async) {
		uint8_t w[4] = { (uint8_t)(a->async_invoked >> 8), (uint8_t)a->async_invoked,
			(uint8_t)(a->async_performed >> 8), (uint8_t)a->async_performed };

		if (item(b, 0x53, w, 4) != 0)
			return PV_ENOMEM;
	}
	for (size_t i = 0; i < a->nroles; i++) {
		size_t ul = strlen(a->roles[i].uid), rat = b->len;

		if (item(b, 0x54, NULL, 0) != 0 || put16(b, (unsigned)ul) != 0 ||
		    pv_buf_append(b, a->roles[i].uid, ul) != 0 || pv_buf_putc(b, (char)a->roles[i].scu) != 0 ||
		    pv_buf_putc(b, (char)a->roles[i].scp) != 0)
			return PV_ENOMEM;
		set16(b, rat + 2, b->len - rat - 4);
	}
	if (a->impl_version[0] != '\0' && item(b, 0x55, a->impl_version, strlen(a->impl_version)) != 0)
		return PV_ENOMEM;
	if (a->has_identity && a->type == UL_ASSOCIATE_AC) {
		size_t rat = b->len;

		if (item(b, 0x59, NULL, 0) != 0 || put16(b, (unsigned)a->nid_response) != 0 ||
		    pv_buf_append(b, a->id_response, a->nid_response) != 0)
			return PV_ENOMEM;
		set16(b, rat + 2, b->len - rat - 4);
	} else if (a->has_identity) {
		const struct ul_identity *id = &a->identity;
		size_t rat = b->len;
		uint8_t th[2] = { id->type, id->positive_response };

		if (item(b, 0x58, NULL, 0) != 0 || pv_buf_append(b, th, 2) != 0 || put16(b, (unsigned)id->nprimary) != 0 ||
		    pv_buf_append(b, id->primary, id->nprimary) != 0 || put16(b, (unsigned)id->nsecondary) != 0 ||
		    pv_buf_append(b, id->secondary, id->nsecondary) != 0)
			return PV_ENOMEM;
		set16(b, rat + 2, b->len - rat - 4);
	}
	if (b->len - at - 4 > 0xffff)
		return PV_ELIMIT;
	set16(b, at + 2, b->len - at - 4);
	set32(b, start + 2, (uint32_t)(b->len - start - UL_HEADER));
	return 0;
}

static int
short_pdu(struct pv_buf *b, uint8_t type, const uint8_t body[4])
{
	uint8_t h[2] = { type, 0 };

	if (pv_buf_append(b, h, 2) != 0 || put32(b, 4) != 0 || pv_buf_append(b, body, 4) != 0)
		return PV_ENOMEM;
	return 0;
}

int
ul_build_reject(const struct ul_reject *r, struct pv_buf *b)
{
	uint8_t body[4] = { 0, r->result, r->source, r->reason };

	return short_pdu(b, UL_ASSOCIATE_RJ, body);
}

int
ul_build_abort(uint8_t source, uint8_t reason, struct pv_buf *b)
{
	uint8_t body[4] = { 0, 0, source, reason };

	return short_pdu(b, UL_ABORT, body);
}

int
ul_build_release(uint8_t type, struct pv_buf *b)
{
	static const uint8_t body[4] = { 0, 0, 0, 0 };

	return short_pdu(b, type, body);
}

int
ul_build_pdata(uint8_t ctx, int command, int last, const void *data, size_t n, struct pv_buf *b)
{
	uint8_t h[2] = { UL_P_DATA_TF, 0 }, pdv[2] = { ctx, (uint8_t)((command ? 1 : 0) | (last ? 2 : 0)) };

	if (n > UL_PDU_MAX)
		return PV_ELIMIT;
	if (pv_buf_append(b, h, 2) != 0 || put32(b, (uint32_t)(n + 6)) != 0 || put32(b, (uint32_t)(n + 2)) != 0 ||
	    pv_buf_append(b, pdv, 2) != 0 || pv_buf_append(b, data, n) != 0)
		return PV_ENOMEM;
	return 0;
}
