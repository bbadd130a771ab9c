/* huff.c: JPEG markers, Huffman tables, bit reader and code lengths (see huff.h). */
#include "huff.h"

#include <string.h>

int
jh_derive(struct jh_table *h, struct pv_diag *d, int64_t off)
{
	int32_t code = 0, k = 0;

	memset(h->size, 0, sizeof(h->size));
	for (int l = 1; l <= 16; l++) {
		h->valptr[l] = k;
		h->mincode[l] = code;
		for (int i = 0; i < h->bits[l]; i++) {
			uint8_t v = h->vals[k];
			h->code[v] = (uint16_t)code;
			h->size[v] = (uint8_t)l;
			code++;
			k++;
		}
		h->maxcode[l] = h->bits[l] ? code - 1 : -1;
		if (code > (1 << l))
			return pv_diag_set(d, PV_EPARSE, off, "JPEG Huffman table has too many codes of length %d", l);
		code <<= 1;
	}
	h->maxcode[17] = 0x7fffffff;
	h->defined = 1;
	return 0;
}

void
jh_fill(struct jh_reader *b)
{
	while (b->nbits <= 56) {
		uint8_t c = 0;
		if (!b->at_marker && b->pos < b->end) {
			c = b->p[b->pos];
			if (c == 0xff) {
				if (b->pos + 1 < b->end && b->p[b->pos + 1] == 0x00) {
					b->pos += 2;
				} else {
					b->at_marker = 1;
					c = 0;
					b->fake += 8;
				}
			} else {
				b->pos++;
			}
		} else {
			if (!b->at_marker)
				b->eof = 1;
			b->at_marker = 1;
			b->fake += 8;
		}
		b->acc |= (uint64_t)c << (56 - b->nbits);
		b->nbits += 8;
	}
}

/* T.81 K.2: code lengths from frequencies, limited to 16 bits. */
void
jh_optimal(struct jh_table *h, const uint32_t freq_in[256])
{
	int64_t freq[258];
	int codesize[258], others[258];
	int nbits[40] = { 0 };

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 258; i++) {
		freq[i] = i < 256 ? freq_in[i] : 0;
		codesize[i] = 0;
		others[i] = -1;
	}
	freq[256] = 1;  /* reserved so no code is all ones */
	for (;;) {
		int c1 = -1, c2 = -1;
		int64_t v = INT64_MAX;
		for (int i = 0; i <= 256; i++)
			if (freq[i] && freq[i] <= v) {
				v = freq[i];
				c1 = i;
			}
		v = INT64_MAX;
		for (int i = 0; i <= 256; i++)
			if (freq[i] && freq[i] <= v && i != c1) {
				v = freq[i];
				c2 = i;
			}
		if (c2 < 0)
			break;
		freq[c1] += freq[c2];
		freq[c2] = 0;
		codesize[c1]++;
		while (others[c1] >= 0) {
			c1 = others[c1];
			codesize[c1]++;
		}
		others[c1] = c2;
		codesize[c2]++;
		while (others[c2] >= 0) {
			c2 = others[c2];
			codesize[c2]++;
		}
	}
	for (int i = 0; i <= 256; i++)
		if (codesize[i])
			nbits[codesize[i]]++;
	for (int i = 39; i > 16; i--)
		while (nbits[i] > 0) {
			int j = i - 2;
			while (nbits[j] == 0)
				j--;
			nbits[i] -= 2;
			nbits[i - 1]++;
			nbits[j + 1] += 2;
			nbits[j]--;
		}
	{
		int i = 16;
		while (nbits[i] == 0)
			i--;
		nbits[i]--;  /* drop the reserved code */
	}
	int k = 0;
	for (int l = 1; l <= 32 && k < 256; l++)
		for (int s = 0; s <= 255; s++)
			if (codesize[s] == l)
				h->vals[k++] = (uint8_t)s;
	for (int l = 1; l <= 16; l++)
		h->bits[l] = (uint8_t)nbits[l];
}

int
jh_segment(const uint8_t *in, size_t n, size_t *pos, uint8_t *m, const uint8_t **seg, size_t *slen,
    struct pv_diag *d)
{
	size_t p = *pos, len;

	while (p + 1 < n && in[p] == 0xff && in[p + 1] == 0xff)
		p++;  /* fill bytes */
	*pos = p;
	*seg = NULL;
	*slen = 0;
	if (p + 2 > n)
		return pv_diag_set(d, PV_ETRUNC, (int64_t)p, "JPEG stream ends before EOI");
	if (in[p] != 0xff)
		return pv_diag_set(d, PV_EPARSE, (int64_t)p, "JPEG marker expected");
	*m = in[p + 1];
	if (*m == 0xd9)
		return 0;
	if (*m >= 0xd0 && *m <= 0xd7)
		return pv_diag_set(d, PV_EPARSE, (int64_t)p, "JPEG restart marker outside a scan");
	if (*m == 0xd8 || *m == 0x01)
		return pv_diag_set(d, PV_EPARSE, (int64_t)p, "JPEG marker FF%02X out of place", *m);
	if (p + 4 > n || (len = jh_be16(in + p + 2)) < 2 || len > n - p - 2)
		return pv_diag_set(d, PV_ETRUNC, (int64_t)p, "JPEG marker segment passes the end");
	*seg = in + p + 4;
	*slen = len - 2;
	*pos = p + 2 + len;
	return 0;
}

int
jh_read_dht(struct jh_table dc[4], struct jh_table *ac, const uint8_t *seg, size_t slen, int64_t off,
    struct pv_diag *d)
{
	size_t k = 0;
	int rc;

	while (k < slen) {
		unsigned tc = seg[k] >> 4, th = seg[k] & 15, total = 0;
		struct jh_table *h;
		if (tc > (ac != NULL ? 1u : 0u) || th > 3 || slen - k < 17)
			return pv_diag_set(d, PV_EPARSE, off + (int64_t)k, "JPEG Huffman table header is malformed");
		h = tc ? &ac[th] : &dc[th];
		memset(h, 0, sizeof(*h));
		for (int l = 1; l <= 16; l++)
			total += (h->bits[l] = seg[k + (size_t)l]);
		if (total > 256 || slen - k - 17 < total)
			return pv_diag_set(d, PV_EPARSE, off + (int64_t)k, "JPEG Huffman table passes its segment");
		memcpy(h->vals, seg + k + 17, total);
		if ((rc = jh_derive(h, d, off + (int64_t)k)) != 0)
			return rc;
		k += 17 + total;
	}
	return 0;
}

size_t
jh_after_scan(const uint8_t *in, size_t n, size_t pos)
{
	while (pos + 1 < n && !(in[pos] == 0xff && in[pos + 1] != 0x00 && in[pos + 1] != 0xff))
		pos++;
	return pos;
}
