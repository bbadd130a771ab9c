/*
 * server.c: the DIMSE listener (see server.h).
 *
 * One thread per association, capped (max_assoc overall, max_per_addr per
 * peer address); a refused connection gets an A-ASSOCIATE-RJ (transient,
 * local limit exceeded) before it is closed. Timers: ARTIM from accept to
 * the A-ASSOCIATE-RQ (and for the TLS handshake), the idle timeout between
 * PDUs, and a deadline for each PDU's body (30 s plus one second per MiB),
 * so a peer that trickles bytes holds its thread no longer than that. Every
 * length is checked before anything is allocated for it.
 *
 * The association's state follows PS3.8 table 9-10 for an acceptor: Sta2
 * (transport open, waiting for A-ASSOCIATE-RQ), Sta6 (established), Sta13
 * (waiting for the transport to close); a PDU that is not allowed in a
 * state is answered with A-ABORT (source: service provider, reason:
 * unexpected PDU) and the connection closed.
 */
#include "pacsvault/net/server.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/dicom/sopclass.h"
#include "pacsvault/dicom/ts.h"
#include "pacsvault/dicom/writer.h"
#include "pacsvault/net/dimse.h"
#include "pacsvault/net/tls.h"
#include "pacsvault/net/ul.h"
#include "pacsvault/svc/users.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VERIFICATION "1.2.840.10008.1.1"
#define ASSOC_PDU_MAX (256u * 1024)   /* the largest non-data PDU accepted */

void
net_server_cfg_init(struct net_server_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->ae_title, sizeof(c->ae_title), "PACSVAULT");
	c->max_assoc = 64;
	c->max_per_addr = 16;
	c->max_per_user = 16;
	c->max_pdu = 65536;
	c->max_dataset = (uint64_t)2 << 30;
	c->idle_timeout_s = 60;
	c->artim_timeout_s = 30;
	c->http_timeout_s = 10;
	c->anonymous = NET_ANON_ECHO;
}

int
net_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
net_server_unsafe(const struct net_server_cfg *cfg, size_t nusers, char *out, size_t n)
{
	size_t len = 0;
	int bad = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->nhttp; i++) {
		const char *h = cfg->http[i].host;

		if (net_host_is_loopback(h))
			continue;
		if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0') {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "http %s:%s is not on loopback and TLS "
			    "is off: set tls_cert and tls_key\n", h, cfg->http[i].port);
			bad = 1;
		}
		if (nusers == 0) {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "http %s:%s is not on loopback and "
			    "there are no users: add them with 'pacsvault user add'\n", h, cfg->http[i].port);
			bad = 1;
		}
	}
	for (size_t i = 0; i < cfg->ndimse; i++) {
		const char *h = cfg->dimse[i].host;
		int tls = cfg->tls_cert[0] != '\0' && cfg->tls_key[0] != '\0';

		if (net_host_is_loopback(h))
			continue;
		if (!tls) {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "dimse %s:%s is not on loopback and TLS "
			    "is off: set tls_cert and tls_key\n", h, cfg->dimse[i].port);
			bad = 1;
		}
		if (nusers == 0) {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "dimse %s:%s is not on loopback and "
			    "there are no users: add them with 'pacsvault user add'\n", h, cfg->dimse[i].port);
			bad = 1;
		}
		if (cfg->anonymous != NET_ANON_NONE) {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "dimse %s:%s is not on loopback and "
			    "anonymous peers may echo: set anonymous = none\n", h, cfg->dimse[i].port);
			bad = 1;
		}
		if (tls && cfg->client_cert_optional && nusers == 0) {
			len += (size_t)snprintf(out + len, len < n ? n - len : 0, "dimse %s:%s takes clients without "
			    "certificates and there are no users\n", h, cfg->dimse[i].port);
			bad = 1;
		}
	}
	return bad;
}

/* ---- the server ---- */

#include "server_int.h"

void
net__log(const struct assoc *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "pacsvault serve: [%llu] %s ", (unsigned long long)a->id, a->addr);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

static int
send_out(struct assoc *a, struct pv_diag *d)
{
	int rc = net_conn_write(a->c, a->out.data, a->out.len, d);

	pv_buf_reset(&a->out);
	return rc;
}

static void
send_abort(struct assoc *a, uint8_t source, uint8_t reason)
{
	struct pv_diag d;

	pv_diag_clear(&d);
	pv_buf_reset(&a->out);
	if (ul_build_abort(source, reason, &a->out) == 0)
		(void)send_out(a, &d);
}

static void
send_reject(struct assoc *a, uint8_t result, uint8_t source, uint8_t reason)
{
	struct ul_reject r = { result, source, reason };
	struct pv_diag d;

	pv_diag_clear(&d);
	pv_buf_reset(&a->out);
	if (ul_build_reject(&r, &a->out) == 0)
		(void)send_out(a, &d);
}

/* Sends bytes as PDVs of ctx, each P-DATA-TF within the peer's maximum length. */
int
net__send_pdata(struct assoc *a, uint8_t ctx, int command, const void *p, size_t n, struct pv_diag *d)
{
	size_t max = a->peer_max != 0 && a->peer_max > 6 ? a->peer_max - 6 : (size_t)1 << 20;
	const uint8_t *q = p;

	if (max > ((size_t)1 << 20))
		max = (size_t)1 << 20;
	do {
		size_t k = n > max ? max : n;
		int rc;

		pv_buf_reset(&a->out);
		if (ul_build_pdata(ctx, command, k == n, q, k, &a->out) != 0)
			return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		if ((rc = send_out(a, d)) != 0)
			return rc;
		q += k;
		n -= k;
	} while (n > 0);
	return 0;
}

