/* tls.c: a TLS client connection with OpenSSL (see tls.h). */
#include "pacsvault/net/tls.h"

#include "pacsvault/crypto/ossl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct net_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

static int
ssl_err(struct pv_diag *d, int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", errno != 0 ? strerror(errno) : "connection closed");
	ERR_clear_error();
	return pv_diag_set(d, code, -1, "%s: %s", what, buf);
}

static int
dial(const char *host, const char *port, int timeout_ms, struct pv_diag *d)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot resolve %s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot connect to %s port %s: %s", host, port, strerror(errno));
	return fd;
}

void
net_tls_load(void)
{
	(void)pv_ossl_ssl();
}

int
net_tls_connect(const char *host, const char *port, const char *ca, const char *cert, const char *key,
    int timeout_ms, struct net_tls **out, struct pv_diag *d)
{
	struct net_tls *t;
	struct in6_addr a6;
	struct in_addr a4;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PV_ENOMEM;
	t->fd = -1;
	ERR_clear_error();
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
		rc = ssl_err(d, PV_EINVAL, "cannot load the CA file");
		goto fail;
	}
	if (cert != NULL && (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(t->ctx, key != NULL ? key : cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1)) {
		rc = ssl_err(d, PV_EINVAL, "cannot load the client certificate and key");
		goto fail;
	}
	if ((t->fd = dial(host, port, timeout_ms, d)) < 0) {
		rc = PV_EIO;
		goto fail;
	}
	if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, t->fd) != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	/* The server must be the one named: its IP address, or its DNS name (SNI too). */
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1) {
			rc = ssl_err(d, PV_EINTERNAL, "TLS");
			goto fail;
		}
	} else if (SSL_set1_host(t->ssl, host) != 1 || SSL_set_tlsext_host_name(t->ssl, host) != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	errno = 0;
	if (SSL_connect(t->ssl) != 1) {
		long v = SSL_get_verify_result(t->ssl);

		if (v != X509_V_OK) {
			rc = pv_diag_set(d, PV_EAUTH, -1, "the collector's certificate does not verify: %s",
			    X509_verify_cert_error_string(v));
			ERR_clear_error();
		} else {
			rc = ssl_err(d, PV_EIO, "TLS handshake failed");
		}
		goto fail;
	}
	*out = t;
	return 0;
fail:
	net_tls_free(t);
	return rc;
}

int
net_tls_write(struct net_tls *t, const void *p, size_t n, struct pv_diag *d)
{
	const char *q = p;

	while (n > 0) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n, w;

		errno = 0;
		if ((w = SSL_write(t->ssl, q, chunk)) <= 0)
			return ssl_err(d, PV_EIO, "TLS write failed");
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int
net_tls_close_confirmed(struct net_tls *t, struct pv_diag *d)
{
	char buf[256];
	int r;

	errno = 0;
	r = SSL_shutdown(t->ssl);
	if (r < 0)
		return ssl_err(d, PV_EIO, "TLS close failed");
	if (r == 1)
		return 0;
	/* Our close_notify is out: the peer confirms by closing its side after reading it. */
	for (;;) {
		int n = SSL_read(t->ssl, buf, sizeof(buf));

		if (n > 0)
			continue;   /* a collector does not talk back; ignore what it might say */
		switch (SSL_get_error(t->ssl, n)) {
		case SSL_ERROR_ZERO_RETURN:
			return 0;   /* its close_notify */
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0 && errno == 0)
				return 0;   /* end of stream after our close_notify */
			/* fall through */
		default:
			/* OpenSSL 3 reports a clean end of stream without close_notify this way. */
			if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
				ERR_clear_error();
				return 0;
			}
			return ssl_err(d, PV_EIO, "the collector did not confirm the end of the stream");
		}
	}
}

