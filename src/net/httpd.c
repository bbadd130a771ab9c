/* httpd.c: a small HTTPS server and client for request/response services (see httpd.h). */
#include "pacsvault/net/httpd.h"
#include "pacsvault/net/server.h"
#include "pacsvault/net/tls.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPD_CONNS_MAX 32

struct httpd {
	const struct net_httpd_cfg *cfg;
	struct net_tls_server *tls;
	net_httpd_fn fn;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned active;
};

struct hconn {
	struct httpd *h;
	int fd;
	char addr[64];
};

static int
reply(struct net_conn *c, int status, const char *ctype, const void *body, size_t n)
{
	char head[512];
	struct pv_diag d;
	int k = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: pacsvault\r\nCache-Control: no-store\r\n"
	    "%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n", status, http_reason(status),
	    ctype != NULL && ctype[0] ? "Content-Type: " : "", ctype != NULL ? ctype : "",
	    ctype != NULL && ctype[0] ? "\r\n" : "", n);

	pv_diag_clear(&d);
	if (net_conn_write(c, head, (size_t)k, &d) != 0 || (n > 0 && net_conn_write(c, body, n, &d) != 0))
		return PV_EIO;
	return 0;
}

static void
one_request(struct hconn *hc, struct net_conn *c)
{
	const struct net_httpd_cfg *cfg = hc->h->cfg;
	int64_t deadline = net_now_ms() + (int64_t)cfg->timeout_s * 1000;
	struct http_req *r = malloc(sizeof(*r));
	struct pv_buf in, body, out;
	struct pv_diag d;
	size_t used = 0;
	int status = 0, rc = PV_ETRUNC;
	char ctype[64] = "", msg[200];

	pv_buf_init(&in, HTTP_HEAD_MAX + cfg->max_body + 65536);
	pv_buf_init(&body, cfg->max_body + 1);
	pv_buf_init(&out, (size_t)1 << 20);
	if (r == NULL)
		goto done;
	/* the head */
	while (rc == PV_ETRUNC) {
		char b[16384];
		size_t got = 0;

		pv_diag_clear(&d);
		if (net_conn_read_some(c, b, sizeof(b), deadline, &got, &d) != 0 && got == 0) {
			if (in.len > 0)
				reply(c, 408, "text/plain", "the request did not arrive in time\n", 35);
			goto done;
		}
		if (pv_buf_append(&in, b, got) != 0)
			goto done;
		pv_diag_clear(&d);
		rc = http_parse_head(in.data, in.len, r, &used, &status, &d);
	}
	if (rc != 0) {
		int k = snprintf(msg, sizeof(msg), "%s\n", d.msg);
		reply(c, status, "text/plain", msg, (size_t)k);
		fprintf(stderr, "pacsvault %s: %s: bad request (%d): %s\n", cfg->name, hc->addr, status, d.msg);
		goto done;
	}
	/* the body */
	if (r->chunked) {
		struct http_chunked ck;
		size_t at = used;

		http_chunked_init(&ck, cfg->max_body);
		for (;;) {
			size_t u = 0, on = 0;
			char b[16384];
			size_t got = 0;

			if (in.len > at) {
				if (pv_buf_fill(&body, 0, in.len - at) != 0)
					goto done;
				body.len -= in.len - at;
				pv_diag_clear(&d);
				if (http_chunked_feed(&ck, in.data + at, in.len - at, &u, body.data + body.len, &on, &d) != 0) {
					reply(c, d.code == PV_ELIMIT ? 413 : 400, "text/plain", "a malformed or too large body\n", 30);
					goto done;
				}
				body.len += on;
				at += u;
			}
			if (ck.done)
				break;
			pv_diag_clear(&d);
			if (net_conn_read_some(c, b, sizeof(b), deadline, &got, &d) != 0 && got == 0)
				goto done;
			if (pv_buf_append(&in, b, got) != 0)
				goto done;
		}
	} else if (r->content_length > 0) {
		if ((uint64_t)r->content_length > cfg->max_body) {
			reply(c, 413, "text/plain", "the body is over the limit\n", 27);
			goto done;
		}
		while (in.len - used < (size_t)r->content_length) {
			char b[16384];
			size_t got = 0;

			pv_diag_clear(&d);
			if (net_conn_read_some(c, b, sizeof(b), deadline, &got, &d) != 0 && got == 0)
				goto done;
			if (pv_buf_append(&in, b, got) != 0)
				goto done;
		}
		if (pv_buf_append(&body, in.data + used, (size_t)r->content_length) != 0)
			goto done;
	}
	status = 500;
	hc->h->fn(hc->h->ctx, r, hc->addr, body.data != NULL ? body.data : "", body.len, &status, ctype, &out);
	fprintf(stderr, "pacsvault %s: %s: %s %s: %d\n", cfg->name, hc->addr, r->method, r->path, status);
	reply(c, status, ctype, out.data, out.len);
done:
	free(r);
	pv_buf_free(&in);
	pv_buf_free(&body);
	pv_buf_free(&out);
}