int
net__send_rsp(struct assoc *a, const struct dimse_cmd *rsp, struct pv_diag *d)
{
	struct pv_buf b;
	int rc;

	pv_buf_init(&b, DIMSE_CMD_MAX);
	if (dimse_build(rsp, &b) != 0) {
		pv_buf_free(&b);
		return pv_diag_set(d, PV_ENOMEM, -1, "cannot build the response");
	}
	rc = net__send_pdata(a, a->cmd_ctx, 1, b.data, b.len, d);
	pv_buf_free(&b);
	return rc;
}

const struct pctx *
ctx_of(const struct assoc *a, uint8_t id)
{
	for (size_t i = 0; i < a->npc; i++)
		if (a->pc[i].id == id && a->pc[i].accepted)
			return &a->pc[i];
	return NULL;
}

/* ---- negotiation ---- */

static int
role_stores(int role)
{
	return role == SVC_MODALITY || role == SVC_CLINICIAN;
}

static int
role_queries(int role)
{
	return role == SVC_CLINICIAN || role == SVC_RESEARCH;
}

/* The transfer syntax to accept among those proposed: Explicit VR Little Endian first; for storage, any known one. */
static const char *
pick_ts(const struct ul_pctx *pc, int storage)
{
	static const char *const pref[] = { "1.2.840.10008.1.2.1", "1.2.840.10008.1.2" };

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < pc->nts; i++)
			if (strcmp(pc->ts[i], pref[k]) == 0)
				return pc->ts[i];
	if (storage)
		for (size_t i = 0; i < pc->nts; i++) {
			const struct dcm_ts *t = dcm_ts_lookup(pc->ts[i], strlen(pc->ts[i]));

			if (t != NULL && t->known)
				return pc->ts[i];
		}
	return NULL;
}

/* Builds the A-ASSOCIATE-AC for rq into a->out, recording the contexts accepted. */
static int
negotiate(struct assoc *a, const struct ul_assoc *rq, struct ul_assoc *ac)
{
	size_t accepted = 0;
	int role = a->authenticated ? a->user.role : -1;

	memset(ac, 0, sizeof(*ac));
	ac->type = UL_ASSOCIATE_AC;
	snprintf(ac->called, sizeof(ac->called), "%s", rq->called);
	snprintf(ac->calling, sizeof(ac->calling), "%s", rq->calling);
	ac->max_pdu = a->srv->cfg->max_pdu;
	snprintf(ac->impl_uid, sizeof(ac->impl_uid), "%s", DCM_IMPL_CLASS_UID);
	snprintf(ac->impl_version, sizeof(ac->impl_version), "%s", DCM_IMPL_VERSION_NAME);
	a->npc = 0;
	for (size_t i = 0; i < rq->npc; i++) {
		const struct ul_pctx *pc = &rq->pc[i];
		struct ul_pctx *out = &ac->pc[ac->npc++];
		struct pctx *mine = &a->pc[a->npc++];
		int verification = strcmp(pc->abstract, VERIFICATION) == 0;
		int storage = dcm_storage_class(pc->abstract) != NULL;
		int find = net__is_find_model(pc->abstract) || net__is_get_model(pc->abstract) ||
		    net__is_move_model(pc->abstract);
		const char *ts = NULL;
		int peer_scp = 0;

		out->id = pc->id;
		mine->id = pc->id;
		snprintf(mine->abstract, sizeof(mine->abstract), "%s", pc->abstract);
		/* a storage class the peer proposes to take as SCP: for C-GET's sub-operations */
		for (size_t k = 0; k < rq->nroles; k++)
			if (strcmp(rq->roles[k].uid, pc->abstract) == 0 && rq->roles[k].scp)
				peer_scp = 1;
		mine->peer_scp = storage && peer_scp && role_queries(role);
		if (!verification && !(storage && (role_stores(role) || mine->peer_scp)) && !(find && role_queries(role)) &&
		    !(net__is_commitment(pc->abstract) && role_stores(role))) {
			/* not a service this peer may use: the same answer as an unknown one */
			out->result = UL_PC_ABSTRACT_NOT_SUPPORTED;
			continue;
		}
		if ((ts = pick_ts(pc, storage)) == NULL) {
			out->result = UL_PC_TS_NOT_SUPPORTED;
			continue;
		}
		out->result = UL_PC_ACCEPT;
		snprintf(out->ts[0], sizeof(out->ts[0]), "%s", ts);
		out->nts = 1;
		mine->accepted = 1;
		snprintf(mine->ts, sizeof(mine->ts), "%s", ts);
		accepted++;
	}
	/* role selection: the peer as SCP of the storage classes accepted for it (C-GET), as SCU as proposed */
	for (size_t k = 0; k < rq->nroles && ac->nroles < UL_MAX_PCTX; k++) {
		struct ul_role *r = &ac->roles[ac->nroles];
		int granted = 0;

		for (size_t i = 0; i < a->npc; i++)
			granted |= a->pc[i].accepted && a->pc[i].peer_scp && strcmp(a->pc[i].abstract, rq->roles[k].uid) == 0;
		*r = rq->roles[k];
		r->scp = (uint8_t)(rq->roles[k].scp && granted);
		ac->nroles++;
	}
	if (rq->has_identity && rq->identity.positive_response && a->authenticated)
		ac->has_identity = 1;   /* types 1 and 2: an empty server response */
	return (int)accepted;
}

