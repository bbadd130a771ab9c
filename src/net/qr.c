/*
 * qr.c: Query/Retrieve over DIMSE (PS3.4 annex C): C-FIND SCP for the
 * Patient Root and Study Root information models, on svc_query, so the
 * role's rules hold (a research user gets its project's pseudonyms, may
 * match only on keys that name no one) and the Query event is written
 * before any answer.
 *
 * The identifier is read with the DICOM codec (in the context's transfer
 * syntax, its Specific Character Set converted to UTF-8); every key the
 * index holds becomes a query key (matching as in `pacsvault find`,
 * docs/CONFORMANCE.md); keys it does not hold are left out of the answers
 * (PS3.4 C.2.2.1.1: optional keys an SCP does not support). Answers are
 * in ISO_IR 192.
 */
#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/value.h"
#include "pacsvault/dicom/ts.h"
#include "pacsvault/dicom/vr.h"
#include "pacsvault/dicom/writer.h"
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#define PATIENT_ROOT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define MAX_KEYS 48

int
net__is_find_model(const char *uid)
{
	return strcmp(uid, PATIENT_ROOT_FIND) == 0 || strcmp(uid, STUDY_ROOT_FIND) == 0;
}

static uint32_t
level_key(int level)
{
	switch (level) {
	case QUERY_PATIENT: return 0x00100020u;
	case QUERY_STUDY: return 0x0020000Du;
	case QUERY_SERIES: return 0x0020000Eu;
	default: return 0x00080018u;
	}
}

static const struct query_attr *
attr_of(uint32_t tag)
{
	for (const struct query_attr *a = query_attrs; a->tag != 0; a++)
		if (a->tag == tag)
			return a;
	return NULL;
}

/* One element of an answer, in the context's transfer syntax (Little Endian, explicit or implicit VR). */
static int
put_el(struct pv_buf *b, int explicit_vr, uint32_t tag, const char *vr, const char *v)
{
	size_t n = strlen(v), len = n + (n & 1);
	uint8_t h[12] = { (uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8) };
	int lng = strcmp(vr, "UT") == 0 || strcmp(vr, "UC") == 0 || strcmp(vr, "UR") == 0;

	if (explicit_vr && !lng) {
		if (len > 0xffff)
			return PV_ELIMIT;
		h[4] = (uint8_t)vr[0];
		h[5] = (uint8_t)vr[1];
		h[6] = (uint8_t)len;
		h[7] = (uint8_t)(len >> 8);
		if (pv_buf_append(b, h, 8) != 0)
			return PV_ENOMEM;
	} else if (explicit_vr) {
		h[4] = (uint8_t)vr[0];
		h[5] = (uint8_t)vr[1];
		h[8] = (uint8_t)len;
		h[9] = (uint8_t)(len >> 8);
		h[10] = (uint8_t)(len >> 16);
		h[11] = (uint8_t)(len >> 24);
		if (pv_buf_append(b, h, 12) != 0)
			return PV_ENOMEM;
	} else {
		h[4] = (uint8_t)len;
		h[5] = (uint8_t)(len >> 8);
		h[6] = (uint8_t)(len >> 16);
		h[7] = (uint8_t)(len >> 24);
		if (pv_buf_append(b, h, 8) != 0)
			return PV_ENOMEM;
	}
	if (pv_buf_append(b, v, n) != 0 || ((n & 1) && pv_buf_putc(b, strcmp(vr, "UI") == 0 ? '\0' : ' ') != 0))
		return PV_ENOMEM;
	return 0;
}

struct find_run {
	struct assoc *a;
	const struct pctx *pc;
	int level, explicit_vr;
	uint32_t tags[MAX_KEYS];       /* the keys asked for, ascending, that the index holds */
	const char *vrs[MAX_KEYS];
	size_t ntags;
	size_t sent;
	int err;
	int cancelled;                 /* a C-CANCEL-RQ for this C-FIND came between answers */
	struct pv_diag *d;
};

static const char *
value_of(const struct vault_match *m, uint32_t tag)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->tag[i] == tag)
			return m->value[i];
	return NULL;
}

static const char *
level_name(int level)
{
	return level == QUERY_IMAGE ? "IMAGE" : query_level_name(level);
}

/* One match: a pending C-FIND-RSP and its identifier. */
static int
answer(void *ctx, const struct vault_match *m)
{
	struct find_run *r = ctx;
	struct dimse_cmd rsp;
	struct pv_buf b;
	int rc = 0;
	uint32_t at[MAX_KEYS + 3];
	const char *vr[MAX_KEYS + 3], *val[MAX_KEYS + 3];
	size_t n = 0;

	if (r->err != 0)
		return r->err;
	/* Specific Character Set, Query/Retrieve Level, Retrieve AE Title, then the keys, ascending */
	at[n] = 0x00080005u, vr[n] = "CS", val[n++] = "ISO_IR 192";
	at[n] = 0x00080052u, vr[n] = "CS", val[n++] = level_name(r->level);
	at[n] = 0x00080054u, vr[n] = "AE", val[n++] = r->a->srv->cfg->ae_title;
	for (size_t i = 0; i < r->ntags; i++) {
		const char *v = value_of(m, r->tags[i]);

		at[n] = r->tags[i];
		vr[n] = r->vrs[i];
		val[n++] = v != NULL ? v : "";
	}
	/* insertion sort: the three fixed ones fall among the keys */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && at[k - 1] > at[k]; k--) {
			uint32_t t = at[k];
			const char *x = vr[k], *y = val[k];

			at[k] = at[k - 1], vr[k] = vr[k - 1], val[k] = val[k - 1];
			at[k - 1] = t, vr[k - 1] = x, val[k - 1] = y;
		}
	pv_buf_init(&b, (size_t)1 << 24);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (i == 0 || at[i] != at[i - 1])
			rc = put_el(&b, r->explicit_vr, at[i], vr[i], val[i]);
	if (rc != 0) {
		pv_buf_free_scrub(&b);
		return r->err = pv_diag_set(r->d, rc, -1, "cannot encode an answer");
	}
	memset(&rsp, 0, sizeof(rsp));
	rsp.field = DIMSE_C_FIND_RSP;
	rsp.responded_id = r->a->dc.msg_id;
	snprintf(rsp.affected_class, sizeof(rsp.affected_class), "%s", r->pc->abstract);
	rsp.dataset_type = 0x0001;
	rsp.status = DIMSE_PENDING;
	if ((rc = net__send_rsp(r->a, &rsp, r->d)) == 0)
		rc = net__send_pdata(r->a, r->pc->id, 0, b.data, b.len, r->d);
	pv_buf_free_scrub(&b);
	/* PS3.4 C.4.1.2.3: the peer may cancel between answers (a C-CANCEL-RQ for this message) */
	if (rc == 0 && r->a->c != NULL && net_conn_readable(r->a->c)) {
		struct dimse_cmd c;
		uint8_t cctx;

		if ((rc = net__await_command(r->a, &c, &cctx, r->d)) == 0) {
			if (c.field == DIMSE_C_CANCEL_RQ && c.responded_id == r->a->dc.msg_id) {
				r->cancelled = 1;
				r->sent++;
				return 1;   /* stops the query: the final response says Cancel */
			}
			rc = pv_diag_set(r->d, PV_EPARSE, -1, "%s during a C-FIND (no asynchronous operations were "
			    "negotiated)", dimse_name(c.field));
		}
	}
	if (rc != 0)
		return r->err = rc;
	r->sent++;
	return 0;
}

