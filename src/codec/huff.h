/*
 * huff.h: the Huffman machinery JPEG's entropy coders share (ITU T.81
 * Annex C, F.2.2 and K.2): tables derived from BITS/HUFFVAL, a bit reader
 * that undoes byte stuffing and stops at markers, a bit writer that
 * stuffs, and optimal code lengths from symbol counts. Internal to
 * src/codec (jpegll.c, jpegdct.c).
 */
#ifndef PV_CODEC_HUFF_H
#define PV_CODEC_HUFF_H

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

#include <stddef.h>
#include <stdint.h>

struct jh_table {
	int defined;
	uint8_t bits[17];      /* bits[l]: number of codes of length l */
	uint8_t vals[256];
	int32_t mincode[17], maxcode[18], valptr[17];
	uint16_t code[256];    /* encoder: code of symbol, by symbol */
	uint8_t size[256];     /* encoder: its length (0: none) */
};

/* Codes from bits/vals (T.81 C.2); an over-full table is an error at off. */
int jh_derive(struct jh_table *h, struct pv_diag *d, int64_t off);

/* T.81 K.2: a table for the symbols counted in freq (lengths at most 16). */
void jh_optimal(struct jh_table *h, const uint32_t freq[256]);

static inline uint16_t
jh_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The next marker of a JPEG stream at *pos (fill bytes skipped), checked
 * against the input. *m is the marker. For EOI *seg is NULL and *pos stays;
 * for a marker segment *seg and *slen are its body (length checked) and *pos
 * moves past it. A restart marker, SOI or TEM here is an error.
 */
int jh_segment(const uint8_t *in, size_t n, size_t *pos, uint8_t *m, const uint8_t **seg, size_t *slen,
    struct pv_diag *d);

/* A DHT segment into dc[Th] or (class 1) ac[Th]; ac NULL: DC-class tables only (lossless). */
int jh_read_dht(struct jh_table dc[4], struct jh_table *ac, const uint8_t *seg, size_t slen, int64_t off,
    struct pv_diag *d);

/* After a scan's entropy-coded data: the position of the next marker at or after pos. */
size_t jh_after_scan(const uint8_t *in, size_t n, size_t pos);

struct jh_reader {
	const uint8_t *p;
	size_t pos, end;
	uint64_t acc;
	int nbits;
	int at_marker;      /* a marker (or the end) was reached: zeros follow */
	int fake;           /* of nbits, how many (the last ones) are such zeros */
	int eof;            /* the input ended without a marker */
	unsigned overrun;   /* zero bits consumed past the data */
};

void jh_fill(struct jh_reader *b);

static inline uint32_t
jh_bits(struct jh_reader *b, int n)
{
	uint32_t v;
	if (n == 0)
		return 0;
	if (b->nbits < n)
		jh_fill(b);
	v = (uint32_t)(b->acc >> (64 - n));
	b->acc <<= n;
	b->nbits -= n;
	if (b->fake > b->nbits) {
		b->overrun += (unsigned)(b->fake - b->nbits);
		b->fake = b->nbits;
	}
	return v;
}

/* The next symbol coded with h, or -1 for a code h does not have. */
static inline int
jh_decode(struct jh_reader *b, const struct jh_table *h)
{
	int32_t code = 0;
	for (int l = 1; l <= 16; l++) {
		code = (code << 1) | (int32_t)jh_bits(b, 1);
		if (h->bits[l] && code <= h->maxcode[l])
			return h->vals[h->valptr[l] + code - h->mincode[l]];
	}
	return -1;
}

/* After a restart marker or at a scan's start: reading resumes at pos. */
static inline void
jh_reset(struct jh_reader *b, size_t pos)
{
	b->acc = 0;
	b->nbits = 0;
	b->pos = pos;
	b->at_marker = 0;
	b->fake = 0;
	b->overrun = 0;
}

struct jh_writer {
	struct pv_buf *out;
	uint32_t acc;
	int n;
	int rc;
};

/* Appends the low n bits of v (n <= 24), stuffing 0x00 after each 0xFF. */
static inline void
jh_put(struct jh_writer *w, uint32_t v, int n)
{
	if (n == 0)
		return;
	w->acc = (w->acc << n) | (v & ((1u << n) - 1));
	w->n += n;
	while (w->n >= 8) {
		uint8_t c = (uint8_t)(w->acc >> (w->n - 8));
		w->n -= 8;
		if (w->rc == 0)
			w->rc = pv_buf_putc(w->out, (char)c);
		if (c == 0xff && w->rc == 0)
			w->rc = pv_buf_putc(w->out, 0);
	}
	w->acc &= (1u << w->n) - 1;
}

/* Pads the last byte with ones (T.81 F.1.2.3). */
static inline void
jh_flush(struct jh_writer *w)
{
	if (w->n > 0)
		jh_put(w, 0x7f, 8 - w->n);
}

/* The magnitude category (SSSS) of v: bits needed for |v|. */
static inline unsigned
jh_category(int32_t v)
{
	uint32_t a = (uint32_t)(v < 0 ? -(int64_t)v : v);
	unsigned s = 0;
	while (a) {
		s++;
		a >>= 1;
	}
	return s;
}

#endif