/* ---- services ---- */

/* Part 10 bytes for a received data set: preamble, DICM, the meta group (Explicit VR Little Endian). */
static int
meta_el(struct pv_buf *b, uint16_t elem, const char vr[2], const char *v, size_t n, char pad)
{
	uint8_t h[8] = { 2, 0, (uint8_t)elem, (uint8_t)(elem >> 8), (uint8_t)vr[0], (uint8_t)vr[1] };
	size_t len = n + (n & 1);

	if (vr[0] == 'O' && vr[1] == 'B') {
		uint8_t l4[4] = { (uint8_t)len, (uint8_t)(len >> 8), 0, 0 };

		if (pv_buf_append(b, h, 6) != 0 || pv_buf_append(b, "\0\0", 2) != 0 || pv_buf_append(b, l4, 4) != 0)
			return PV_ENOMEM;
	} else {
		h[6] = (uint8_t)len;
		h[7] = (uint8_t)(len >> 8);
		if (pv_buf_append(b, h, 8) != 0)
			return PV_ENOMEM;
	}
	if (pv_buf_append(b, v, n) != 0 || ((n & 1) && pv_buf_putc(b, pad) != 0))
		return PV_ENOMEM;
	return 0;
}

int
net__part10(struct pv_buf *b, const char *cls, const char *inst, const char *ts, const char *source_ae,
    const void *ds, size_t n)
{
	size_t at;
	uint32_t gl;
	uint8_t *g;

	if (pv_buf_fill(b, 0, 128) != 0 || pv_buf_append(b, "DICM", 4) != 0)
		return PV_ENOMEM;
	at = b->len;
	if (meta_el(b, 0x0000, "UL", "\0\0\0\0", 4, 0) != 0 || meta_el(b, 0x0001, "OB", "\0\1", 2, 0) != 0 ||
	    meta_el(b, 0x0002, "UI", cls, strlen(cls), '\0') != 0 ||
	    meta_el(b, 0x0003, "UI", inst, strlen(inst), '\0') != 0 ||
	    meta_el(b, 0x0010, "UI", ts, strlen(ts), '\0') != 0 ||
	    meta_el(b, 0x0012, "UI", DCM_IMPL_CLASS_UID, strlen(DCM_IMPL_CLASS_UID), '\0') != 0 ||
	    meta_el(b, 0x0013, "SH", DCM_IMPL_VERSION_NAME, strlen(DCM_IMPL_VERSION_NAME), ' ') != 0 ||
	    (source_ae[0] != '\0' && meta_el(b, 0x0016, "AE", source_ae, strlen(source_ae), ' ') != 0))
		return PV_ENOMEM;
	gl = (uint32_t)(b->len - at - 12);
	g = (uint8_t *)b->data + at + 8;
	g[0] = (uint8_t)gl;
	g[1] = (uint8_t)(gl >> 8);
	g[2] = (uint8_t)(gl >> 16);
	g[3] = (uint8_t)(gl >> 24);
	return n > 0 && pv_buf_append(b, ds, n) != 0 ? PV_ENOMEM : 0;
}

static int
do_echo(struct assoc *a, struct pv_diag *d)
{
	struct dimse_cmd r;

	memset(&r, 0, sizeof(r));
	r.field = DIMSE_C_ECHO_RSP;
	r.responded_id = a->dc.msg_id;
	snprintf(r.affected_class, sizeof(r.affected_class), "%s", VERIFICATION);
	r.dataset_type = DIMSE_NO_DATASET;
	r.status = DIMSE_SUCCESS;
	net__log(a, "C-ECHO");
	return net__send_rsp(a, &r, d);
}

static int
do_store(struct assoc *a, const struct pctx *pc, struct pv_diag *d)
{
	struct dimse_cmd r;
	struct pv_diag sd;
	char reason[256] = "";
	const char *what;
	int st = -1, rc;

	memset(&r, 0, sizeof(r));
	r.field = DIMSE_C_STORE_RSP;
	r.responded_id = a->dc.msg_id;
	r.dataset_type = DIMSE_NO_DATASET;
	snprintf(r.affected_class, sizeof(r.affected_class), "%s", a->dc.affected_class);
	snprintf(r.affected_inst, sizeof(r.affected_inst), "%s", a->dc.affected_inst);
	pv_diag_clear(&sd);
	if (strcmp(a->dc.affected_class, pc->abstract) != 0) {
		r.status = DIMSE_DATASET_NO_MATCH;
		snprintf(r.error_comment, sizeof(r.error_comment), "SOP class is not the context's");
		what = "refused: SOP class is not the context's";
	} else {
		/* a->data holds the Part 10 head (written when the command came) and the data set after it */
		if (a->data_off == 0) {
			r.status = DIMSE_OUT_OF_RESOURCES;
			what = "no file head";
		} else if ((rc = svc_ingest_mem(a->srv->s, &a->p, a->data.data, a->data.len, "C-STORE", &st, reason,
		    sizeof(reason), &sd)) == PV_EAUTH) {
			r.status = DIMSE_REFUSED_NOT_AUTHORIZED;
			what = "refused: the role may not store";
		} else if (rc != 0) {
			r.status = DIMSE_OUT_OF_RESOURCES;
			what = "failed";
		} else {
			switch (st) {
			case VAULT_STORED: r.status = DIMSE_SUCCESS; what = "stored"; break;
			case VAULT_DUPLICATE: r.status = DIMSE_SUCCESS; what = "already stored"; break;
			case VAULT_CONFLICT:
				r.status = 0x0111;   /* Failure: Duplicate SOP Instance */
				snprintf(r.error_comment, sizeof(r.error_comment), "another instance has this SOP Instance UID");
				what = "conflict: not stored";
				break;
			case VAULT_QUARANTINED:
				r.status = DIMSE_CANNOT_UNDERSTAND;
				snprintf(r.error_comment, sizeof(r.error_comment), "not a readable data set: quarantined");
				what = "quarantined";
				break;
			default:
				r.status = DIMSE_OUT_OF_RESOURCES;
				what = "failed";
				break;
			}
		}
	}
	net__log(a, "C-STORE %s: %s%s%s", dcm_storage_class(a->dc.affected_class) != NULL ?
	    dcm_storage_class(a->dc.affected_class)->name : "?", what, sd.code != 0 ? ": " : "", sd.code != 0 ? sd.msg : "");
	return net__send_rsp(a, &r, d);
}