/* The identifier's keys: level and query keys (values in UTF-8). */
static int
read_identifier(struct assoc *a, const struct pctx *pc, struct find_run *r, struct query_key *keys, size_t *nkeys,
    char *why, size_t wn)
{
	struct pv_buf file, u8;
	struct dcm_reader *rd = NULL;
	struct dcm_file *f = NULL;
	struct dcm_charset cs;
	struct pv_diag d;
	char lv[32] = "";
	int rc;

	*nkeys = 0;
	pv_diag_clear(&d);
	pv_buf_init(&file, a->data.len + 4096);
	pv_buf_init(&u8, (size_t)1 << 20);
	if (net__part10(&file, pc->abstract, "2.25.0", pc->ts, "", a->data.data, a->data.len) != 0 ||
	    dcm_reader_open_mem(file.data, file.len, NULL, &rd, &d) != 0 || dcm_file_read(rd, &f, &d) != 0) {
		snprintf(why, wn, "the identifier does not parse: %.120s", d.msg);
		pv_buf_free(&file);
		return -1;
	}
	dcm_charset_default(&cs);
	if (dcm_ds_find(&f->ds, 0x00080005u) != NULL) {
		struct dcm_elem *e = dcm_ds_find(&f->ds, 0x00080005u);
		const uint8_t *v;

		if (dcm_file_value(f, e, &v) == 0)
			(void)dcm_charset_parse(v, e->length, &cs);
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00080052u, lv, sizeof(lv)) != 0 || (r->level = query_level_parse(lv)) < 0) {
		snprintf(why, wn, "no valid Query/Retrieve Level (0008,0052)");
		rc = -1;
		goto out;
	}
	if (strcmp(pc->abstract, STUDY_ROOT_FIND) == 0 && r->level == QUERY_PATIENT) {
		snprintf(why, wn, "the Study Root model has no PATIENT level");
		rc = -1;
		goto out;
	}
	rc = 0;
	for (uint32_t i = 0; i < f->ds.n && rc == 0; i++) {
		struct dcm_elem *e = &f->ds.e[i];
		const struct query_attr *qa = attr_of(e->tag);
		const uint8_t *v;
		char arg[1200];

		if (qa == NULL || e->vr == DCM_VR_SQ || qa->level > r->level)
			continue;   /* not held by the index, or below the level: not answered */
		if (*nkeys == MAX_KEYS || r->ntags == MAX_KEYS)
			break;
		pv_buf_reset(&u8);
		if (e->length > 0 && (dcm_file_value(f, e, &v) != 0 ||
		    dcm_charset_to_utf8(&cs, (enum dcm_vr)e->vr, v, dcm_value_trim_len((enum dcm_vr)e->vr, v, e->length),
		    &u8) < 0 || pv_buf_putc(&u8, '\0') != 0)) {
			snprintf(why, wn, "(%04X,%04X): the value does not read", e->tag >> 16, e->tag & 0xffff);
			rc = -1;
			break;
		}
		if (snprintf(arg, sizeof(arg), "%s=%s", qa->keyword, e->length > 0 ? u8.data : "") >= (int)sizeof(arg)) {
			snprintf(why, wn, "(%04X,%04X): the value is too long", e->tag >> 16, e->tag & 0xffff);
			rc = -1;
			break;
		}
		pv_diag_clear(&d);
		if (query_key_parse(arg, &keys[*nkeys], &d) != 0) {
			snprintf(why, wn, "%s: %.120s", qa->keyword, d.msg);
			rc = -1;
			break;
		}
		(*nkeys)++;
		r->tags[r->ntags] = e->tag;
		r->vrs[r->ntags++] = qa->vr;
	}
	/* the level's unique key is always answered */
	if (rc == 0) {
		int have = 0;

		for (size_t i = 0; i < r->ntags; i++)
			have |= r->tags[i] == level_key(r->level);
		if (!have && r->ntags < MAX_KEYS && attr_of(level_key(r->level)) != NULL) {
			r->tags[r->ntags] = level_key(r->level);
			r->vrs[r->ntags++] = attr_of(level_key(r->level))->vr;
			for (size_t i = r->ntags - 1; i > 0 && r->tags[i - 1] > r->tags[i]; i--) {
				uint32_t t = r->tags[i];
				const char *x = r->vrs[i];

				r->tags[i] = r->tags[i - 1], r->vrs[i] = r->vrs[i - 1];
				r->tags[i - 1] = t, r->vrs[i - 1] = x;
			}
		}
	}
out:
	dcm_file_free(f);
	pv_buf_free(&u8);
	pv_buf_free_scrub(&file);
	return rc;
}

