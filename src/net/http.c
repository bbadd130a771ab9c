/* http.c: HTTP/1.1 request framing, strict (see http.h). */
#include "pacsvault/net/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 tchar */
static int
tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP, HTAB (obs-text allowed) */
static int
vchar(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
fail(int *status, int code, struct pv_diag *d, const char *why)
{
	*status = code;
	return pv_diag_set(d, PV_EPARSE, -1, "%s", why);
}

/* Percent-decodes s[0..n) into out (NUL-ended): '+' is a space when plus is set; refuses a bad escape or an encoded NUL. */
static int
pct_decode(const char *s, size_t n, int plus, char *out, size_t on)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+' && plus) {
			c = ' ';
		} else if (c == '%') {
			int a, b;
			if (i + 2 >= n || (a = hexval(s[i + 1])) < 0 || (b = hexval(s[i + 2])) < 0)
				return -1;
			c = a * 16 + b;
			if (c == 0)
				return -1;
			i += 2;
		}
		if (k + 1 >= on)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

/* The path of the target, decoded; refuses dot segments and a path not starting with '/'. */
static int
decode_path(const char *t, size_t n, char *out, size_t on)
{
	if (n == 0 || t[0] != '/' || pct_decode(t, n, 0, out, on) != 0)
		return -1;
	/* no "." or ".." segment, decoded or not: nothing names a parent */
	for (const char *p = out; (p = strchr(p, '/')) != NULL; p++) {
		const char *s = p + 1;
		size_t len = strcspn(s, "/");
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return -1;
	}
	return 0;
}