/* One whole DIMSE message (command, and its data set when it has one). */
static int
dispatch(struct assoc *a, struct pv_diag *d)
{
	const struct pctx *pc = ctx_of(a, a->cmd_ctx);
	struct dimse_cmd r;

	if (a->dc.field == DIMSE_C_ECHO_RQ && strcmp(pc->abstract, VERIFICATION) == 0)
		return do_echo(a, d);
	if (a->dc.field == DIMSE_C_STORE_RQ && dcm_storage_class(pc->abstract) != NULL)
		return do_store(a, pc, d);
	if (a->dc.field == DIMSE_C_FIND_RQ && net__is_find_model(pc->abstract))
		return net__find(a, pc, d);
	if (a->dc.field == DIMSE_C_GET_RQ && net__is_get_model(pc->abstract))
		return net__get(a, pc, d);
	if (a->dc.field == DIMSE_C_MOVE_RQ && net__is_move_model(pc->abstract))
		return net__move(a, pc, d);
	if (a->dc.field == DIMSE_N_ACTION_RQ && net__is_commitment(pc->abstract))
		return net__commit(a, pc, d);
	if (a->dc.field == DIMSE_C_CANCEL_RQ)
		return 0;
	net__log(a, "%s on a %s context: not supported", dimse_name(a->dc.field), pc->abstract);
	if (a->dc.field & 0x8000)
		return 0;   /* a response we did not ask for: ignored */
	memset(&r, 0, sizeof(r));
	r.field = (uint16_t)(a->dc.field | 0x8000);
	r.responded_id = a->dc.msg_id;
	r.dataset_type = DIMSE_NO_DATASET;
	r.status = DIMSE_UNRECOGNIZED_OPERATION;
	snprintf(r.affected_class, sizeof(r.affected_class), "%s", pc->abstract);
	return net__send_rsp(a, &r, d);
}

/* A P-DATA-TF: its PDVs into the command or data set in hand; each complete message dispatched. */
static int
pdata(struct assoc *a, const uint8_t *body, size_t n, struct pv_diag *d)
{
	struct ul_pdv v;
	size_t off = 0;
	int r;

	while ((r = ul_next_pdv(body, n, &off, &v, d)) == 1) {
		if (ctx_of(a, v.ctx) == NULL)
			return pv_diag_set(d, PV_EPARSE, -1, "a PDV on presentation context %u, which was not accepted",
			    v.ctx);
		if (v.command) {
			if (a->have_cmd)
				return pv_diag_set(d, PV_EPARSE, -1, "a command while a data set was expected");
			if (a->cmd.len > 0 && v.ctx != a->cmd_ctx)
				return pv_diag_set(d, PV_EPARSE, -1, "command fragments on two contexts");
			a->cmd_ctx = v.ctx;
			if (pv_buf_append(&a->cmd, v.data, v.len) != 0)
				return pv_diag_set(d, PV_ELIMIT, -1, "a command set over %d bytes", DIMSE_CMD_MAX);
			if (!v.last)
				continue;
			if ((r = dimse_parse((const uint8_t *)a->cmd.data, a->cmd.len, &a->dc, d)) != 0)
				return r;
			pv_buf_reset(&a->cmd);
			if (a->dc.dataset_type != DIMSE_NO_DATASET) {
				a->have_cmd = 1;
				/* a C-STORE's data set lands after its Part 10 head, so that the vault takes it as it is */
				a->data_off = 0;
				if (a->dc.field == DIMSE_C_STORE_RQ && dcm_storage_class(ctx_of(a, v.ctx)->abstract) != NULL) {
					if (net__part10(&a->data, a->dc.affected_class, a->dc.affected_inst, ctx_of(a, v.ctx)->ts,
					    a->calling, NULL, 0) != 0)
						return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
					a->data_off = a->data.len;
				}
				continue;
			}
		} else {
			if (!a->have_cmd || v.ctx != a->cmd_ctx)
				return pv_diag_set(d, PV_EPARSE, -1, "a data set without its command");
			if (pv_buf_append(&a->data, v.data, v.len) != 0)
				return pv_diag_set(d, PV_ELIMIT, -1, "a data set over %llu bytes",
				    (unsigned long long)a->srv->cfg->max_dataset);
			if (!v.last)
				continue;
			a->have_cmd = 0;
		}
		r = dispatch(a, d);
		/* the data set scrubbed; the buffer kept for the next one (freed when it grew past 64 MiB) */
		if (a->data.cap > ((size_t)64 << 20)) {
			pv_buf_free_scrub(&a->data);
			pv_buf_init(&a->data, a->srv->cfg->max_dataset + DATA_HEAD);
		} else {
			if (a->data.data != NULL)
				explicit_bzero(a->data.data, a->data.len);
			pv_buf_reset(&a->data);
		}
		a->data_off = 0;
		if (r != 0)
			return r;
	}
	return r;
}