void
net_tls_free(struct net_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* ---- the server side ---- */

struct net_tls_server {
	SSL_CTX *ctx;
};

struct net_conn {
	SSL *ssl;      /* NULL: plain TCP */
	int fd;
};

int64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Client certificates are pinned by their key, not chained to a CA: the handshake takes any one. */
static int
accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

int
net_tls_server_new(const char *cert, const char *key, int require_client_cert, struct net_tls_server **out,
    struct pv_diag *d)
{
	struct net_tls_server *s;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	ERR_clear_error();
	if ((s->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	/* no resumption: every connection shows its certificate again (and a removed user's session cannot return) */
	SSL_CTX_set_options(s->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_cipher_list(s->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL") != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS cipher list");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1) {
		rc = ssl_err(d, PV_EINVAL, "cannot load the server certificate (tls_cert)");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(s->ctx) != 1) {
		rc = ssl_err(d, PV_EINVAL, "cannot load the server key (tls_key), or it is not the certificate's");
		goto fail;
	}
	if (require_client_cert)
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	*out = s;
	return 0;
fail:
	net_tls_server_free(s);
	return rc;
}

void
net_tls_server_free(struct net_tls_server *s)
{
	if (s == NULL)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

int
net_conn_accept(struct net_tls_server *srv, int fd, int timeout_ms, struct net_conn **out, struct pv_diag *d)
{
	struct net_conn *c;
	int64_t deadline = net_now_ms() + timeout_ms;
	struct timeval tv = { 1, 0 };

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	c->fd = fd;
	/* every blocking read or write returns within a second, so deadlines are kept */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (srv != NULL) {
		ERR_clear_error();
		if ((c->ssl = SSL_new(srv->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
			net_conn_close(c);
			return ssl_err(d, PV_EINTERNAL, "TLS");
		}
		for (;;) {
			int r;

			errno = 0;
			if ((r = SSL_accept(c->ssl)) == 1)
				break;
			if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ && net_now_ms() < deadline) {
				ERR_clear_error();
				continue;
			}
			r = ssl_err(d, PV_EAUTH, net_now_ms() >= deadline ? "TLS handshake timed out" :
			    "TLS handshake failed");
			net_conn_close(c);
			return r;
		}
	}
	*out = c;
	return 0;
}

static int conn_read(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, int some,
    struct pv_diag *d);

int
net_conn_read(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, struct pv_diag *d)
{
	return conn_read(c, p, n, deadline_ms, got, 0, d);
}

int
net_conn_read_some(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, struct pv_diag *d)
{
	return conn_read(c, p, n, deadline_ms, got, 1, d);
}

static int
conn_read(struct net_conn *c, void *p, size_t n, int64_t deadline_ms, size_t *got, int some, struct pv_diag *d)
{
	char *q = p;
	size_t have = 0;

	if (got != NULL)
		*got = 0;
	while (have < n && !(some && have > 0)) {
		ssize_t r;
		int chunk = n - have > (1u << 30) ? 1 << 30 : (int)(n - have);

		if (net_now_ms() >= deadline_ms)
			return pv_diag_set(d, PV_EIO, -1, "timed out after %zu of %zu bytes", have, n);
		errno = 0;
		if (c->ssl != NULL) {
			int e;

			if ((r = SSL_read(c->ssl, q + have, chunk)) > 0) {
				have += (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, (int)r);
			if (e == SSL_ERROR_WANT_READ) {
				ERR_clear_error();
				continue;
			}
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) ||
			    ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
				ERR_clear_error();
				if (got != NULL)
					*got = have;
				return pv_diag_set(d, PV_ETRUNC, -1, "the peer closed the connection");
			}
			return ssl_err(d, PV_EIO, "TLS read failed");
		}
		r = recv(c->fd, q + have, (size_t)chunk, 0);
		if (r > 0) {
			have += (size_t)r;
			continue;
		}
		if (r == 0) {
			if (got != NULL)
				*got = have;
			return pv_diag_set(d, PV_ETRUNC, -1, "the peer closed the connection");
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			continue;
		return pv_diag_set(d, PV_EIO, -1, "read failed: %s", strerror(errno));
	}
	if (got != NULL)
		*got = have;
	return 0;
}

int
net_conn_write(struct net_conn *c, const void *p, size_t n, struct pv_diag *d)
{
	const char *q = p;
	int64_t deadline = net_now_ms() + 60000;

	while (n > 0) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
		ssize_t w;

		if (net_now_ms() >= deadline)
			return pv_diag_set(d, PV_EIO, -1, "write timed out (the peer does not read)");
		errno = 0;
		if (c->ssl != NULL) {
			if ((w = SSL_write(c->ssl, q, chunk)) <= 0) {
				if (SSL_get_error(c->ssl, (int)w) == SSL_ERROR_WANT_WRITE) {
					ERR_clear_error();
					continue;
				}
				return ssl_err(d, PV_EIO, "TLS write failed");
			}
		} else if ((w = send(c->fd, q, (size_t)chunk, MSG_NOSIGNAL)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return pv_diag_set(d, PV_EIO, -1, "write failed: %s", strerror(errno));
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int
net_conn_peer_pin(struct net_conn *c, char hex[65])
{
	X509 *x;
	EVP_PKEY *k;
	unsigned char *der = NULL, md[32];
	int n, rc = PV_ENOTFOUND;

	hex[0] = '\0';
	if (c->ssl == NULL || (x = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return PV_ENOTFOUND;
	if ((k = X509_get_pubkey(x)) != NULL && (n = i2d_PUBKEY(k, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) == 1) {
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		rc = 0;
	}
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

const char *
net_conn_protocol(struct net_conn *c)
{
	return c->ssl != NULL ? SSL_get_version(c->ssl) : "tcp";
}

int
net_conn_fd(const struct net_conn *c)
{
	return c->fd;
}

int
net_conn_readable(struct net_conn *c)
{
	struct pollfd pf = { c->fd, POLLIN, 0 };

	if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
		return 1;
	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void
net_conn_close(struct net_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int
net_conn_connect(const char *host, const char *port, int tls, const char *ca, const char *cert, const char *key,
    int timeout_ms, struct net_conn **out, struct pv_diag *d)
{
	struct net_conn *c;
	SSL_CTX *ctx = NULL;
	struct in6_addr a6;
	struct in_addr a4;
	int fd, one = 1, rc;

	*out = NULL;
	if ((fd = dial(host, port, timeout_ms, d)) < 0)
		return PV_EIO;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	c->fd = fd;
	if (!tls) {
		*out = c;
		return 0;
	}
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL") != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS cipher list");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		rc = ssl_err(d, PV_EINVAL, "cannot load the peer's CA file");
		goto fail;
	}
	if (cert != NULL && cert[0] != '\0' && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key != NULL && key[0] != '\0' ? key : cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)) {
		rc = ssl_err(d, PV_EINVAL, "cannot load this server's certificate and key for the peer");
		goto fail;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	/* the peer must be the one named: its IP address, or its DNS name */
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1) {
			rc = ssl_err(d, PV_EINTERNAL, "TLS");
			goto fail;
		}
	} else if (SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		rc = ssl_err(d, PV_EINTERNAL, "TLS");
		goto fail;
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);

		if (v != X509_V_OK) {
			rc = pv_diag_set(d, PV_EAUTH, -1, "the peer's certificate does not verify: %s",
			    X509_verify_cert_error_string(v));
			ERR_clear_error();
		} else {
			rc = ssl_err(d, PV_EIO, "TLS handshake with the peer failed");
		}
		goto fail;
	}
	SSL_CTX_free(ctx);   /* the connection keeps its own reference */
	*out = c;
	return 0;
fail:
	SSL_CTX_free(ctx);
	net_conn_close(c);
	return rc;
}