int
net__find(struct assoc *a, const struct pctx *pc, struct pv_diag *d)
{
	struct find_run r;
	struct query_key keys[MAX_KEYS];
	struct dimse_cmd rsp;
	char why[200] = "";
	size_t nkeys = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(keys, 0, sizeof(keys));
	r.a = a;
	r.pc = pc;
	r.d = d;
	r.explicit_vr = strcmp(pc->ts, "1.2.840.10008.1.2") != 0;
	memset(&rsp, 0, sizeof(rsp));
	rsp.field = DIMSE_C_FIND_RSP;
	rsp.responded_id = a->dc.msg_id;
	rsp.dataset_type = DIMSE_NO_DATASET;
	snprintf(rsp.affected_class, sizeof(rsp.affected_class), "%s", pc->abstract);
	if (read_identifier(a, pc, &r, keys, &nkeys, why, sizeof(why)) != 0) {
		rsp.status = 0xA900;   /* Identifier does not match SOP Class */
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "%.64s", why);
		net__log(a, "C-FIND refused: %s", why);
	} else {
		struct pv_diag qd;

		pv_diag_clear(&qd);
		rc = svc_query(a->srv->s, &a->p, r.level, keys, nkeys, answer, &r, &qd);
		if (r.cancelled && rc == 1)
			rc = 0;
		if (r.err != 0) {
			/* the peer went away mid-answer: nothing more to say to it */
			for (size_t i = 0; i < nkeys; i++)
				query_key_free(&keys[i]);
			net__log(a, "C-FIND %s: %zu answers sent, then: %s", level_name(r.level), r.sent, d->msg);
			return r.err;
		}
		if (rc == PV_EAUTH) {
			rsp.status = DIMSE_REFUSED_NOT_AUTHORIZED;
			snprintf(rsp.error_comment, sizeof(rsp.error_comment), "not allowed for this user's role");
		} else if (rc != 0) {
			rsp.status = DIMSE_UNABLE_TO_PROCESS;
			snprintf(rsp.error_comment, sizeof(rsp.error_comment), "the query could not be run");
		} else {
			rsp.status = r.cancelled ? DIMSE_CANCEL : DIMSE_SUCCESS;
		}
		net__log(a, "C-FIND %s on %zu keys: %zu answers%s%s%s", level_name(r.level), nkeys, r.sent,
		    r.cancelled ? " (cancelled by the peer)" : "",
		    rc != 0 ? ", then: " : "", rc != 0 ? qd.msg : "");
	}
	for (size_t i = 0; i < nkeys; i++)
		query_key_free(&keys[i]);
	return net__send_rsp(a, &rsp, d);
}

/* ---- C-GET ---- */

#define PATIENT_ROOT_GET "1.2.840.10008.5.1.4.1.2.1.3"
#define STUDY_ROOT_GET "1.2.840.10008.5.1.4.1.2.2.3"
#define UIDS_MAX 256

int
net__is_get_model(const char *uid)
{
	return strcmp(uid, PATIENT_ROOT_GET) == 0 || strcmp(uid, STUDY_ROOT_GET) == 0;
}

/* The UIDs asked for at the identifier's level (a list: backslash-separated). */
static int
retrieve_uids(struct assoc *a, const struct pctx *pc, char (*uids)[72], size_t *n, int *level, char *why, size_t wn)
{
	struct pv_buf file;
	struct dcm_reader *rd = NULL;
	struct dcm_file *f = NULL;
	struct pv_diag d;
	char lv[32] = "", list[UIDS_MAX * 66];
	int rc = -1;

	*n = 0;
	pv_diag_clear(&d);
	pv_buf_init(&file, a->data.len + 4096);
	if (net__part10(&file, pc->abstract, "2.25.0", pc->ts, "", a->data.data, a->data.len) != 0 ||
	    dcm_reader_open_mem(file.data, file.len, NULL, &rd, &d) != 0 || dcm_file_read(rd, &f, &d) != 0) {
		snprintf(why, wn, "the identifier does not parse: %.120s", d.msg);
		pv_buf_free(&file);
		return -1;
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00080052u, lv, sizeof(lv)) != 0 || (*level = query_level_parse(lv)) < 0 ||
	    *level == QUERY_PATIENT) {
		snprintf(why, wn, "retrieve at STUDY, SERIES or IMAGE level, by UID");
		goto out;
	}
	{
		struct dcm_elem *e = dcm_ds_find(&f->ds, level_key(*level));
		const uint8_t *v;
		char *save = NULL, *tok;

		if (e == NULL || e->length == 0 || e->length >= sizeof(list) || dcm_file_value(f, e, &v) != 0) {
			snprintf(why, wn, "no %s to retrieve", query_level_name(*level));
			goto out;
		}
		memcpy(list, v, e->length);
		list[e->length] = '\0';
		for (tok = strtok_r(list, "\\", &save); tok != NULL; tok = strtok_r(NULL, "\\", &save)) {
			size_t k = strlen(tok);

			while (k > 0 && (tok[k - 1] == ' ' || tok[k - 1] == '\0'))
				tok[--k] = '\0';
			if (k == 0 || k > 64 || *n == UIDS_MAX) {
				snprintf(why, wn, "a UID list of more than %d, or a UID of more than 64 characters", UIDS_MAX);
				goto out;
			}
			snprintf(uids[(*n)++], 72, "%s", tok);
		}
	}
	rc = *n > 0 ? 0 : -1;
	if (rc != 0)
		snprintf(why, wn, "no UID to retrieve");
out:
	dcm_file_free(f);
	pv_buf_free_scrub(&file);
	return rc;
}

/* The storage context the peer accepted as SCP for cls, in ts (or an uncompressed one when ts is). */
static const struct pctx *
store_ctx(const struct assoc *a, const char *cls, const char *ts, int *transcode)
{
	const struct pctx *other = NULL;
	const struct dcm_ts *t = dcm_ts_lookup(ts, strlen(ts));
	int native = t != NULL && !t->encapsulated && !t->deflated;

	*transcode = 0;
	for (size_t i = 0; i < a->npc; i++) {
		const struct pctx *p = &a->pc[i];
		const struct dcm_ts *pt;

		if (!p->accepted || !p->peer_scp || strcmp(p->abstract, cls) != 0)
			continue;
		if (strcmp(p->ts, ts) == 0)
			return p;
		pt = dcm_ts_lookup(p->ts, strlen(p->ts));
		if (native && pt != NULL && !pt->encapsulated && !pt->deflated && other == NULL)
			other = p;
	}
	*transcode = other != NULL;
	return other;
}

