/*
 * jsonw.h: a streaming JSON writer (RFC 8259) into a pv_buf.
 *
 * Tracks nesting and commas so callers only say what comes next. Strings
 * are escaped; invalid UTF-8 in a string is replaced by U+FFFD so the output
 * is always valid JSON. Errors are sticky: the first failure (buffer limit,
 * memory, nesting over PV_JW_MAX_DEPTH, misuse) is kept in w->err and later
 * calls do nothing.
 */
#ifndef PV_BASE_JSONW_H
#define PV_BASE_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"

#define PV_JW_MAX_DEPTH 256

struct pv_jw {
	struct pv_buf *out;          /* borrowed */
	int err;
	unsigned depth;
	int pretty;                  /* newline + indent */
	uint8_t first[PV_JW_MAX_DEPTH]; /* no member written yet at this depth */
	uint8_t after_key;
};

void pv_jw_init(struct pv_jw *w, struct pv_buf *out, int pretty);
void pv_jw_begin_object(struct pv_jw *w);
void pv_jw_end_object(struct pv_jw *w);
void pv_jw_begin_array(struct pv_jw *w);
void pv_jw_end_array(struct pv_jw *w);
/* An object key (n bytes). */
void pv_jw_key(struct pv_jw *w, const char *k, size_t n);
/* A string value (n bytes of UTF-8). */
void pv_jw_string(struct pv_jw *w, const char *s, size_t n);
/* A number or literal written as is (caller guarantees JSON syntax). */
void pv_jw_raw(struct pv_jw *w, const char *s, size_t n);
/* A base64 (RFC 4648 section 4) string of n bytes. */
void pv_jw_base64(struct pv_jw *w, const uint8_t *p, size_t n);

/* Appends the base64 form of n bytes to out. */
int pv_base64_append(struct pv_buf *out, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));

#endif