/* ---- the association ---- */

/* Reads one PDU: 1 with type and body, 0 when the peer closed between PDUs or the server stops, < 0 on error. */
int
net__read_pdu(struct assoc *a, int64_t idle_deadline, uint8_t *type, struct pv_buf *body, int in_assoc,
    struct pv_diag *d)
{
	uint8_t h[UL_HEADER];
	uint32_t len, max;
	size_t got = 0;
	int rc;

	/* the header, in one-second slices so that a stop is seen */
	for (;;) {
		int64_t now = net_now_ms(), until = now + 1000;

		if (*a->srv->stop)
			return 0;
		if (now >= idle_deadline)
			return pv_diag_set(d, PV_EIO, -1, "%s timer expired", in_assoc ? "idle" : "ARTIM");
		if (until > idle_deadline)
			until = idle_deadline;
		rc = net_conn_read(a->c, h, 1, until, &got, d);
		if (rc == 0)
			break;
		if (rc == PV_ETRUNC)
			return 0;
		if (d->code == PV_EIO && strstr(d->msg, "timed out") != NULL) {
			pv_diag_clear(d);
			continue;
		}
		return rc;
	}
	if ((rc = net_conn_read(a->c, h + 1, UL_HEADER - 1, net_now_ms() + 30000, NULL, d)) != 0)
		return rc;
	max = !in_assoc ? ASSOC_PDU_MAX : h[0] == UL_P_DATA_TF ? a->srv->cfg->max_pdu : ASSOC_PDU_MAX;
	if ((rc = ul_header(h, max, type, &len, d)) != 0)
		return rc;
	pv_buf_reset(body);
	if (len > 0 && (pv_buf_fill(body, 0, len) != 0))
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (len > 0 && (rc = net_conn_read(a->c, body->data, len, net_now_ms() + 30000 + (int64_t)(len >> 20) * 1000,
	    NULL, d)) != 0)
		return rc;
	return 1;
}

int
net__await_command(struct assoc *a, struct dimse_cmd *c, uint8_t *ctx, struct pv_diag *d)
{
	struct pv_buf body, cmd;
	uint8_t type;
	int rc = 0;

	pv_buf_init(&body, (size_t)a->srv->cfg->max_pdu + ASSOC_PDU_MAX);
	pv_buf_init(&cmd, DIMSE_CMD_MAX);
	for (;;) {
		struct ul_pdv v;
		size_t off = 0;
		int r, done = 0;

		r = net__read_pdu(a, net_now_ms() + (int64_t)a->srv->cfg->idle_timeout_s * 1000, &type, &body, 1, d);
		if (r <= 0) {
			rc = r == 0 ? pv_diag_set(d, PV_ETRUNC, -1, "the peer closed the association mid-operation") : r;
			break;
		}
		if (type != UL_P_DATA_TF) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "PDU type %u while a response was awaited", type);
			break;
		}
		while ((r = ul_next_pdv((const uint8_t *)body.data, body.len, &off, &v, d)) == 1) {
			if (!v.command || ctx_of(a, v.ctx) == NULL) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "a data set while a response was awaited");
				break;
			}
			if (pv_buf_append(&cmd, v.data, v.len) != 0) {
				rc = pv_diag_set(d, PV_ELIMIT, -1, "a command set over %d bytes", DIMSE_CMD_MAX);
				break;
			}
			if (v.last) {
				*ctx = v.ctx;
				rc = dimse_parse((const uint8_t *)cmd.data, cmd.len, c, d);
				done = 1;
				break;
			}
		}
		if (r < 0)
			rc = r;
		if (rc != 0 || done)
			break;
	}
	pv_buf_free(&body);
	pv_buf_free(&cmd);
	return rc;
}

/* Counts the association against its user's limit; 0 when the user is at the limit. */
static int
user_slot(struct assoc *a)
{
	struct server *srv = a->srv;
	size_t slot = ADDRS_MAX;
	int ok = 0;

	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < ADDRS_MAX; i++) {
		if (srv->users[i].n > 0 && strcmp(srv->users[i].addr, a->user.name) == 0) {
			slot = i;
			break;
		}
		if (srv->users[i].n == 0 && slot == ADDRS_MAX)
			slot = i;
	}
	if (slot < ADDRS_MAX && srv->users[slot].n < srv->cfg->max_per_user) {
		if (srv->users[slot].n == 0)
			snprintf(srv->users[slot].addr, sizeof(srv->users[slot].addr), "%s", a->user.name);
		srv->users[slot].n++;
		a->user_counted = 1;
		ok = 1;
	}
	pthread_mutex_unlock(&srv->mu);
	return ok;
}