/* One sub-operation: instance bytes (Part 10) to the peer by C-STORE; its status, or < 0 when the association failed. */
static int
sub_store(struct assoc *a, uint16_t msg_id, const struct pv_buf *part10, char *why, size_t wn, struct pv_diag *d)
{
	struct pv_buf enc;
	struct dcm_reader *rd = NULL;
	struct dcm_file *f = NULL;
	struct dimse_cmd rq, rsp;
	const struct pctx *sc;
	char cls[65] = "", inst[65] = "";
	struct pv_diag pd;
	uint8_t rctx = 0;
	int transcode, rc;

	pv_diag_clear(&pd);
	if (dcm_reader_open_mem(part10->data, part10->len, NULL, &rd, &pd) != 0 || dcm_file_read(rd, &f, &pd) != 0) {
		snprintf(why, wn, "the stored instance does not read");
		return DIMSE_UNABLE_TO_PROCESS;
	}
	if (dcm_ds_get_str(f, &f->meta, 0x00020002u, cls, sizeof(cls)) != 0 ||
	    dcm_ds_get_str(f, &f->meta, 0x00020003u, inst, sizeof(inst)) != 0) {
		dcm_file_free(f);
		snprintf(why, wn, "the stored instance has no SOP class or instance in its meta group");
		return DIMSE_UNABLE_TO_PROCESS;
	}
	if ((sc = store_ctx(a, cls, f->ts->uid, &transcode)) == NULL) {
		dcm_file_free(f);
		snprintf(why, wn, "no storage context for its SOP class and transfer syntax");
		return DIMSE_UNABLE_TO_PROCESS;
	}
	pv_buf_init(&enc, part10->len + ((size_t)1 << 20));
	if ((rc = dcm_encode_dataset(f, &f->ds, transcode ? dcm_ts_lookup(sc->ts, strlen(sc->ts)) : f->ts, &enc, &pd)) != 0) {
		dcm_file_free(f);
		pv_buf_free_scrub(&enc);
		snprintf(why, wn, "cannot encode it in the context's transfer syntax");
		return DIMSE_UNABLE_TO_PROCESS;
	}
	dcm_file_free(f);
	memset(&rq, 0, sizeof(rq));
	rq.field = DIMSE_C_STORE_RQ;
	rq.msg_id = msg_id;
	rq.dataset_type = 0x0001;
	snprintf(rq.affected_class, sizeof(rq.affected_class), "%s", cls);
	snprintf(rq.affected_inst, sizeof(rq.affected_inst), "%s", inst);
	{
		struct pv_buf cb;

		pv_buf_init(&cb, DIMSE_CMD_MAX);
		rc = dimse_build(&rq, &cb) != 0 ? pv_diag_set(d, PV_ENOMEM, -1, "out of memory") :
		    net__send_pdata(a, sc->id, 1, cb.data, cb.len, d);
		pv_buf_free(&cb);
	}
	if (rc == 0)
		rc = net__send_pdata(a, sc->id, 0, enc.data, enc.len, d);
	pv_buf_free_scrub(&enc);
	if (rc == 0)
		rc = net__await_command(a, &rsp, &rctx, d);
	if (rc != 0)
		return -1;
	if (rsp.field == DIMSE_C_CANCEL_RQ)
		return DIMSE_CANCEL;
	if (rsp.field != DIMSE_C_STORE_RSP || rsp.responded_id != msg_id) {
		pv_diag_set(d, PV_EPARSE, -1, "%s while the C-STORE-RSP was awaited", dimse_name(rsp.field));
		return -1;
	}
	if (rsp.status != 0)
		snprintf(why, wn, "the peer answered 0x%04X", rsp.status);
	return rsp.status;
}

/* The counts of a retrieve's sub-operations. */
struct tally {
	unsigned completed, failed, warning;
};

/*
 * Counts sub-operation i of n by its status st, then, unless it was the
 * last, sends the pending response rsp with the counts so far.
 */
static int
tally_pending(struct assoc *a, const struct dimse_cmd *rsp, int st, size_t i, size_t n, struct tally *t,
    const char *op, const char *why, struct pv_diag *d)
{
	struct dimse_cmd p = *rsp;

	if (st == DIMSE_SUCCESS)
		t->completed++;
	else if ((st & 0xF000) == 0xB000)
		t->warning++;
	else {
		t->failed++;
		net__log(a, "%s sub-operation %zu failed: %s", op, i + 1, why);
	}
	if (i + 1 >= n)
		return 0;
	p.status = DIMSE_PENDING;
	p.has_subops = 1;
	p.remaining = (uint16_t)(n - i - 1);
	p.completed = (uint16_t)t->completed;
	p.failed = (uint16_t)t->failed;
	p.warning = (uint16_t)t->warning;
	return net__send_rsp(a, &p, d);
}

int
net__get(struct assoc *a, const struct pctx *pc, struct pv_diag *d)
{
	char (*mine)[72] = calloc(UIDS_MAX, sizeof(*mine));
	const char *list[UIDS_MAX];
	struct svc_egress *e = NULL;
	struct dimse_cmd rsp;
	struct pv_diag ed;
	char why[200] = "";
	size_t nuid = 0, n = 0;
	struct tally t = { 0, 0, 0 };
	int level = 0, rc = 0, cancelled = 0;
	uint16_t sub_id = 1;

	memset(&rsp, 0, sizeof(rsp));
	rsp.field = DIMSE_C_GET_RSP;
	rsp.responded_id = a->dc.msg_id;
	rsp.dataset_type = DIMSE_NO_DATASET;
	snprintf(rsp.affected_class, sizeof(rsp.affected_class), "%s", pc->abstract);
	if (mine == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (retrieve_uids(a, pc, mine, &nuid, &level, why, sizeof(why)) != 0) {
		rsp.status = 0xA900;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "%.64s", why);
		net__log(a, "C-GET refused: %s", why);
		free(mine);
		return net__send_rsp(a, &rsp, d);
	}
	for (size_t i = 0; i < nuid; i++)
		list[i] = mine[i];
	pv_diag_clear(&ed);
	/* Through the one way out: resolved (a research user's pseudonyms), allowed, Export events first. */
	rc = svc_egress_open_many(a->srv->s, &a->p, list, nuid, "C-GET", &e, &n, &level, &ed);
	if (rc != 0) {
		rsp.status = rc == PV_EAUTH ? DIMSE_REFUSED_NOT_AUTHORIZED : rc == PV_ENOTFOUND ? DIMSE_SUCCESS :
		    DIMSE_UNABLE_TO_PROCESS;
		rsp.has_subops = 1;
		net__log(a, "C-GET %s of %zu UIDs: %s", query_level_name(level), nuid,
		    rc == PV_ENOTFOUND ? "nothing found" : ed.msg);
		free(mine);
		return net__send_rsp(a, &rsp, d);
	}
	for (size_t i = 0; i < n && !cancelled; i++) {
		struct pv_buf b;
		int st;

		pv_buf_init(&b, (size_t)1 << 40);
		pv_diag_clear(&ed);
		why[0] = '\0';
		if ((rc = svc_egress_mem(e, i, &b, &ed)) != 0) {
			t.failed++;
			net__log(a, "C-GET sub-operation %zu: %s", i + 1, rc == PV_EHELD ? "held back by the de-identification "
			    "pipeline" : "the instance could not be read");
			pv_buf_free_scrub(&b);
			rc = 0;
			continue;
		}
		st = sub_store(a, sub_id++, &b, why, sizeof(why), d);
		pv_buf_free_scrub(&b);
		if (st < 0) {
			svc_egress_close(e);
			free(mine);
			net__log(a, "C-GET: the association failed during sub-operation %zu: %s", i + 1, d->msg);
			return PV_EIO;
		}
		if (st == DIMSE_CANCEL) {
			cancelled = 1;
			break;
		}
		if ((rc = tally_pending(a, &rsp, st, i, n, &t, "C-GET", why, d)) != 0) {
			svc_egress_close(e);
			free(mine);
			return rc;
		}
	}
	svc_egress_close(e);
	free(mine);
	rsp.has_subops = 1;
	rsp.completed = (uint16_t)t.completed;
	rsp.failed = (uint16_t)t.failed;
	rsp.warning = (uint16_t)t.warning;
	rsp.status = cancelled ? DIMSE_CANCEL : t.failed == 0 && t.warning == 0 ? DIMSE_SUCCESS :
	    t.completed + t.warning > 0 ? DIMSE_SUBOPS_WARNING : DIMSE_OUT_OF_RESOURCES_SUBOPS;
	net__log(a, "C-GET %s of %zu UIDs: %zu instances, %u sent, %u warnings, %u failed%s", query_level_name(level),
	    nuid, n, t.completed, t.warning, t.failed, cancelled ? ", cancelled" : "");
	return net__send_rsp(a, &rsp, d);
}

