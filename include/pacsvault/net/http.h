/*
 * http.h: HTTP/1.1 request framing (RFC 9110, RFC 9112), strict, for
 * `pacsvault serve`'s HTTPS listener. Pure functions over bytes: the head
 * parser, the chunked body decoder and the query string reader take no
 * socket, so the fuzz target drives them directly.
 *
 * Strict where smuggling hides (RFC 9112 6.1, 6.3, 11.2): a request with
 * both Content-Length and Transfer-Encoding, two Content-Lengths, a
 * Transfer-Encoding other than exactly "chunked", a header line folded
 * onto the next (obs-fold), a bare LF or CR, whitespace before a header's
 * colon, a control character anywhere, no Host or two Hosts: each is 400
 * with its reason, and the connection is closed after the answer.
 */
#ifndef PV_NET_HTTP_H
#define PV_NET_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

#define HTTP_HEAD_MAX 16384      /* request line and headers */
#define HTTP_TARGET_MAX 8192
#define HTTP_HEADERS_MAX 64

struct http_header {
	const char *name, *value;    /* into the request's own copy of the head, NUL-ended; value trimmed */
};

struct http_req {
	const char *method;
	const char *target;          /* origin-form: "/path?query" */
	char path[HTTP_TARGET_MAX];  /* percent-decoded path (no NUL, no "/../") */
	const char *query;           /* the raw query (after '?'), "" when none */
	int minor;                   /* HTTP/1.minor */
	struct http_header h[HTTP_HEADERS_MAX];
	size_t nh;
	int64_t content_length;      /* -1: none */
	int chunked;                 /* Transfer-Encoding: chunked */
	int keep_alive;              /* the connection may carry another request */
	char head[HTTP_HEAD_MAX + 1];   /* the head's copy the pointers point into (last: not cleared) */
};

/*
 * Parses a request head from buf[0..n): PV_ETRUNC when the blank line that
 * ends it has not arrived yet (and n is under HTTP_HEAD_MAX), 0 with
 * *used the head's length, else an error with *status (400, 414, 431, 501,
 * 505) and the reason in d.
 */
int http_parse_head(const char *buf, size_t n, struct http_req *r, size_t *used, int *status, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* The value of header name (any case), or NULL; *count gets how many there were when count is not NULL. */
const char *http_header(const struct http_req *r, const char *name, size_t *count);

/* The chunked body decoder (RFC 9112 7.1): feed bytes as they come. */
struct http_chunked {
	int state;
	uint64_t left;               /* of the current chunk */
	uint64_t total, max;         /* decoded so far; the limit (0: none) */
	unsigned line;               /* bytes of the current size or trailer line */
	int done;
};
void http_chunked_init(struct http_chunked *c, uint64_t max);
/*
 * Decodes from in[0..n): body bytes go to out (may be NULL to count only)
 * as runs (*out_n total appended to out); *used gets the bytes consumed
 * (less than n only when the body ended). Errors: PV_EPARSE (malformed),
 * PV_ELIMIT (over max).
 */
int http_chunked_feed(struct http_chunked *c, const char *in, size_t n, size_t *used, char *out, size_t *out_n,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The next "name=value" of a query string (application/x-www-form-urlencoded
 * rules: '+' is a space, %XX decoded). *pos walks q; returns 1 with name and
 * value (NUL-ended) filled, 0 at the end, -1 on a malformed escape, an
 * encoded NUL, or a name or value longer than its buffer.
 */
int http_query_next(const char *q, size_t *pos, char *name, size_t nn, char *value, size_t vn);

/* The reason phrase of a status code. */
const char *http_reason(int status);

/* Splits a media type parameter out of a header value: the value of param (case-insensitive) unquoted, or -1. */
int http_media_param(const char *value, const char *param, char *out, size_t n);

/*
 * A multipart body (RFC 2046 5.1, as multipart/related uses it) parsed as
 * it arrives: each part, once whole, goes to part() with its bytes and
 * whether its Content-Type is the one wanted (or absent). Only the part in
 * hand is held (at most max_part bytes). The preamble and epilogue are
 * skipped; transport padding after a boundary is allowed.
 */
typedef int (*http_part_fn)(void *ctx, const char *p, size_t n, int type_ok);
struct http_multipart {
	char delim[80];              /* "--" boundary */
	size_t dl, scan;
	int state, type_ok, done;
	char want[64];
	uint64_t max_part;
	struct pv_buf cur;
	http_part_fn part;
	void *ctx;
	char why[160];               /* what was wrong, on PV_EPARSE */
};
void http_multipart_init(struct http_multipart *m, const char *boundary, const char *want_type, uint64_t max_part,
    http_part_fn part, void *ctx);
/* 0, PV_EPARSE (why says), PV_ELIMIT (a part over max_part), or what part() returned. */
int http_multipart_feed(struct http_multipart *m, const char *in, size_t n) __attribute__((warn_unused_result));
void http_multipart_free(struct http_multipart *m);

#endif
