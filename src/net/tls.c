/* tls.c: a TLS client connection with OpenSSL (see tls.h). */
#include "pacsvault/net/tls.h"

#include "pacsvault/crypto/ossl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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
