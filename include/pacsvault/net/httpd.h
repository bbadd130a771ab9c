/*
 * httpd.h: a small HTTPS server and client for request/response services
 * that are not DICOMweb (the ledger's witness, C2SP tlog-witness), on the
 * same framing (http.h) and TLS (tls.h) as `serve`: one thread per
 * connection (at most 32), one request per connection, a deadline for the
 * whole request, bodies by Content-Length or chunked up to a limit.
 */
#ifndef PV_NET_HTTPD_H
#define PV_NET_HTTPD_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/net/http.h"

/*
 * Answers one request: *status, a Content-Type into ctype ("" none) and a
 * body into out. Called from several threads at once.
 */
typedef void (*net_httpd_fn)(void *ctx, const struct http_req *r, const char *addr, const char *body, size_t n,
    int *status, char ctype[64], struct pv_buf *out);

struct net_httpd_cfg {
	const char *host, *port;      /* the listener */
	const char *cert, *key;       /* both: HTTPS; neither: plain HTTP, loopback only */
	size_t max_body;
	int timeout_s;                /* for the TLS handshake, the head and the body */
	const char *name;             /* for the log lines ("witness") */
};

/* Serves until *stop; 0 when stopped, else why it could not start or go on. */
int net_httpd_run(const struct net_httpd_cfg *cfg, net_httpd_fn fn, void *ctx, volatile sig_atomic_t *stop,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * POSTs body to url ("https://host:port/path", or "http://" to a loopback
 * host only), verifying the server's certificate with ca (NULL: the system's
 * store). *status and the answer's body (at most max bytes) into out.
 */
int net_http_post(const char *url, const char *ca, const char *ctype, const void *body, size_t n, size_t max,
    int timeout_s, int *status, struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

#endif