/* ---- C-MOVE ---- */

#define PATIENT_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.1.2"
#define STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define MOVE_PAIRS 64

int
net__is_move_model(const char *uid)
{
	return strcmp(uid, PATIENT_ROOT_MOVE) == 0 || strcmp(uid, STUDY_ROOT_MOVE) == 0;
}

/* A SOP class and transfer syntax among the instances to send: one presentation context each. */
struct pair {
	char cls[65], ts[65];
};

static int
meta_of(const struct pv_buf *b, char cls[65], char ts[65])
{
	struct dcm_reader *rd = NULL;
	struct dcm_file *f = NULL;
	struct pv_diag d;
	int rc = -1;

	pv_diag_clear(&d);
	if (dcm_reader_open_mem(b->data, b->len, NULL, &rd, &d) != 0 || dcm_file_read(rd, &f, &d) != 0)
		return -1;
	if (dcm_ds_get_str(f, &f->meta, 0x00020002u, cls, 65) == 0 && f->ts != NULL && f->ts->known) {
		snprintf(ts, 65, "%s", f->ts->uid);
		rc = 0;
	}
	dcm_file_free(f);
	return rc;
}

/* The association to the destination: one context per pair (its syntax, and the native ones when it is native). */
static int
move_open(struct assoc *a, const struct net_peer *peer, const struct pair *pairs, size_t np, int as_scp,
    struct assoc **out, struct pv_diag *d)
{
	const struct net_server_cfg *cfg = a->srv->cfg;
	struct assoc *o = calloc(1, sizeof(*o));
	struct ul_assoc *rq = calloc(1, sizeof(*rq)), *ac = calloc(1, sizeof(*ac));
	struct pv_buf body;
	uint8_t type;
	int rc;

	*out = NULL;
	pv_buf_init(&body, ASSOC_BODY_MAX);
	if (o == NULL || rq == NULL || ac == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto fail;
	}
	o->srv = a->srv;
	o->fd = -1;
	o->id = a->id;
	snprintf(o->addr, sizeof(o->addr), "%.63s", peer->at.host);
	pv_buf_init(&o->cmd, DIMSE_CMD_MAX);
	pv_buf_init(&o->data, DIMSE_CMD_MAX);
	pv_buf_init(&o->out, (size_t)2 << 20);
	if ((rc = net_conn_connect(peer->at.host, peer->at.port, peer->tls, peer->ca,
	    peer->cert[0] ? peer->cert : cfg->tls_cert, peer->cert[0] ? peer->key : cfg->tls_key,
	    cfg->artim_timeout_s * 1000, &o->c, d)) != 0)
		goto fail;
	rq->type = UL_ASSOCIATE_RQ;
	snprintf(rq->called, sizeof(rq->called), "%s", peer->ae);
	snprintf(rq->calling, sizeof(rq->calling), "%s", cfg->ae_title);
	rq->max_pdu = cfg->max_pdu;
	snprintf(rq->impl_uid, sizeof(rq->impl_uid), "%s", DCM_IMPL_CLASS_UID);
	snprintf(rq->impl_version, sizeof(rq->impl_version), "%s", DCM_IMPL_VERSION_NAME);
	for (size_t i = 0; i < np && rq->npc < UL_MAX_PCTX; i++) {
		struct ul_pctx *pc = &rq->pc[rq->npc];
		const struct dcm_ts *t = dcm_ts_lookup(pairs[i].ts, strlen(pairs[i].ts));

		pc->id = (uint8_t)(2 * rq->npc + 1);
		snprintf(pc->abstract, sizeof(pc->abstract), "%s", pairs[i].cls);
		snprintf(pc->ts[pc->nts++], sizeof(pc->ts[0]), "%s", pairs[i].ts);
		if (t != NULL && !t->encapsulated && !t->deflated) {
			if (strcmp(pairs[i].ts, "1.2.840.10008.1.2.1") != 0)
				snprintf(pc->ts[pc->nts++], sizeof(pc->ts[0]), "1.2.840.10008.1.2.1");
			if (strcmp(pairs[i].ts, "1.2.840.10008.1.2") != 0)
				snprintf(pc->ts[pc->nts++], sizeof(pc->ts[0]), "1.2.840.10008.1.2");
		}
		if (as_scp && rq->nroles < UL_MAX_PCTX) {
			/* this side as the SCP of the class (a storage commitment report: N-EVENT-REPORT) */
			snprintf(rq->roles[rq->nroles].uid, sizeof(rq->roles[0].uid), "%s", pairs[i].cls);
			rq->roles[rq->nroles].scu = 0;
			rq->roles[rq->nroles].scp = 1;
			rq->nroles++;
		}
		rq->npc++;
	}
	pv_buf_reset(&o->out);
	if (ul_build_assoc(rq, &o->out) != 0) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "cannot build the A-ASSOCIATE-RQ");
		goto fail;
	}
	if ((rc = net_conn_write(o->c, o->out.data, o->out.len, d)) != 0)
		goto fail;
	pv_buf_reset(&o->out);
	rc = net__read_pdu(o, net_now_ms() + (int64_t)cfg->artim_timeout_s * 1000, &type, &body, 0, d);
	if (rc <= 0) {
		rc = rc == 0 ? pv_diag_set(d, PV_EIO, -1, "the destination closed the connection") : rc;
		goto fail;
	}
	if (type == UL_ASSOCIATE_RJ) {
		rc = pv_diag_set(d, PV_EAUTH, -1, "the destination rejected the association");
		goto fail;
	}
	if (type != UL_ASSOCIATE_AC || (rc = ul_parse_assoc(type, (const uint8_t *)body.data, body.len, ac, d)) != 0) {
		rc = d->code != 0 ? d->code : pv_diag_set(d, PV_EPARSE, -1, "not an A-ASSOCIATE-AC from the destination");
		goto fail;
	}
	o->peer_max = ac->max_pdu;
	for (size_t i = 0; i < ac->npc; i++)
		for (size_t k = 0; k < rq->npc; k++)
			if (ac->pc[i].id == rq->pc[k].id && ac->pc[i].result == UL_PC_ACCEPT && ac->pc[i].nts == 1) {
				struct pctx *m = &o->pc[o->npc++];

				m->id = ac->pc[i].id;
				m->accepted = 1;
				m->peer_scp = 1;
				snprintf(m->abstract, sizeof(m->abstract), "%s", rq->pc[k].abstract);
				snprintf(m->ts, sizeof(m->ts), "%s", ac->pc[i].ts[0]);
			}
	pv_buf_free(&body);
	free(rq);
	free(ac);
	*out = o;
	return 0;
