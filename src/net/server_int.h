/*
 * server_int.h: the DIMSE server's insides, shared by server.c (listeners,
 * associations, C-ECHO, C-STORE) and qr.c (query/retrieve). Not installed.
 */
#ifndef PV_NET_SERVER_INT_H
#define PV_NET_SERVER_INT_H
#include <pthread.h>
#include <signal.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/net/dimse.h"
#include "pacsvault/net/server.h"
#include "pacsvault/net/tls.h"
#include "pacsvault/net/ul.h"
#include "pacsvault/svc/users.h"

#define ADDRS_MAX 256
#define DATA_HEAD 1024              /* room for a Part 10 head before a C-STORE data set */
#define ASSOC_BODY_MAX (256u * 1024)   /* the largest A-ASSOCIATE PDU body read */

struct addr_count {
	char addr[64];
	unsigned n;
};

struct server {
	struct svc *s;
	const struct net_server_cfg *cfg;
	struct net_tls_server *tls;
	struct net_tls_server *web_tls;   /* HTTPS: client certificates optional (bearer tokens) */
	volatile sig_atomic_t *stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned active;
	uint64_t next_id;
	struct addr_count addrs[ADDRS_MAX];
	struct addr_count users[ADDRS_MAX];   /* open associations per authenticated user */
};

struct pctx {
	uint8_t id;
	int accepted;
	int peer_scp;                 /* a storage context the peer takes as SCP (C-GET sub-operations) */
	char abstract[UL_UID_MAX + 1];
	char ts[UL_UID_MAX + 1];
};

struct assoc {
	struct server *srv;
	int fd;                       /* until the connection is set up in its thread */
	struct net_conn *c;
	uint64_t id;
	char addr[64];
	char calling[17];
	uint32_t peer_max;            /* the largest P-DATA-TF the peer takes (0: no limit) */
	struct pctx pc[UL_MAX_PCTX];
	size_t npc;
	int authenticated;
	int user_counted;             /* this association counts against its user's limit */
	struct svc_user user;
	struct svc_principal p;
	char via[32];
	struct pv_buf cmd, data, out;
	int have_cmd;                 /* a command parsed, its data set still coming */
	size_t data_off;              /* C-STORE: where the data set starts in data (after its Part 10 head) */
	uint8_t cmd_ctx;
	struct dimse_cmd dc;
};

void net__log(const struct assoc *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends bytes as PDVs of ctx, each P-DATA-TF within the peer's maximum length. */
int net__send_pdata(struct assoc *a, uint8_t ctx, int command, const void *p, size_t n, struct pv_diag *d);
/* Sends a response command on the context of the request in hand. */
int net__send_rsp(struct assoc *a, const struct dimse_cmd *rsp, struct pv_diag *d);
/* Part 10 bytes (preamble, meta group) around a received data set. */
int net__part10(struct pv_buf *b, const char *cls, const char *inst, const char *ts, const char *source_ae,
    const void *ds, size_t n);
/* Reads one PDU: 1 with type and body, 0 when the peer closed between PDUs or the server stops, < 0 on error. */
int net__read_pdu(struct assoc *a, int64_t idle_deadline, uint8_t *type, struct pv_buf *body, int in_assoc,
    struct pv_diag *d);
/* C-MOVE (qr.c): the identifier in a->data, on context pc; the instances go to a configured peer. */
int net__move(struct assoc *a, const struct pctx *pc, struct pv_diag *d);
int net__is_move_model(const char *uid);
/* One association on fd, in this thread, to its end (fuzz_assoc); fd is closed. */
int net__serve_fd(struct svc *s, const struct net_server_cfg *cfg, int fd);
/* Storage Commitment Push Model (qr.c): the N-ACTION-RQ in hand; the report follows on a new association. */
int net__commit(struct assoc *a, const struct pctx *pc, struct pv_diag *d);
int net__is_commitment(const char *uid);
/* An HTTP connection (web.c): a's fd, id, addr and srv; ends with net__conn_done(a). */
void *net__web_thread(void *arg);
/* A connection's end: its slot in the server's counts released, a freed. */
void net__conn_done(struct assoc *a);
/* The accepted context id, or NULL. */
const struct pctx *ctx_of(const struct assoc *a, uint8_t id);
/* Reads PDUs until a whole command set arrives (a sub-operation's response, a C-CANCEL). */
int net__await_command(struct assoc *a, struct dimse_cmd *c, uint8_t *ctx, struct pv_diag *d);
/* C-GET (qr.c): the identifier in a->data, on context pc. */
int net__get(struct assoc *a, const struct pctx *pc, struct pv_diag *d);
int net__is_get_model(const char *uid);
/* C-FIND (qr.c): the identifier in a->data, on context pc. */
int net__find(struct assoc *a, const struct pctx *pc, struct pv_diag *d);
/* 1 when uid is a Query/Retrieve FIND model this server offers (Patient Root, Study Root). */
int net__is_find_model(const char *uid);

#endif
