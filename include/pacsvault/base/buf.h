/*
 * buf.h: bounded growable byte buffers.
 *
 * A pv_buf grows on demand up to its maximum and never past it: an append
 * that would exceed max fails with PV_ELIMIT and leaves the buffer as it was.
 * The bytes are always NUL-terminated (not counted in len), so text can be
 * used as a C string. Owned by the caller; release with pv_buf_free().
 */
#ifndef PV_BASE_BUF_H
#define PV_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct pv_buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes used */
	size_t cap;  /* bytes allocated */
	size_t max;  /* most bytes it may ever hold */
};

/* Initialises b with a maximum size (no allocation yet). */
void pv_buf_init(struct pv_buf *b, size_t max);
/* Appends n bytes. 0, PV_ENOMEM or PV_ELIMIT. */
int pv_buf_append(struct pv_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
/* Appends a C string. */
int pv_buf_puts(struct pv_buf *b, const char *s) __attribute__((warn_unused_result));
/* Appends one byte. */
int pv_buf_putc(struct pv_buf *b, char c) __attribute__((warn_unused_result));
/* Appends n copies of c. */
int pv_buf_fill(struct pv_buf *b, char c, size_t n) __attribute__((warn_unused_result));
/* Appends formatted text. */
int pv_buf_printf(struct pv_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
int pv_buf_vprintf(struct pv_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), warn_unused_result));
/* Makes room for n more bytes; returns a pointer to them or NULL. */
char *pv_buf_reserve(struct pv_buf *b, size_t n) __attribute__((warn_unused_result));
/* Empties b, keeping its memory. */
void pv_buf_reset(struct pv_buf *b);
/* Releases b's memory; b may be reused after pv_buf_init(). NULL-safe. */
void pv_buf_free(struct pv_buf *b);
/* Like pv_buf_free but zeroes the bytes first (for secrets). */
void pv_buf_free_scrub(struct pv_buf *b);

#endif
