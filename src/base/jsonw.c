/* jsonw.c: a streaming JSON writer (RFC 8259). */
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/err.h"

#include <string.h>

void
pv_jw_init(struct pv_jw *w, struct pv_buf *out, int pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first[0] = 1;
}

static void
jw_put(struct pv_jw *w, const char *s, size_t n)
{
	if (w->err == 0)
		w->err = pv_buf_append(w->out, s, n);
}

static void
jw_indent(struct pv_jw *w)
{
	if (!w->pretty)
		return;
	jw_put(w, "\n", 1);
	for (unsigned i = 0; i < w->depth && w->err == 0; i++)
		jw_put(w, "  ", 2);
}

/* Before any value or key: comma and indentation as needed. */
static void
jw_before(struct pv_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		jw_put(w, ",", 1);
	w->first[w->depth] = 0;
	if (w->depth > 0)
		jw_indent(w);
}

static void
jw_open(struct pv_jw *w, const char *c)
{
	jw_before(w);
	jw_put(w, c, 1);
	if (w->depth + 1 >= PV_JW_MAX_DEPTH) {
		if (w->err == 0)
			w->err = PV_ELIMIT;
		return;
	}
	w->depth++;
	w->first[w->depth] = 1;
}

static void
jw_close(struct pv_jw *w, const char *c)
{
	int empty;
	if (w->depth == 0) {
		if (w->err == 0)
			w->err = PV_EINTERNAL;
		return;
	}
	empty = w->first[w->depth];
	w->depth--;
	if (!empty)
		jw_indent(w);
	jw_put(w, c, 1);
}

void pv_jw_begin_object(struct pv_jw *w) { jw_open(w, "{"); }
void pv_jw_end_object(struct pv_jw *w) { jw_close(w, "}"); }
void pv_jw_begin_array(struct pv_jw *w) { jw_open(w, "["); }
void pv_jw_end_array(struct pv_jw *w) { jw_close(w, "]"); }

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void
jw_escaped(struct pv_jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	jw_put(w, "\"", 1);
	while (i < n && w->err == 0) {
		unsigned c = p[i];
		size_t l;
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		jw_put(w, (const char *)p + i - run, run);
		run = 0;
		if (c == '"') {
			jw_put(w, "\\\"", 2);
			i++;
		} else if (c == '\\') {
			jw_put(w, "\\\\", 2);
			i++;
		} else if (c < 0x20) {
			char esc[8];
			static const char hex[] = "0123456789abcdef";
			if (c == '\n')
				jw_put(w, "\\n", 2);
			else if (c == '\r')
				jw_put(w, "\\r", 2);
			else if (c == '\t')
				jw_put(w, "\\t", 2);
			else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				jw_put(w, esc, 6);
			}
			i++;
		} else if ((l = utf8_len(p + i, n - i)) > 0) {
			jw_put(w, (const char *)p + i, l);
			i += l;
		} else {
			jw_put(w, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	jw_put(w, (const char *)p + i - run, run);
	jw_put(w, "\"", 1);
}

void
pv_jw_key(struct pv_jw *w, const char *k, size_t n)
{
	jw_before(w);
	jw_escaped(w, k, n);
	jw_put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
	w->after_key = 1;
}

void
pv_jw_string(struct pv_jw *w, const char *s, size_t n)
{
	jw_before(w);
	jw_escaped(w, s, n);
}

void
pv_jw_raw(struct pv_jw *w, const char *s, size_t n)
{
	jw_before(w);
	jw_put(w, s, n);
}

int
pv_base64_append(struct pv_buf *out, const uint8_t *p, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o;
	size_t i, olen;

	if (n > (SIZE_MAX / 4) * 3 - 3)
		return PV_ELIMIT;
	olen = (n + 2) / 3 * 4;
	if ((o = pv_buf_reserve(out, olen)) == NULL)
		return PV_ELIMIT;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len += olen;
	out->data[out->len] = '\0';
	return 0;
}

void
pv_jw_base64(struct pv_jw *w, const uint8_t *p, size_t n)
{
	jw_before(w);
	jw_put(w, "\"", 1);
	if (w->err == 0)
		w->err = pv_base64_append(w->out, p, n);
	jw_put(w, "\"", 1);
}
