/*
 * fuzz_http.c: HTTP/1.1 framing (net/http.c) on arbitrary bytes: the head
 * parser (whole, and fed in growing prefixes as a socket would), then
 * what follows the head through the chunked decoder fed in 7-byte pieces,
 * and the query string reader. Invariants: a parsed head consumed no more
 * than it was given, every header has a token name and a value without CR
 * or LF, Content-Length and Transfer-Encoding never both, a decoded path
 * never holds a dot segment or a NUL; the decoder never produces more bytes
 * than it consumed and stops at its limit; the multipart parser hands over
 * no part over its limit.
 */
#include "fuzz.h"
#include "pacsvault/net/http.h"

#include <stdlib.h>
#include <string.h>

static struct http_req r;

static int
on_part(void *ctx, const char *p, size_t n, int type_ok)
{
	size_t *parts = ctx;

	(void)p;
	if (n > 4096 || (type_ok != 0 && type_ok != 1))
		abort();
	(*parts)++;
	return 0;
}

static void
check_req(size_t used, size_t size)
{
	if (used == 0 || used > size)
		abort();
	if (r.content_length >= 0 && r.chunked)
		abort();
	if (r.path[0] != '/' || strstr(r.path, "/../") != NULL || strstr(r.path, "/./") != NULL)
		abort();
	for (size_t i = 0; i < r.nh; i++)
		if (r.h[i].name[0] == '\0' || strpbrk(r.h[i].name, ": \t\r\n") != NULL ||
		    strpbrk(r.h[i].value, "\r\n") != NULL)
			abort();
}

int
fuzz_http_one(const uint8_t *data, size_t size)
{
	struct pv_diag d;
	size_t used = 0;
	int status = 0, rc;

	pv_diag_clear(&d);
	rc = http_parse_head((const char *)data, size, &r, &used, &status, &d);
	if (rc == 0)
		check_req(used, size);
	else if (rc != PV_ETRUNC && (status < 400 || status > 505 || d.msg[0] == '\0'))
		abort();
	/* the same bytes arriving in pieces: the same answer once all are there */
	for (size_t k = 1; k < size && k < 64; k += 13) {
		size_t u2 = 0;
		int s2 = 0;
		pv_diag_clear(&d);
		if (http_parse_head((const char *)data, k, &r, &u2, &s2, &d) == 0 && (rc != 0 || u2 != used))
			abort();
	}
	if (rc == 0) {
		char name[128], value[1024];
		size_t pos = 0;
		int q;

		while ((q = http_query_next(r.query, &pos, name, sizeof(name), value, sizeof(value))) == 1)
			if (strlen(name) >= sizeof(name) || strlen(value) >= sizeof(value))
				abort();
	}
	/* what follows (or all of it): a chunked body, in small pieces */
	{
		struct http_chunked c;
		const uint8_t *p = rc == 0 ? data + used : data;
		size_t n = rc == 0 ? size - used : size, at = 0;
		char out[8];

		http_chunked_init(&c, 1000);
		while (at < n && !c.done) {
			size_t piece = n - at < 7 ? n - at : 7, u = 0, on = 0;
			pv_diag_clear(&d);
			if (http_chunked_feed(&c, (const char *)p + at, piece, &u, out, &on, &d) != 0)
				break;
			if (u > piece || on > u || c.total > 1000)
				abort();
			if (u < piece && !c.done)
				abort();
			at += u;
		}
	}
	/* the same bytes as a multipart/related body (boundary "b"), in 5-byte pieces */
	{
		struct http_multipart m;
		size_t parts = 0, at = 0;

		http_multipart_init(&m, "b", "application/dicom", 4096, on_part, &parts);
		while (at < size) {
			size_t piece = size - at < 5 ? size - at : 5;
			if (http_multipart_feed(&m, (const char *)data + at, piece) != 0)
				break;
			at += piece;
		}
		if (m.done && m.cur.len != 0)
			abort();
		http_multipart_free(&m);
	}
	return 0;
}

PV_FUZZ_ENTRY(fuzz_http_one)