fail:
	pv_buf_free(&body);
	free(rq);
	free(ac);
	if (o != NULL) {
		net_conn_close(o->c);
		pv_buf_free(&o->cmd);
		pv_buf_free(&o->data);
		pv_buf_free(&o->out);
		free(o);
	}
	return rc;
}

static void
move_close(struct assoc *o, int release)
{
	if (o == NULL)
		return;
	if (release) {
		struct pv_buf body;
		struct pv_diag d;
		uint8_t type;

		pv_diag_clear(&d);
		pv_buf_init(&body, ASSOC_BODY_MAX);
		pv_buf_reset(&o->out);
		if (ul_build_release(UL_RELEASE_RQ, &o->out) == 0 && net_conn_write(o->c, o->out.data, o->out.len, &d) == 0)
			(void)net__read_pdu(o, net_now_ms() + 10000, &type, &body, 1, &d);
		pv_buf_free(&body);
	}
	net_conn_close(o->c);
	pv_buf_free(&o->cmd);
	pv_buf_free(&o->data);
	pv_buf_free(&o->out);
	free(o);
}

int
net__move(struct assoc *a, const struct pctx *pc, struct pv_diag *d)
{
	const struct net_server_cfg *cfg = a->srv->cfg;
	const struct net_peer *peer = NULL;
	char (*mine)[72] = calloc(UIDS_MAX, sizeof(*mine));
	const char *list[UIDS_MAX];
	struct pair *pairs = calloc(MOVE_PAIRS, sizeof(*pairs));
	uint8_t *held = NULL;
	struct svc_egress *e = NULL;
	struct assoc *o = NULL;
	struct dimse_cmd rsp;
	struct pv_diag ed;
	char why[200] = "", what[64];
	size_t nuid = 0, n = 0, np = 0;
	struct tally t = { 0, 0, 0 };
	int level = 0, rc = 0;
	uint16_t sub_id = 1;

	memset(&rsp, 0, sizeof(rsp));
	rsp.field = DIMSE_C_MOVE_RSP;
	rsp.responded_id = a->dc.msg_id;
	rsp.dataset_type = DIMSE_NO_DATASET;
	snprintf(rsp.affected_class, sizeof(rsp.affected_class), "%s", pc->abstract);
	if (mine == NULL || pairs == NULL) {
		free(mine);
		free(pairs);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	for (size_t i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].ae, a->dc.move_dest) == 0)
			peer = &cfg->peers[i];
	if (peer == NULL) {
		/* only the destinations the configuration names: an AE title is not an address */
		rsp.status = DIMSE_MOVE_DEST_UNKNOWN;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "move destination not configured");
		net__log(a, "C-MOVE to an unknown destination: refused");
		goto answer;
	}
	if (retrieve_uids(a, pc, mine, &nuid, &level, why, sizeof(why)) != 0) {
		rsp.status = 0xA900;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "%.64s", why);
		net__log(a, "C-MOVE refused: %s", why);
		goto answer;
	}
	for (size_t i = 0; i < nuid; i++)
		list[i] = mine[i];
	snprintf(what, sizeof(what), "C-MOVE to %s", peer->ae);
	pv_diag_clear(&ed);
	if ((rc = svc_egress_open_many(a->srv->s, &a->p, list, nuid, what, &e, &n, &level, &ed)) != 0) {
		rsp.status = rc == PV_EAUTH ? DIMSE_REFUSED_NOT_AUTHORIZED : rc == PV_ENOTFOUND ? DIMSE_SUCCESS :
		    DIMSE_UNABLE_TO_PROCESS;
		rsp.has_subops = 1;
		net__log(a, "C-MOVE %s of %zu UIDs to %s: %s", query_level_name(level), nuid, peer->ae,
		    rc == PV_ENOTFOUND ? "nothing found" : ed.msg);
		rc = 0;
		goto answer;
	}
	/* What will be sent, in which syntax: one context each (the instances are read again to send them). */
	if (n > 0 && (held = calloc(n, 1)) == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct pv_buf b;
		struct pair p;
		int have = 0;

		pv_buf_init(&b, (size_t)1 << 40);
		pv_diag_clear(&ed);
		if (svc_egress_mem(e, i, &b, &ed) != 0 || meta_of(&b, p.cls, p.ts) != 0) {
			held[i] = 1;
			pv_buf_free_scrub(&b);
			continue;
		}
		pv_buf_free_scrub(&b);
		for (size_t k = 0; k < np; k++)
			have |= strcmp(pairs[k].cls, p.cls) == 0 && strcmp(pairs[k].ts, p.ts) == 0;
		if (!have && np < MOVE_PAIRS)
			pairs[np++] = p;
	}
	pv_diag_clear(&ed);
	if (np > 0 && (rc = move_open(a, peer, pairs, np, 0, &o, &ed)) != 0) {
		rsp.status = DIMSE_OUT_OF_RESOURCES_SUBOPS;
		rsp.has_subops = 1;
		rsp.failed = (uint16_t)n;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "the destination cannot be reached");
		net__log(a, "C-MOVE to %s: %s", peer->ae, ed.msg);
		rc = 0;
		goto answer;
	}
	for (size_t i = 0; i < n; i++) {
		struct pv_buf b;
		int st;

		if (held[i]) {
			t.failed++;
			continue;
		}
		pv_buf_init(&b, (size_t)1 << 40);
		pv_diag_clear(&ed);
		if (svc_egress_mem(e, i, &b, &ed) != 0) {
			t.failed++;
			pv_buf_free_scrub(&b);
			continue;
		}
		st = sub_store(o, sub_id++, &b, why, sizeof(why), &ed);
		pv_buf_free_scrub(&b);
		if (st < 0) {
			net__log(a, "C-MOVE to %s: the destination's association failed: %s", peer->ae, ed.msg);
			t.failed += (unsigned)(n - i);
			move_close(o, 0);
			o = NULL;
			break;
		}
		if ((rc = tally_pending(a, &rsp, st, i, n, &t, "C-MOVE", why, d)) != 0)
			goto out;
	}
	rsp.has_subops = 1;
	rsp.completed = (uint16_t)t.completed;
	rsp.failed = (uint16_t)t.failed;
	rsp.warning = (uint16_t)t.warning;
	rsp.status = t.failed == 0 && t.warning == 0 ? DIMSE_SUCCESS : t.completed + t.warning > 0 ?
	    DIMSE_SUBOPS_WARNING : DIMSE_OUT_OF_RESOURCES_SUBOPS;
	net__log(a, "C-MOVE %s of %zu UIDs to %s (%s): %zu instances, %u sent, %u warnings, %u failed",
	    query_level_name(level), nuid, peer->ae, peer->tls ? "TLS" : "TCP", n, t.completed, t.warning, t.failed);