static void *
conn_thread(void *arg)
{
	struct hconn *hc = arg;
	struct httpd *h = hc->h;
	struct net_conn *c = NULL;
	struct pv_diag d;

	pv_diag_clear(&d);
	if (net_conn_accept(h->tls, hc->fd, h->cfg->timeout_s * 1000, &c, &d) == 0) {
		one_request(hc, c);
		net_conn_close(c);
	} else {
		fprintf(stderr, "pacsvault %s: %s: refused: %s\n", h->cfg->name, hc->addr, d.msg);
		close(hc->fd);
	}
	pthread_mutex_lock(&h->mu);
	h->active--;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	free(hc);
	return NULL;
}

int
net_httpd_run(const struct net_httpd_cfg *cfg, net_httpd_fn fn, void *ctx, volatile sig_atomic_t *stop,
    struct pv_diag *d)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct httpd h;
	int lfd = -1, one = 1, rc;

	memset(&h, 0, sizeof(h));
	h.cfg = cfg;
	h.fn = fn;
	h.ctx = ctx;
	if ((cfg->cert == NULL) != (cfg->key == NULL))
		return pv_diag_set(d, PV_EINVAL, -1, "a certificate needs its key, and a key its certificate");
	if (cfg->cert == NULL && !net_host_is_loopback(cfg->host))
		return pv_diag_set(d, PV_EINVAL, -1, "%s:%s is not on loopback and TLS is off: give a certificate and key",
		    cfg->host, cfg->port);
	if (cfg->cert != NULL && (rc = net_tls_server_new(cfg->cert, cfg->key, 0, &h.tls, d)) != 0)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(cfg->host, cfg->port, &hints, &res)) != 0) {
		net_tls_server_free(h.tls);
		return pv_diag_set(d, PV_EINVAL, -1, "%s:%s: %s", cfg->host, cfg->port, gai_strerror(rc));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((lfd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(lfd, 64) == 0)
			break;
		close(lfd);
		lfd = -1;
	}
	freeaddrinfo(res);
	if (lfd < 0) {
		net_tls_server_free(h.tls);
		return pv_diag_set(d, PV_EIO, -1, "%s:%s: cannot listen: %s", cfg->host, cfg->port, strerror(errno));
	}
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	fprintf(stderr, "pacsvault %s: listening on %s:%s (%s)\n", cfg->name, cfg->host, cfg->port,
	    h.tls != NULL ? "HTTPS" : "HTTP, loopback only");
	while (!*stop) {
		struct pollfd pf = { lfd, POLLIN, 0 };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct hconn *hc;
		pthread_t th;
		pthread_attr_t at;
		int fd;

		if (poll(&pf, 1, 500) <= 0 || (fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC)) < 0)
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&h.mu);
		if (h.active >= HTTPD_CONNS_MAX || (hc = calloc(1, sizeof(*hc))) == NULL) {
			pthread_mutex_unlock(&h.mu);
			close(fd);
			continue;
		}
		h.active++;
		pthread_mutex_unlock(&h.mu);
		hc->h = &h;
		hc->fd = fd;
		(void)getnameinfo((struct sockaddr *)&ss, sl, hc->addr, sizeof(hc->addr), NULL, 0, NI_NUMERICHOST);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, conn_thread, hc) != 0) {
			close(fd);
			free(hc);
			pthread_mutex_lock(&h.mu);
			h.active--;
			pthread_mutex_unlock(&h.mu);
		}
		pthread_attr_destroy(&at);
	}
	close(lfd);
	pthread_mutex_lock(&h.mu);
	{
		int64_t until = net_now_ms() + (int64_t)cfg->timeout_s * 1000 + 1000;
		while (h.active > 0 && net_now_ms() < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&h.cv, &h.mu, &ts);
		}
	}
	unsigned left = h.active;
	pthread_mutex_unlock(&h.mu);
	if (left == 0) {
		pthread_mutex_destroy(&h.mu);
		pthread_cond_destroy(&h.cv);
		net_tls_server_free(h.tls);
	}
	return 0;
}

/* ---- the client ---- */

