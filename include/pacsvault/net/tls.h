/*
 * tls.h: a TLS client connection (OpenSSL): TLS 1.2 or later, the server's
 * certificate verified against a CA file and its name or IP address, an
 * optional client certificate (mutual TLS, as IHE ATNA asks), and
 * timeouts on every read and write.
 */
#ifndef PV_NET_TLS_H
#define PV_NET_TLS_H
#include <stddef.h>
#include "pacsvault/base/err.h"

struct net_tls;

/* Loads libssl now rather than at the first connection (exit 70 when it is missing: pacsvault/base/dynlib.h). */
void net_tls_load(void);

/*
 * Connects to host:port and completes the handshake. ca: PEM file of the
 * trusted CA(s) (required); cert and key: the client's PEM certificate and
 * key, or NULL. PV_EIO for a connection that fails (refused, timed out),
 * PV_EAUTH for a certificate that does not verify; the reason in d.
 */
int net_tls_connect(const char *host, const char *port, const char *ca, const char *cert, const char *key,
    int timeout_ms, struct net_tls **out, struct pv_diag *d) __attribute__((warn_unused_result));

/* Writes all n bytes. */
int net_tls_write(struct net_tls *t, const void *p, size_t n, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Sends close_notify and waits for the peer to close its side (its
 * close_notify or end of stream): then the peer has read everything sent
 * before. PV_EIO when it does not (a reset, a timeout).
 */
int net_tls_close_confirmed(struct net_tls *t, struct pv_diag *d) __attribute__((warn_unused_result));

void net_tls_free(struct net_tls *t);

#endif
