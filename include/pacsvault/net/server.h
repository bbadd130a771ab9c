/*
 * server.h: `pacsvault serve`'s DIMSE listener (PS3.7, PS3.8): TCP or TLS,
 * one thread per association (capped overall and per peer address), the
 * upper layer's state table, authentication through svc, and the DIMSE
 * services on svc: Verification and the Storage SCP today. docs/CONFORMANCE.md.
 */
#ifndef PV_NET_SERVER_H
#define PV_NET_SERVER_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"
#include "pacsvault/svc/svc.h"

#define NET_MAX_LISTEN 8
#define NET_MAX_PEERS 64

struct net_endpoint {
	char host[256];
	char port[8];
};

/* A C-MOVE destination. */
struct net_peer {
	char ae[17];
	struct net_endpoint at;
	int tls;
	char ca[4096];
	char cert[4096], key[4096];   /* this server's identity to it (default: tls_cert, tls_key) */
};

enum { NET_ANON_NONE = 0, NET_ANON_ECHO = 1 };

struct net_server_cfg {
	char ae_title[17];
	struct net_endpoint dimse[NET_MAX_LISTEN];
	size_t ndimse;
	char tls_cert[4096], tls_key[4096];   /* both set: TLS on every listener */
	int client_cert_optional;             /* TLS: 0 every client must present a certificate */
	unsigned max_assoc, max_per_addr, max_per_user;
	uint32_t max_pdu;                     /* the largest P-DATA-TF accepted (our maximum length) */
	uint64_t max_dataset;                 /* the largest data set of one C-STORE */
	int idle_timeout_s, artim_timeout_s;
	int anonymous;                        /* what a peer that presents no credentials may do */
	struct net_peer peers[NET_MAX_PEERS];
	size_t npeers;
	struct net_endpoint http[NET_MAX_LISTEN];   /* DICOMweb (HTTPS with tls_cert, tls_key) */
	size_t nhttp;
	char viewer[4096];                    /* static files served at / ("" none) */
	int http_timeout_s;                   /* a request head (and the TLS handshake) must come within */
	char cors_origin[256];                /* the one web origin allowed to call /dicomweb from a browser ("" none) */
};

/* Defaults for every field (ae_title PACSVAULT, no listener). */
void net_server_cfg_init(struct net_server_cfg *c);
/* 1 when host is a loopback address or "localhost". */
int net_host_is_loopback(const char *host);
/*
 * What makes cfg unsafe to start with, one reason per line into out (empty:
 * nothing): a listener off loopback without TLS or without users
 * (nusers), or with anonymous access. serve refuses to start on any.
 */
int net_server_unsafe(const struct net_server_cfg *cfg, size_t nusers, char *out, size_t n);

/*
 * Serves until *stop becomes non-zero: then no new association is taken,
 * every association finishes the message in hand (a C-STORE being
 * acknowledged is acknowledged) and is aborted, and the call returns 0
 * once all have ended (at most 30 s).
 */
int net_server_run(struct svc *s, const struct net_server_cfg *cfg, volatile sig_atomic_t *stop, struct pv_diag *d)
    __attribute__((warn_unused_result));

#endif