int
net_http_post(const char *url, const char *ca, const char *ctype, const void *body, size_t n, size_t max,
    int timeout_s, int *status, struct pv_buf *out, struct pv_diag *d)
{
	char host[256], port[8], path[2048], req[4096];
	const char *p, *slash, *colon;
	struct net_conn *c = NULL;
	struct pv_buf in;
	int tls, rc, k;
	int64_t deadline = net_now_ms() + (int64_t)timeout_s * 1000;

	*status = 0;
	if (strncmp(url, "https://", 8) == 0)
		tls = 1, p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		tls = 0, p = url + 7;
	else
		return pv_diag_set(d, PV_EINVAL, -1, "%.200s: not an http(s):// URL", url);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(slash - p));
		if (rb == NULL)
			return pv_diag_set(d, PV_EINVAL, -1, "%.200s: a malformed host", url);
		snprintf(host, sizeof(host), "%.*s", (int)(rb - p - 1), p + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		snprintf(host, sizeof(host), "%.*s", (int)((colon != NULL ? colon : slash) - p), p);
	}
	if (colon != NULL)
		snprintf(port, sizeof(port), "%.*s", (int)(slash - colon - 1 < 7 ? slash - colon - 1 : 7), colon + 1);
	else
		snprintf(port, sizeof(port), "%s", tls ? "443" : "80");
	snprintf(path, sizeof(path), "%s", *slash ? slash : "/");
	if (host[0] == '\0' || strspn(port, "0123456789") != strlen(port) || port[0] == '\0' ||
	    strpbrk(path, " \r\n") != NULL)
		return pv_diag_set(d, PV_EINVAL, -1, "%.200s: a malformed URL", url);
	if (!tls && !net_host_is_loopback(host))
		return pv_diag_set(d, PV_EINVAL, -1, "%.200s: plain HTTP only to a loopback host; use https://", url);
	if ((rc = net_conn_connect(host, port, tls, ca, NULL, NULL, timeout_s * 1000, &c, d)) != 0)
		return rc;
	k = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pacsvault\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", path, host, ctype, n);
	if (k <= 0 || (size_t)k >= sizeof(req)) {
		net_conn_close(c);
		return pv_diag_set(d, PV_ELIMIT, -1, "the request line is too long");
	}
	if ((rc = net_conn_write(c, req, (size_t)k, d)) != 0 || (n > 0 && (rc = net_conn_write(c, body, n, d)) != 0)) {
		net_conn_close(c);
		return rc;
	}
	/* the answer: to the end of the connection (Connection: close), at most max + a head */
	pv_buf_init(&in, max + HTTP_HEAD_MAX);
	for (;;) {
		char b[16384];
		size_t got = 0;
		struct pv_diag rd;

		pv_diag_clear(&rd);
		rc = net_conn_read_some(c, b, sizeof(b), deadline, &got, &rd);
		if (got > 0 && pv_buf_append(&in, b, got) != 0) {
			rc = pv_diag_set(d, PV_ELIMIT, -1, "the answer is over %zu bytes", max);
			break;
		}
		if (rc == PV_ETRUNC) {
			rc = 0;
			break;
		}
		if (rc != 0 && got == 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "no whole answer from %.200s: %s", url, rd.msg);
			break;
		}
	}
	net_conn_close(c);
	if (rc == 0) {
		/* "HTTP/1.x NNN reason" CRLF, headers, CRLF CRLF, the body (Content-Length when given) */
		char *e = in.len > 0 ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL;
		if (e == NULL || in.len < 12 || strncmp(in.data, "HTTP/1.", 7) != 0 || in.data[8] != ' ' ||
		    in.data[9] < '1' || in.data[9] > '5' || in.data[10] < '0' || in.data[10] > '9' || in.data[11] < '0' ||
		    in.data[11] > '9')
			rc = pv_diag_set(d, PV_EPARSE, -1, "%.200s: not an HTTP answer", url);
		else {
			size_t bl = in.len - (size_t)(e + 4 - in.data);
			*status = (in.data[9] - '0') * 100 + (in.data[10] - '0') * 10 + (in.data[11] - '0');
			for (char *h = memmem(in.data, (size_t)(e - in.data), "\r\n", 2); h != NULL && h < e;
			    h = memmem(h + 2, (size_t)(e - h), "\r\n", 2)) {
				if (strncasecmp(h + 2, "Content-Length:", 15) == 0) {
					unsigned long long cl = strtoull(h + 17, NULL, 10);
					if (cl < bl)
						bl = (size_t)cl;
				}
			}
			if (bl > max)
				rc = pv_diag_set(d, PV_ELIMIT, -1, "the answer is over %zu bytes", max);
			else
				rc = pv_buf_append(out, e + 4, bl);
		}
	}
	pv_buf_free(&in);
	return rc;
}