int
http_parse_head(const char *buf, size_t n, struct http_req *r, size_t *used, int *status, struct pv_diag *d)
{
	size_t start = 0, end, i;
	char *p, *line, *eol;

	*used = 0;
	*status = 400;
	/* RFC 9112 2.2: empty lines before the request line are ignored */
	while (start + 1 < n && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	/* the end of the head: the first CRLF CRLF */
	for (end = start; end + 3 < n; end++)
		if (buf[end] == '\r' && buf[end + 1] == '\n' && buf[end + 2] == '\r' && buf[end + 3] == '\n')
			break;
	if (end + 3 >= n) {
		if (n - start >= HTTP_HEAD_MAX)
			return fail(status, 431, d, "the request's head is over 16 KiB");
		/* a bare LF or a NUL already seen is an error now, not after 16 KiB */
		for (i = start; i < n; i++)
			if (buf[i] == '\0' || (buf[i] == '\n' && (i == start || buf[i - 1] != '\r')))
				return fail(status, 400, d, "a line of the request's head does not end with CRLF");
		return PV_ETRUNC;
	}
	size_t hl = end + 2 - start;  /* through the last header's CRLF */
	if (hl > HTTP_HEAD_MAX)
		return fail(status, 431, d, "the request's head is over 16 KiB");
	memset(r, 0, offsetof(struct http_req, head));
	memcpy(r->head, buf + start, hl);
	r->head[hl] = '\0';
	r->content_length = -1;
	r->query = "";
	/* every line ends with CRLF: no bare CR or LF, no NUL */
	for (i = 0; i < hl; i++) {
		char c = r->head[i];
		if (c == '\0')
			return fail(status, 400, d, "a NUL byte in the request's head");
		if (c == '\r' && r->head[i + 1] != '\n')
			return fail(status, 400, d, "a bare CR in the request's head");
		if (c == '\n' && (i == 0 || r->head[i - 1] != '\r'))
			return fail(status, 400, d, "a line of the request's head does not end with CRLF");
	}
	/* request line: method SP target SP HTTP-version */
	line = r->head;
	eol = strstr(line, "\r\n");
	*eol = '\0';
	p = line;
	while (tchar((unsigned char)*p))
		p++;
	if (p == line || *p != ' ')
		return fail(status, 400, d, "the request line's method is not a token");
	*p++ = '\0';
	r->method = line;
	r->target = p;
	while (*p != ' ' && *p != '\0') {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return fail(status, 400, d, "a control character in the request target");
		p++;
	}
	if (*p != ' ')
		return fail(status, 400, d, "the request line has no HTTP version");
	*p++ = '\0';
	if (strlen(r->target) >= HTTP_TARGET_MAX)
		return fail(status, 414, d, "the request target is over 8 KiB");
	if (strcmp(p, "HTTP/1.1") == 0)
		r->minor = 1;
	else if (strcmp(p, "HTTP/1.0") == 0)
		r->minor = 0;
	else if (strncmp(p, "HTTP/", 5) == 0)
		return fail(status, 505, d, "only HTTP/1.1 and HTTP/1.0 are spoken");
	else
		return fail(status, 400, d, "the request line's version is not HTTP/1.x");
	{
		const char *q = strchr(r->target, '?');
		size_t pl = q != NULL ? (size_t)(q - r->target) : strlen(r->target);
		if (r->target[0] != '/' || decode_path(r->target, pl, r->path, sizeof(r->path)) != 0)
			return fail(status, 400, d, "the request target is not an absolute path (origin-form) without dot "
			    "segments or encoded NUL");
		if (q != NULL)
			r->query = q + 1;
	}
	/* header fields */
	int hosts = 0, cls = 0, tes = 0;
	const char *conn = NULL;
	for (line = eol + 2; *line != '\0'; line = eol + 2) {
		char *name = line, *v, *ve;

		eol = strstr(line, "\r\n");
		*eol = '\0';
		if (*line == ' ' || *line == '\t')
			return fail(status, 400, d, "a header line folded onto the next (obs-fold)");
		p = line;
		while (tchar((unsigned char)*p))
			p++;
		if (p == line || *p != ':')
			return fail(status, 400, d, "a header field name is not a token followed by ':' (no space "
			    "before the colon)");
		*p++ = '\0';
		v = p;
		while (*v == ' ' || *v == '\t')
			v++;
		for (ve = v; *ve != '\0'; ve++)
			if (!vchar((unsigned char)*ve))
				return fail(status, 400, d, "a control character in a header value");
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		*ve = '\0';
		if (r->nh == HTTP_HEADERS_MAX)
			return fail(status, 431, d, "over 64 header fields");
		r->h[r->nh].name = name;
		r->h[r->nh++].value = v;
		if (strcasecmp(name, "Host") == 0)
			hosts++;
		else if (strcasecmp(name, "Content-Length") == 0) {
			uint64_t cl = 0;
			if (++cls > 1)
				return fail(status, 400, d, "two Content-Length fields");
			if (*v == '\0')
				return fail(status, 400, d, "an empty Content-Length");
			for (const char *q = v; *q != '\0'; q++) {
				if (*q < '0' || *q > '9' || cl > ((uint64_t)1 << 56))
					return fail(status, 400, d, "Content-Length is not one decimal number");
				cl = cl * 10 + (uint64_t)(*q - '0');
			}
			r->content_length = (int64_t)cl;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			if (++tes > 1)
				return fail(status, 400, d, "two Transfer-Encoding fields");
			if (strcasecmp(v, "chunked") != 0) {
				*status = 501;
				return pv_diag_set(d, PV_EPARSE, -1, "a Transfer-Encoding other than chunked");
			}
			r->chunked = 1;
		} else if (strcasecmp(name, "Connection") == 0) {
			conn = v;
		}
	}
	if (cls > 0 && tes > 0)
		return fail(status, 400, d, "both Content-Length and Transfer-Encoding (a smuggling attempt)");
	if (tes > 0 && r->minor == 0)
		return fail(status, 400, d, "Transfer-Encoding in an HTTP/1.0 request");
	if (r->minor == 1 && hosts != 1)
		return fail(status, 400, d, hosts == 0 ? "no Host field" : "two Host fields");
	r->keep_alive = r->minor == 1;
	if (conn != NULL) {
		/* a list of tokens */
		const char *q = conn;
		while (*q != '\0') {
			size_t k = strcspn(q, ", \t");
			if (k == 5 && strncasecmp(q, "close", 5) == 0)
				r->keep_alive = 0;
			else if (k == 10 && strncasecmp(q, "keep-alive", 10) == 0 && r->minor == 0)
				r->keep_alive = 1;
			q += k;
			q += strspn(q, ", \t");
		}
	}
	*used = start + hl + 2;
	*status = 0;
	return 0;
}

const char *
http_header(const struct http_req *r, const char *name, size_t *count)
{
	const char *v = NULL;
	size_t c = 0;

	for (size_t i = 0; i < r->nh; i++)
		if (strcasecmp(r->h[i].name, name) == 0) {
			if (v == NULL)
				v = r->h[i].value;
			c++;
		}
	if (count != NULL)
		*count = c;
	return v;
}

enum { CK_SIZE, CK_EXT, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_TRAILER, CK_TRAILER_LF, CK_END_LF };

void
http_chunked_init(struct http_chunked *c, uint64_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
}

int
http_chunked_feed(struct http_chunked *c, const char *in, size_t n, size_t *used, char *out, size_t *out_n,
    struct pv_diag *d)
{
	size_t i = 0;

	*out_n = 0;
	while (i < n && !c->done) {
		unsigned char ch = (unsigned char)in[i];
		int h;

		switch (c->state) {
		case CK_SIZE:
			if ((h = hexval(ch)) >= 0) {
				if (c->line >= 15)
					return pv_diag_set(d, PV_ELIMIT, -1, "a chunk size of over 15 hex digits");
				c->left = c->left * 16 + (uint64_t)h;
				c->line++;
				i++;
			} else if (c->line > 0 && (ch == ';' || ch == ' ' || ch == '\t')) {
				c->state = CK_EXT;
				i++;
			} else if (c->line > 0 && ch == '\r') {
				c->state = CK_SIZE_LF;
				i++;
			} else {
				return pv_diag_set(d, PV_EPARSE, -1, "a chunk size is not hexadecimal");
			}
			break;
		case CK_EXT:   /* chunk extensions are skipped, within a line limit */
			if (ch == '\r')
				c->state = CK_SIZE_LF;
			else if (ch == '\n' || ch == 0 || ++c->line > 4096)
				return pv_diag_set(d, PV_EPARSE, -1, "a malformed chunk extension");
			i++;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				return pv_diag_set(d, PV_EPARSE, -1, "a chunk size line does not end with CRLF");
			i++;
			c->line = 0;
			if (c->max != 0 && c->left > c->max - c->total)
				return pv_diag_set(d, PV_ELIMIT, -1, "the body is over its limit");
			c->state = c->left == 0 ? CK_TRAILER : CK_DATA;
			break;
		case CK_DATA: {
			size_t k = n - i < c->left ? n - i : (size_t)c->left;
			if (out != NULL)
				memcpy(out + *out_n, in + i, k);
			*out_n += k;
			c->total += k;
			c->left -= k;
			i += k;
			if (c->left == 0)
				c->state = CK_DATA_CR;
			break;
		}
		case CK_DATA_CR:
			if (ch != '\r')
				return pv_diag_set(d, PV_EPARSE, -1, "a chunk's data does not end with CRLF");
			c->state = CK_DATA_LF;
			i++;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				return pv_diag_set(d, PV_EPARSE, -1, "a chunk's data does not end with CRLF");
			c->state = CK_SIZE;
			c->line = 0;
			c->left = 0;
			i++;
			break;
		case CK_TRAILER:  /* trailer fields are read and dropped; an empty line ends the body */
			if (ch == '\r') {
				c->state = c->line == 0 ? CK_END_LF : CK_TRAILER_LF;
			} else if (ch == '\n' || ch == 0 || ++c->line > 4096) {
				return pv_diag_set(d, PV_EPARSE, -1, "a malformed trailer");
			}
			i++;
			break;
		case CK_TRAILER_LF:
			if (ch != '\n')
				return pv_diag_set(d, PV_EPARSE, -1, "a trailer line does not end with CRLF");
			c->line = 0;
			c->state = CK_TRAILER;
			i++;
			break;
		case CK_END_LF:
			if (ch != '\n')
				return pv_diag_set(d, PV_EPARSE, -1, "the chunked body does not end with CRLF");
			c->done = 1;
			i++;
			break;
		default:
			return PV_EINTERNAL;
		}
	}
	*used = i;
	return 0;
}

int
http_query_next(const char *q, size_t *pos, char *name, size_t nn, char *value, size_t vn)
{
	size_t p = *pos, len = strlen(q);

	while (p < len && q[p] == '&')
		p++;
	if (p >= len)
		return 0;
	size_t e = p + strcspn(q + p, "&"), eq = p + strcspn(q + p, "=&");
	*pos = e;
	if (pct_decode(q + p, eq - p, 1, name, nn) != 0)
		return -1;
	if (eq < e) {
		if (pct_decode(q + eq + 1, e - eq - 1, 1, value, vn) != 0)
			return -1;
	} else {
		if (vn == 0)
			return -1;
		value[0] = '\0';
	}
	return 1;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int
http_media_param(const char *value, const char *param, char *out, size_t n)
{
	size_t pl = strlen(param);
	const char *p = strchr(value, ';');

	while (p != NULL) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, param, pl) == 0 && p[pl] == '=') {
			const char *v = p + pl + 1;
			size_t k = 0;
			if (*v == '"') {
				for (v++; *v != '\0' && *v != '"'; v++) {
					if (*v == '\\' && v[1] != '\0')
						v++;
					if (k + 1 >= n)
						return -1;
					out[k++] = *v;
				}
				if (*v != '"')
					return -1;
			} else {
				for (; *v != '\0' && *v != ';' && *v != ' ' && *v != '\t'; v++) {
					if (k + 1 >= n)
						return -1;
					out[k++] = *v;
				}
			}
			out[k] = '\0';
			return 0;
		}
		p = strchr(p, ';');
	}
	return -1;
}