static void
principal_of(struct assoc *a)
{
	memset(&a->p, 0, sizeof(a->p));
	a->p.name = a->user.name;
	a->p.role = a->user.role;
	a->p.auth = a->user.pin[0] != '\0' ? "tls-certificate" : "password";
	a->p.addr = a->addr;
	a->p.ae = a->calling;
	a->p.project = a->user.project[0] != '\0' ? a->user.project : NULL;
	a->p.via = "dimse";
}

static void
run_assoc(struct assoc *a)
{
	const struct net_server_cfg *cfg = a->srv->cfg;
	struct ul_assoc *rq = NULL, *ac = NULL;
	struct pv_buf body;
	struct pv_diag d;
	uint8_t type = 0;
	int rc, accepted;

	pv_diag_clear(&d);
	pv_buf_init(&body, (size_t)cfg->max_pdu + ASSOC_PDU_MAX);
	/* TLS first (within ARTIM): nothing DICOM is read before the handshake */
	rc = net_conn_accept(a->srv->tls, a->fd, cfg->artim_timeout_s * 1000, &a->c, &d);
	a->fd = -1;
	if (rc != 0) {
		struct pv_diag ad;
		char why[sizeof(d.msg)];

		net__log(a, "connection refused: %s", d.msg);
		/* a failed handshake is an authentication failure too (no certificate, not TLS at all) */
		snprintf(why, sizeof(why), "%s", d.msg);
		pv_diag_clear(&ad);
		if (a->srv->tls != NULL && svc_auth_refused(a->srv->s, a->addr, "dimse", why, &ad) != 0)
			net__log(a, "cannot write the event: %s", ad.msg);
		goto done;
	}
	if ((rq = calloc(1, sizeof(*rq))) == NULL || (ac = calloc(1, sizeof(*ac))) == NULL)
		goto done;
	/* Sta2: the A-ASSOCIATE-RQ, before ARTIM expires. */
	rc = net__read_pdu(a, net_now_ms() + (int64_t)cfg->artim_timeout_s * 1000, &type, &body, 0, &d);
	if (rc <= 0) {
		net__log(a, "no association: %s", rc == 0 ? "closed" : d.msg);
		goto done;
	}
	if (type != UL_ASSOCIATE_RQ) {
		net__log(a, "a PDU of type %u before A-ASSOCIATE-RQ: aborted", type);
		send_abort(a, 2, 2);
		goto done;
	}
	if (ul_parse_assoc(type, (const uint8_t *)body.data, body.len, rq, &d) != 0) {
		net__log(a, "A-ASSOCIATE-RQ malformed: %s", d.msg);
		send_reject(a, 1, 1, 1);
		goto done;
	}
	snprintf(a->calling, sizeof(a->calling), "%s", rq->calling);
	a->peer_max = rq->max_pdu;
	if (strcmp(rq->app_context, UL_APP_CONTEXT) != 0) {
		net__log(a, "%s -> %s: application context not supported: rejected", rq->calling, rq->called);
		send_reject(a, 1, 1, 2);
		goto done;
	}
	if ((rq->version & 1) == 0) {
		send_reject(a, 1, 2, 2);
		goto done;
	}
	if (strcmp(rq->called, cfg->ae_title) != 0) {
		net__log(a, "%s -> %s: called AE title not this server's: rejected", rq->calling, rq->called);
		send_reject(a, 1, 1, 7);
		goto done;
	}
	/* Who is it: its certificate, or the user identity it sent; AE titles are not credentials. */
	{
		struct svc_credentials cr;
		char pin[65], name[UL_IDENTITY_MAX + 1];

		memset(&cr, 0, sizeof(cr));
		if (net_conn_peer_pin(a->c, pin) == 0)
			cr.pin = pin;
		if (rq->has_identity) {
			size_t n = rq->identity.nprimary;

			memcpy(name, rq->identity.primary, n);
			name[n] = '\0';
			cr.id_type = rq->identity.type == 1 || rq->identity.type == 2 ? rq->identity.type : 3;
			cr.id_name = name;
			cr.id_secret = (const char *)rq->identity.secondary;
			cr.id_secret_len = rq->identity.nsecondary;
		}
		cr.addr = a->addr;
		cr.ae = a->calling;
		cr.via = "dimse";
		if (cr.id_type == 3) {
			net__log(a, "%s -> %s: user identity type %u (Kerberos, SAML or JWT) not supported: rejected",
			    rq->calling, rq->called, rq->identity.type);
			send_reject(a, 1, 1, 1);
			goto done;
		}
		pv_diag_clear(&d);
		rc = svc_authenticate(a->srv->s, &cr, &a->user, &d);
		pv_cleanse(rq->identity.secondary, sizeof(rq->identity.secondary));
		if (rc == 0 && !user_slot(a)) {
			net__log(a, "%s -> %s: user %s has %u associations open (max_associations_per_user): rejected",
			    rq->calling, rq->called, a->user.name, cfg->max_per_user);
			send_reject(a, 2, 2, 2);   /* transient, provider (ACSE), local limit exceeded */
			goto done;
		}
		if (rc == 0) {
			a->authenticated = 1;
			principal_of(a);
		} else if (rc == PV_ENOTFOUND && cfg->anonymous == NET_ANON_ECHO) {
			a->authenticated = 0;   /* Verification only */
		} else {
			net__log(a, "%s -> %s: %s: rejected", rq->calling, rq->called, rc == PV_ENOTFOUND ?
			    "no credentials (a client certificate or a user identity)" : d.msg);
			send_reject(a, 1, 1, 1);
			goto done;
		}
	}
	accepted = negotiate(a, rq, ac);
	pv_buf_reset(&a->out);
	if (ul_build_assoc(ac, &a->out) != 0 || send_out(a, &d) != 0) {
		net__log(a, "cannot answer the A-ASSOCIATE-RQ: %s", d.msg);
		goto done;
	}
	net__log(a, "%s -> %s: %s%s%s (%s), %s, %d of %zu contexts accepted", rq->calling, rq->called,
	    a->authenticated ? "user " : "anonymous", a->authenticated ? a->user.name : "",
	    "", a->authenticated ? svc_role_name(a->user.role) : "echo only", net_conn_protocol(a->c), accepted,
	    rq->npc);
	/* Sta6: established. */
	for (;;) {
		pv_diag_clear(&d);
		rc = net__read_pdu(a, net_now_ms() + (int64_t)cfg->idle_timeout_s * 1000, &type, &body, 1, &d);
		if (rc == 0) {
			if (*a->srv->stop) {
				net__log(a, "server stopping: aborted");
				send_abort(a, 0, 0);
			} else {
				net__log(a, "the peer closed the connection without a release");
			}
			break;
		}
		if (rc < 0) {
			net__log(a, "%s: aborted", d.msg);
			send_abort(a, 2, rc == PV_ELIMIT || rc == PV_EPARSE ? 6 : 0);
			break;
		}
		if (type == UL_P_DATA_TF) {
			if ((rc = pdata(a, (const uint8_t *)body.data, body.len, &d)) != 0) {
				net__log(a, "%s: aborted", d.msg);
				send_abort(a, 2, 6);
				break;
			}
			continue;
		}
		if (type == UL_RELEASE_RQ) {
			pv_buf_reset(&a->out);
			if (ul_build_release(UL_RELEASE_RP, &a->out) == 0)
				(void)send_out(a, &d);
			net__log(a, "released");
			break;
		}
		if (type == UL_ABORT) {
			net__log(a, "aborted by the peer");
			break;
		}
		net__log(a, "unexpected PDU type %u: aborted", type);
		send_abort(a, 2, 2);
		break;
	}
done:
	pv_buf_free(&body);
	free(rq);
	free(ac);
}