answer:
	rc = net__send_rsp(a, &rsp, d);
out:
	move_close(o, 1);
	svc_egress_close(e);
	free(held);
	free(pairs);
	free(mine);
	return rc;
}

/* ---- Storage Commitment Push Model SCP (PS3.4 annex J) ---- */

#define SC_CLASS "1.2.840.10008.1.20.1"
#define SC_INSTANCE "1.2.840.10008.1.20.1.1"
#define SC_MAX 4096

int
net__is_commitment(const char *uid)
{
	return strcmp(uid, SC_CLASS) == 0;
}

struct sc_ref {
	char cls[65], inst[65];
	int have;
};

struct sc_job {
	struct server *srv;
	struct net_peer peer;
	char tx[65];
	struct sc_ref *refs;
	size_t n;
	uint64_t id;
	char addr[64];
};

/* Explicit VR Little Endian: a sequence of undefined length and its items, written by hand. */
static int
sq_open(struct pv_buf *b, uint32_t tag)
{
	uint8_t h[12] = { (uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8), 'S', 'Q', 0, 0,
		0xff, 0xff, 0xff, 0xff };

	return pv_buf_append(b, h, 12);
}

static int
item_mark(struct pv_buf *b, uint16_t e)
{
	uint8_t h[8] = { 0xfe, 0xff, (uint8_t)e, (uint8_t)(e >> 8), 0xff, 0xff, 0xff, 0xff };

	if (e != 0xe000)
		h[4] = h[5] = h[6] = h[7] = 0;
	return pv_buf_append(b, h, 8);
}

/* The report's data set: Transaction UID, the references kept, those that failed with reason 0112. */
static int
report_dataset(const struct sc_job *j, struct pv_buf *b, int *failures)
{
	int rc = 0, seq;

	*failures = 0;
	for (size_t i = 0; i < j->n; i++)
		*failures += !j->refs[i].have;
	rc |= put_el(b, 1, 0x00081195u, "UI", j->tx);
	for (seq = 0; seq < 2 && rc == 0; seq++) {
		int want = seq == 0 ? 0 : 1;   /* 0: FailedSOPSequence (0008,1198), 1: ReferencedSOPSequence (0008,1199) */
		size_t count = 0;

		for (size_t i = 0; i < j->n; i++)
			count += j->refs[i].have == want;
		if (count == 0)
			continue;
		rc |= sq_open(b, want ? 0x00081199u : 0x00081198u);
		for (size_t i = 0; i < j->n && rc == 0; i++) {
			if (j->refs[i].have != want)
				continue;
			rc |= item_mark(b, 0xe000);
			rc |= put_el(b, 1, 0x00081150u, "UI", j->refs[i].cls);
			rc |= put_el(b, 1, 0x00081155u, "UI", j->refs[i].inst);
			if (!want) {
				uint8_t us[10] = { 0x08, 0x00, 0x97, 0x11, 'U', 'S', 2, 0, 0x12, 0x01 };   /* 0112: no such object */

				rc |= pv_buf_append(b, us, 10);
			}
			rc |= item_mark(b, 0xe00d);
		}
		rc |= item_mark(b, 0xe0dd);
	}
	return rc != 0 ? PV_ENOMEM : 0;
}

