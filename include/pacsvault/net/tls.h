/*
 * tls.h: a TLS client connection (OpenSSL): TLS 1.2 or later, the server's
 * certificate verified against a CA file and its name or IP address, an
 * optional client certificate (mutual TLS, as IHE ATNA asks), and
 * timeouts on every read and write.
 */
#ifndef PV_NET_TLS_H
#define PV_NET_TLS_H
#include <stddef.h>
#include <stdint.h>
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

/*
 * The server side (serve): one context for every listener, then a
 * connection per accepted socket, plain or TLS. TLS 1.2 and 1.3 only; for
 * 1.2, ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 (PS3.15 B.12,
 * BCP 195 non-downgrading); renegotiation off. With require_client_cert
 * every client must present a certificate, which the caller then matches
 * by the SHA-256 of its public key (net_conn_peer_pin), not by a CA.
 */
struct net_tls_server;
int net_tls_server_new(const char *cert, const char *key, int require_client_cert, struct net_tls_server **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
void net_tls_server_free(struct net_tls_server *s);

struct net_conn;
/* Takes fd over (closed by net_conn_close, or here on failure). srv NULL: plain TCP. */
int net_conn_accept(struct net_tls_server *srv, int fd, int timeout_ms, struct net_conn **out, struct pv_diag *d)
    __attribute__((warn_unused_result));
/*
 * Reads exactly n bytes before the deadline (CLOCK_MONOTONIC ms; a peer
 * that trickles bytes is cut off there). PV_ETRUNC when the peer closed
 * before any byte (*got says how many came), PV_EIO on a timeout or error.
 */
int net_conn_read(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* As net_conn_read, but returns once at least one byte came (*got says how many, up to n). */
int net_conn_read_some(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, struct pv_diag *d)
    __attribute__((warn_unused_result));
/*
 * A connection to a peer (C-MOVE's destination): TCP, or TLS 1.2+ with the
 * peer's certificate verified by ca and matched to host, this side
 * presenting cert and key when given.
 */
int net_conn_connect(const char *host, const char *port, int tls, const char *ca, const char *cert, const char *key,
    int timeout_ms, struct net_conn **out, struct pv_diag *d) __attribute__((warn_unused_result));
int net_conn_write(struct net_conn *c, const void *p, size_t n, struct pv_diag *d) __attribute__((warn_unused_result));
/* The SHA-256 (hex) of the client certificate's SubjectPublicKeyInfo; 0, or PV_ENOTFOUND without one. */
int net_conn_peer_pin(struct net_conn *c, char hex[65]);
/* "TLSv1.3", or "tcp". */
const char *net_conn_protocol(struct net_conn *c);
int net_conn_fd(const struct net_conn *c);
/* 1 when a read would not block: bytes (or the peer's close) are waiting, TLS-buffered ones included. */
int net_conn_readable(struct net_conn *c);
void net_conn_close(struct net_conn *c);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t net_now_ms(void);

#endif