static void *
assoc_thread(void *arg)
{
	struct assoc *a = arg;
	struct server *srv = a->srv;

	run_assoc(a);
	net_conn_close(a->c);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	net__conn_done(a);
	(void)srv;
	return NULL;
}

void
net__conn_done(struct assoc *a)
{
	struct server *srv = a->srv;

	pv_buf_free(&a->cmd);
	pv_buf_free_scrub(&a->data);
	pv_buf_free(&a->out);
	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < ADDRS_MAX; i++)
		if (srv->addrs[i].n > 0 && strcmp(srv->addrs[i].addr, a->addr) == 0) {
			srv->addrs[i].n--;
			break;
		}
	for (size_t i = 0; a->user_counted && i < ADDRS_MAX; i++)
		if (srv->users[i].n > 0 && strcmp(srv->users[i].addr, a->user.name) == 0) {
			srv->users[i].n--;
			break;
		}
	srv->active--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	pv_cleanse(&a->user, sizeof(a->user));
	free(a);
}

int
net__serve_fd(struct svc *s, const struct net_server_cfg *cfg, int fd)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct assoc *a = calloc(1, sizeof(*a));
	static volatile sig_atomic_t never;

	if (srv == NULL || a == NULL) {
		free(srv);
		free(a);
		close(fd);
		return PV_ENOMEM;
	}
	srv->s = s;
	srv->cfg = cfg;
	srv->stop = &never;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->cv, NULL);
	srv->active = 1;
	a->srv = srv;
	a->fd = fd;
	a->id = 1;
	snprintf(a->addr, sizeof(a->addr), "fuzz");
	pv_buf_init(&a->cmd, DIMSE_CMD_MAX);
	pv_buf_init(&a->data, cfg->max_dataset + DATA_HEAD);
	pv_buf_init(&a->out, (size_t)2 << 20);
	assoc_thread(a);   /* frees a; the server's counts go back to zero */
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	free(srv);
	return 0;
}

static int
listen_on(const struct net_endpoint *e, struct pv_diag *d)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(e->host, e->port, &hints, &res)) != 0)
		return pv_diag_set(d, PV_EINVAL, -1, "%s:%s: %s", e->host, e->port, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return pv_diag_set(d, PV_EIO, -1, "%s:%s: cannot listen: %s", e->host, e->port, strerror(errno));
	return fd;
}