/* The N-EVENT-REPORT, on a new association to the requester (a configured peer), as PS3.4 J.3.3 allows. */
static void *
report_thread(void *arg)
{
	struct sc_job *j = arg;
	struct assoc fake, *o = NULL;
	struct pair p;
	struct pv_buf ds, cb;
	struct pv_diag d;
	struct dimse_cmd rq, rsp;
	uint8_t ctx = 0;
	int failures = 0, rc;

	memset(&fake, 0, sizeof(fake));
	fake.srv = j->srv;
	fake.id = j->id;
	snprintf(fake.addr, sizeof(fake.addr), "%s", j->addr);
	memset(&p, 0, sizeof(p));
	snprintf(p.cls, sizeof(p.cls), SC_CLASS);
	snprintf(p.ts, sizeof(p.ts), "1.2.840.10008.1.2.1");
	pv_diag_clear(&d);
	pv_buf_init(&ds, (size_t)16 << 20);
	pv_buf_init(&cb, DIMSE_CMD_MAX);
	if ((rc = report_dataset(j, &ds, &failures)) != 0 || (rc = move_open(&fake, &j->peer, &p, 1, 1, &o, &d)) != 0) {
		net__log(&fake, "storage commitment %s: no report to %s: %s", j->tx, j->peer.ae, d.msg);
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.field = DIMSE_N_EVENT_REPORT_RQ;
	rq.msg_id = 1;
	rq.dataset_type = 0x0001;
	rq.event_type = failures == 0 ? 1 : 2;
	snprintf(rq.affected_class, sizeof(rq.affected_class), SC_CLASS);
	snprintf(rq.affected_inst, sizeof(rq.affected_inst), SC_INSTANCE);
	if (o->npc == 0 || dimse_build(&rq, &cb) != 0 ||
	    net__send_pdata(o, o->pc[0].id, 1, cb.data, cb.len, &d) != 0 ||
	    net__send_pdata(o, o->pc[0].id, 0, ds.data, ds.len, &d) != 0 ||
	    net__await_command(o, &rsp, &ctx, &d) != 0 || rsp.field != DIMSE_N_EVENT_REPORT_RSP) {
		net__log(&fake, "storage commitment %s: the report to %s failed: %s", j->tx, j->peer.ae,
		    o->npc == 0 ? "the peer took no storage commitment context" : d.msg);
		move_close(o, 0);
		goto out;
	}
	net__log(&fake, "storage commitment %s: reported to %s: %zu committed, %d failed (status 0x%04X)", j->tx,
	    j->peer.ae, j->n - (size_t)failures, failures, rsp.status);
	move_close(o, 1);
out:
	pv_buf_free(&ds);
	pv_buf_free(&cb);
	free(j->refs);
	pthread_mutex_lock(&j->srv->mu);
	j->srv->active--;   /* the server waits for reports as for associations */
	pthread_cond_broadcast(&j->srv->cv);
	pthread_mutex_unlock(&j->srv->mu);
	free(j);
	return NULL;
}

/* The N-ACTION-RQ's data set: its Transaction UID and referenced instances. */
static int
read_commit_request(struct assoc *a, const struct pctx *pc, struct sc_job *j, char *why, size_t wn)
{
	struct pv_buf file;
	struct dcm_reader *rd = NULL;
	struct dcm_file *f = NULL;
	struct dcm_elem *seq;
	struct pv_diag d;
	int rc = -1;

	pv_diag_clear(&d);
	pv_buf_init(&file, a->data.len + 4096);
	if (net__part10(&file, pc->abstract, SC_INSTANCE, pc->ts, "", a->data.data, a->data.len) != 0 ||
	    dcm_reader_open_mem(file.data, file.len, NULL, &rd, &d) != 0 || dcm_file_read(rd, &f, &d) != 0) {
		snprintf(why, wn, "the request does not parse: %.120s", d.msg);
		pv_buf_free(&file);
		return -1;
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00081195u, j->tx, sizeof(j->tx)) != 0 || j->tx[0] == '\0') {
		snprintf(why, wn, "no Transaction UID");
		goto out;
	}
	if ((seq = dcm_ds_find(&f->ds, 0x00081199u)) == NULL || seq->seq == NULL || seq->seq->nitems == 0 ||
	    seq->seq->nitems > SC_MAX) {
		snprintf(why, wn, "a Referenced SOP Sequence of 1 to %d items is required", SC_MAX);
		goto out;
	}
	if ((j->refs = calloc(seq->seq->nitems, sizeof(*j->refs))) == NULL) {
		snprintf(why, wn, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < seq->seq->nitems; i++) {
		struct sc_ref *r = &j->refs[j->n];

		if (dcm_ds_get_str(f, seq->seq->items[i], 0x00081150u, r->cls, sizeof(r->cls)) != 0 ||
		    dcm_ds_get_str(f, seq->seq->items[i], 0x00081155u, r->inst, sizeof(r->inst)) != 0) {
			snprintf(why, wn, "item %u lacks its SOP class or instance", i + 1);
			goto out;
		}
		j->n++;
	}
	rc = 0;
out:
	dcm_file_free(f);
	pv_buf_free_scrub(&file);
	return rc;
}

int
net__commit(struct assoc *a, const struct pctx *pc, struct pv_diag *d)
{
	const struct net_server_cfg *cfg = a->srv->cfg;
	struct sc_job *j = calloc(1, sizeof(*j));
	struct dimse_cmd rsp;
	const struct net_peer *peer = NULL;
	char why[200] = "";
	size_t have = 0;
	int rc;

	memset(&rsp, 0, sizeof(rsp));
	rsp.field = DIMSE_N_ACTION_RSP;
	rsp.responded_id = a->dc.msg_id;
	rsp.dataset_type = DIMSE_NO_DATASET;
	rsp.action_type = a->dc.action_type;
	snprintf(rsp.affected_class, sizeof(rsp.affected_class), SC_CLASS);
	snprintf(rsp.affected_inst, sizeof(rsp.affected_inst), SC_INSTANCE);
	if (j == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	for (size_t i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].ae, a->calling) == 0)
			peer = &cfg->peers[i];
	if (a->dc.action_type != 1 || strcmp(a->dc.requested_class, SC_CLASS) != 0 ||
	    strcmp(a->dc.requested_inst, SC_INSTANCE) != 0) {
		rsp.status = 0x0123;   /* no such action (or not the well-known instance) */
		net__log(a, "N-ACTION: not a storage commitment request");
	} else if (read_commit_request(a, pc, j, why, sizeof(why)) != 0) {
		rsp.status = DIMSE_PROCESSING_FAILURE;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "%.64s", why);
		net__log(a, "storage commitment refused: %s", why);
	} else if (peer == NULL) {
		/* the report goes on a new association to the requester: it must be a configured peer */
		rsp.status = DIMSE_PROCESSING_FAILURE;
		snprintf(rsp.error_comment, sizeof(rsp.error_comment), "calling AE is not a configured peer");
		net__log(a, "storage commitment refused: the calling AE %s is not a configured [peer]", a->calling);
	} else {
		struct pv_diag sd;

		/* each instance: in the vault, with that SOP class (checked through svc, as this user) */
		for (size_t i = 0; i < j->n; i++) {
			pv_diag_clear(&sd);
			j->refs[i].have = svc_committed(a->srv->s, &a->p, j->refs[i].cls, j->refs[i].inst, &sd) == 1;
			have += (size_t)j->refs[i].have;
		}
		rsp.status = DIMSE_SUCCESS;
		net__log(a, "storage commitment %s: %zu of %zu instances held; report to follow", j->tx, have, j->n);
	}
	rc = net__send_rsp(a, &rsp, d);
	if (rsp.status == DIMSE_SUCCESS && rc == 0) {
		pthread_t th;
		pthread_attr_t at;

		j->srv = a->srv;
		j->peer = *peer;
		j->id = a->id;
		snprintf(j->addr, sizeof(j->addr), "%s", a->addr);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&a->srv->mu);
		a->srv->active++;
		pthread_mutex_unlock(&a->srv->mu);
		if (pthread_create(&th, &at, report_thread, j) == 0) {
			pthread_attr_destroy(&at);
			return 0;
		}
		pthread_attr_destroy(&at);
		pthread_mutex_lock(&a->srv->mu);
		a->srv->active--;
		pthread_mutex_unlock(&a->srv->mu);
		net__log(a, "storage commitment %s: no thread for the report", j->tx);
	}
	free(j->refs);
	free(j);
	return rc;
}