enum { MP_PRE, MP_AFTER, MP_HDR, MP_BODY, MP_END };

void
http_multipart_init(struct http_multipart *m, const char *boundary, const char *want_type, uint64_t max_part,
    http_part_fn part, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->dl = (size_t)snprintf(m->delim, sizeof(m->delim), "--%.70s", boundary);
	snprintf(m->want, sizeof(m->want), "%s", want_type);
	m->max_part = max_part;
	m->part = part;
	m->ctx = ctx;
	pv_buf_init(&m->cur, (size_t)(max_part + 65536));
}

void
http_multipart_free(struct http_multipart *m)
{
	pv_buf_free_scrub(&m->cur);
}

static void
mp_erase(struct pv_buf *b, size_t k)
{
	memmove(b->data, b->data + k, b->len - k);
	b->len -= k;
}

static int
mp_fail(struct http_multipart *m, const char *why)
{
	snprintf(m->why, sizeof(m->why), "%s", why);
	return PV_EPARSE;
}

int
http_multipart_feed(struct http_multipart *m, const char *in, size_t n)
{
	if (m->state == MP_END)
		return 0;   /* the epilogue is ignored */
	if (pv_buf_append(&m->cur, in, n) != 0)
		return PV_ELIMIT;
	for (;;) {
		char *c = m->cur.data;
		size_t len = m->cur.len;

		switch (m->state) {
		case MP_PRE: {
			char *at = len >= m->dl ? memmem(c, len, m->delim, m->dl) : NULL;
			if (at == NULL) {
				if (len >= m->dl)
					mp_erase(&m->cur, len - m->dl + 1);
				return 0;
			}
			/* a delimiter starts a line: at the very start or after CRLF */
			if (at != c && (at - c < 2 || at[-2] != '\r' || at[-1] != '\n')) {
				mp_erase(&m->cur, (size_t)(at - c) + 1);
				break;
			}
			mp_erase(&m->cur, (size_t)(at - c) + m->dl);
			m->state = MP_AFTER;
			break;
		}
		case MP_AFTER: {
			size_t k = 0;
			if (len < 2)
				return 0;
			if (c[0] == '-' && c[1] == '-') {
				m->state = MP_END;
				m->done = 1;
				m->cur.len = 0;
				return 0;
			}
			while (k < len && (c[k] == ' ' || c[k] == '\t'))
				k++;   /* transport padding (RFC 2046 5.1.1) */
			if (k > 256)
				return mp_fail(m, "a malformed boundary line");
			if (k + 2 > len)
				return 0;
			if (c[k] != '\r' || c[k + 1] != '\n')
				return mp_fail(m, "a boundary line does not end with CRLF");
			mp_erase(&m->cur, k + 2);
			m->state = MP_HDR;
			break;
		}
		case MP_HDR: {
			char *end = NULL;
			if (len >= 2 && c[0] == '\r' && c[1] == '\n')
				end = c;   /* no header fields */
			else if (len >= 4)
				end = memmem(c, len, "\r\n\r\n", 4);
			if (end == NULL) {
				if (len > 16384)
					return mp_fail(m, "a part's headers are over 16 KiB");
				return 0;
			}
			m->type_ok = 1;
			for (char *l = c; l < end;) {
				char *e = memmem(l, (size_t)(end - l) + 2, "\r\n", 2);
				size_t ll = (size_t)(e - l);
				if (ll > 13 && strncasecmp(l, "Content-Type:", 13) == 0) {
					char v[128];
					size_t k = 13;
					while (k < ll && (l[k] == ' ' || l[k] == '\t'))
						k++;
					snprintf(v, sizeof(v), "%.*s", (int)(ll - k < 120 ? ll - k : 120), l + k);
					v[strcspn(v, "; \t")] = '\0';
					m->type_ok = strcasecmp(v, m->want) == 0;
				}
				l = e + 2;
			}
			mp_erase(&m->cur, (size_t)(end - c) + (end == c ? 2 : 4));
			m->state = MP_BODY;
			m->scan = 0;
			break;
		}
		case MP_BODY: {
			char pat[84];
			char *at;
			int rc;

			pat[0] = '\r';
			pat[1] = '\n';
			memcpy(pat + 2, m->delim, m->dl);
			at = len >= m->dl + 2 && len - m->scan >= m->dl + 2 ? memmem(c + m->scan, len - m->scan, pat, m->dl + 2) : NULL;
			if (at == NULL) {
				if ((uint64_t)len > m->max_part + m->dl + 2)
					return PV_ELIMIT;
				m->scan = len > m->dl + 2 ? len - m->dl - 1 : 0;
				return 0;
			}
			if ((uint64_t)(at - c) > m->max_part)
				return PV_ELIMIT;
			if ((rc = m->part(m->ctx, c, (size_t)(at - c), m->type_ok)) != 0)
				return rc;
			mp_erase(&m->cur, (size_t)(at - m->cur.data) + m->dl + 2);
			m->state = MP_AFTER;
			break;
		}
		default:
			return 0;
		}
	}
}
