/* buf.c: bounded growable byte buffers. */
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pv_buf_init(struct pv_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int
buf_grow(struct pv_buf *b, size_t n)
{
	size_t want, ncap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return PV_ELIMIT;
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return PV_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

char *
pv_buf_reserve(struct pv_buf *b, size_t n)
{
	if (b->data != NULL && n < b->cap - b->len)
		return b->data + b->len;  /* room already there (cap never exceeds max + 1) */
	if (buf_grow(b, n) != 0)
		return NULL;
	return b->data + b->len;
}

int
pv_buf_append(struct pv_buf *b, const void *p, size_t n)
{
	int rc;

	if (n < b->cap - b->len && b->data != NULL) {
		/* room already there (cap never exceeds max + 1) */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	rc = buf_grow(b, n);
	if (rc != 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
pv_buf_puts(struct pv_buf *b, const char *s)
{
	return pv_buf_append(b, s, strlen(s));
}

int
pv_buf_putc(struct pv_buf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return pv_buf_append(b, &c, 1);
}

int
pv_buf_fill(struct pv_buf *b, char c, size_t n)
{
	char *p = pv_buf_reserve(b, n);
	if (p == NULL)
		return n > b->max - b->len ? PV_ELIMIT : PV_ENOMEM;
	memset(p, c, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
pv_buf_vprintf(struct pv_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	/* Most lines fit in the room already there: format once. */
	if (b->cap > b->len + 1) {
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0) {
			b->data[b->len] = '\0';
			return PV_EINVAL;
		}
		if ((size_t)n < b->cap - b->len) {
			if ((size_t)n > b->max - b->len) {
				b->data[b->len] = '\0';
				return PV_ELIMIT;
			}
			b->len += (size_t)n;
			return 0;
		}
		b->data[b->len] = '\0';
	} else {
		va_copy(ap2, ap);
		n = vsnprintf(NULL, 0, fmt, ap2);
		va_end(ap2);
		if (n < 0)
			return PV_EINVAL;
	}
	if ((rc = buf_grow(b, (size_t)n)) != 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
pv_buf_printf(struct pv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pv_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
pv_buf_reset(struct pv_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
pv_buf_free(struct pv_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
pv_buf_free_scrub(struct pv_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);   /* not optimised away, and at memset's speed */
	pv_buf_free(b);
}