static void
take(struct server *srv, int lfd, int web)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64] = "?", port[8] = "?";
	struct assoc *a;
	pthread_t th;
	pthread_attr_t at;
	int fd, one = 1, over = 0;
	size_t slot = ADDRS_MAX;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC)) < 0)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return;
	}
	a->srv = srv;
	snprintf(a->addr, sizeof(a->addr), "%s", host);
	pv_buf_init(&a->cmd, DIMSE_CMD_MAX);
	pv_buf_init(&a->data, srv->cfg->max_dataset + DATA_HEAD);
	pv_buf_init(&a->out, (size_t)2 << 20);
	pthread_mutex_lock(&srv->mu);
	a->id = ++srv->next_id;
	for (size_t i = 0; i < ADDRS_MAX; i++) {
		if (srv->addrs[i].n > 0 && strcmp(srv->addrs[i].addr, host) == 0) {
			slot = i;
			break;
		}
		if (srv->addrs[i].n == 0 && slot == ADDRS_MAX)
			slot = i;
	}
	if (srv->active >= srv->cfg->max_assoc || slot == ADDRS_MAX ||
	    (strcmp(srv->addrs[slot].addr, host) == 0 && srv->addrs[slot].n >= srv->cfg->max_per_addr))
		over = 1;
	else {
		if (srv->addrs[slot].n == 0)
			snprintf(srv->addrs[slot].addr, sizeof(srv->addrs[slot].addr), "%s", host);
		srv->addrs[slot].n++;
		srv->active++;
	}
	pthread_mutex_unlock(&srv->mu);
	if (over) {
		/* over a limit: refused at once, before any TLS work (a plain A-ASSOCIATE-RJ on TCP) */
		net__log(a, "refused: %u connections open (limits %u, %u per address)", srv->active, srv->cfg->max_assoc,
		    srv->cfg->max_per_addr);
		close(fd);
		pv_buf_free(&a->cmd);
		pv_buf_free(&a->data);
		pv_buf_free(&a->out);
		free(a);
		return;
	}
	a->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, (size_t)1 << 20);
	if (pthread_create(&th, &at, web ? net__web_thread : assoc_thread, a) != 0) {
		pthread_attr_destroy(&at);
		close(fd);
		goto fail;
	}
	pthread_attr_destroy(&at);
	return;
fail:
	pthread_mutex_lock(&srv->mu);
	srv->addrs[slot].n--;
	srv->active--;
	pthread_mutex_unlock(&srv->mu);
	pv_buf_free(&a->cmd);
	pv_buf_free(&a->data);
	pv_buf_free(&a->out);
	free(a);
}

int
net_server_run(struct svc *s, const struct net_server_cfg *cfg, volatile sig_atomic_t *stop, struct pv_diag *d)
{
	struct server *sp = calloc(1, sizeof(*sp));
	struct pollfd pf[2 * NET_MAX_LISTEN];
	size_t n = 0;
	int rc = 0;
#define srv (*sp)

	if (sp == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	srv.s = s;
	srv.cfg = cfg;
	srv.stop = stop;
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.cv, NULL);
	if (cfg->tls_cert[0] != '\0' &&
	    (rc = net_tls_server_new(cfg->tls_cert, cfg->tls_key, !cfg->client_cert_optional, &srv.tls, d)) != 0)
		goto out;
	if (cfg->tls_cert[0] != '\0' && cfg->nhttp > 0 &&
	    (rc = net_tls_server_new(cfg->tls_cert, cfg->tls_key, 0, &srv.web_tls, d)) != 0)
		goto out;
	for (; n < cfg->ndimse + cfg->nhttp; n++) {
		int web = n >= cfg->ndimse;
		const struct net_endpoint *ep = web ? &cfg->http[n - cfg->ndimse] : &cfg->dimse[n];
		int fd = listen_on(ep, d);

		if (fd < 0) {
			rc = PV_EIO;
			goto out;
		}
		pf[n].fd = fd;
		pf[n].events = POLLIN;
		if (web)
			fprintf(stderr, "pacsvault serve: DICOMweb listening on %s:%s (%s), root /dicomweb%s%s\n", ep->host,
			    ep->port, srv.web_tls != NULL ? "HTTPS" : "HTTP, loopback only", cfg->viewer[0] ? ", viewer at / from " :
			    "", cfg->viewer);
		else
			fprintf(stderr, "pacsvault serve: %s listening on %s:%s (%s)\n", cfg->ae_title, ep->host, ep->port,
			    srv.tls != NULL ? "TLS" : "TCP, loopback only");
	}
	while (!*stop) {
		int r = poll(pf, n, 500);

		if (r < 0 && errno != EINTR) {
			rc = pv_diag_set(d, PV_EIO, -1, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; r > 0 && i < n; i++)
			if (pf[i].revents & POLLIN)
				take(&srv, pf[i].fd, i >= cfg->ndimse);
	}
out:
	for (size_t i = 0; i < n; i++)
		close(pf[i].fd);
	/* every association ends: those in a message finish it first */
	pthread_mutex_lock(&srv.mu);
	{
		int64_t until = net_now_ms() + 30000;

		while (srv.active > 0 && net_now_ms() < until) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&srv.cv, &srv.mu, &ts);
		}
	}
	if (srv.active == 0) {
		pthread_mutex_unlock(&srv.mu);
		net_tls_server_free(srv.tls);
		net_tls_server_free(srv.web_tls);
		pthread_mutex_destroy(&srv.mu);
		pthread_cond_destroy(&srv.cv);
		free(sp);
	} else {
		/* an association still in a message after 30 s keeps the server's state: the process ends anyway */
		fprintf(stderr, "pacsvault serve: %u associations still running at the stop\n", srv.active);
		pthread_mutex_unlock(&srv.mu);
	}
	return rc;
#undef srv
}
