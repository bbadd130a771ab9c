/*
 * jpegmeta.c: comment and application segments out of JPEG-family frames
 * (see codec.h, jpegmeta_strip). T.81 B.1.1 (marker segments), T.87 (the
 * JPEG-LS marker stuffing), JFIF 1.02 (the APP0 thumbnail).
 */
#include "pacsvault/codec/codec.h"
#include "huff.h"

#include <string.h>

/* The end of the entropy-coded data of a scan that starts at pos: the next marker that is not RSTn. */
static size_t
scan_end(const uint8_t *in, size_t n, size_t pos, int ls)
{
	for (;;) {
		size_t q = pos;
		while (q + 1 < n && in[q] != 0xff)
			q++;
		if (q + 1 >= n)
			return n;
		/* T.81 B.1.1.5: FF 00 is a stuffed byte; T.87 A.1: FF then a byte under 80 is stuffing */
		if ((!ls && in[q + 1] == 0x00) || (ls && in[q + 1] < 0x80) || (in[q + 1] >= 0xd0 && in[q + 1] <= 0xd7)) {
			pos = q + 2;
			continue;
		}
		return q;
	}
}

static int
put_segment(struct pv_buf *out, uint8_t m, const uint8_t *seg, size_t slen)
{
	uint8_t h[4] = { 0xff, m, (uint8_t)((slen + 2) >> 8), (uint8_t)(slen + 2) };
	int rc = pv_buf_append(out, h, 4);
	return rc != 0 ? rc : pv_buf_append(out, seg, slen);
}

int
jpegmeta_strip(const uint8_t *in, size_t n, int ls, struct pv_buf *out, unsigned *removed, struct pv_diag *d)
{
	size_t pos = 2;
	int rc;

	*removed = 0;
	if (n < 4 || in[0] != 0xff || in[1] != 0xd8)
		return pv_diag_set(d, PV_EPARSE, 0, "the frame does not start with a JPEG SOI marker");
	if ((rc = pv_buf_append(out, in, 2)) != 0)
		return rc;
	for (;;) {
		const uint8_t *seg;
		size_t slen;
		uint8_t m;
		if ((rc = jh_segment(in, n, &pos, &m, &seg, &slen, d)) != 0)
			return rc;
		if (m < 0xc0)  /* T.81 B.1.1.3: FF02-FFBF are reserved, FF01 (TEM) stands alone */
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "reserved JPEG marker FF%02X", m);
		if (m == 0xd9) {
			/* EOI: whatever follows (another fragment's bytes, a hidden payload) goes */
			size_t after = pos + 2;
			if (n - after > 1 || (n - after == 1 && in[after] != 0))
				(*removed)++;
			return pv_buf_append(out, "\xff\xd9", 2);
		}
		if (m == 0xfe) {
			(*removed)++;  /* COM: free text */
			continue;
		}
		if (m >= 0xe0 && m <= 0xef) {
			/* APPn: Exif, XMP, IPTC, vendor text and thumbnails go; what decoding needs stays */
			if (m == 0xe0 && slen >= 14 && memcmp(seg, "JFIF\0", 5) == 0) {
				uint8_t jfif[14];
				memcpy(jfif, seg, 12);
				jfif[12] = jfif[13] = 0;  /* no thumbnail (JFIF 1.02: Xthumbnail, Ythumbnail) */
				if (slen > 14)
					(*removed)++;
				if ((rc = put_segment(out, m, jfif, sizeof(jfif))) != 0)
					return rc;
				continue;
			}
			if ((m == 0xe2 && slen >= 12 && memcmp(seg, "ICC_PROFILE\0", 12) == 0) ||
			    (m == 0xee && slen >= 5 && memcmp(seg, "Adobe", 5) == 0)) {
				if ((rc = put_segment(out, m, seg, slen)) != 0)
					return rc;
				continue;
			}
			(*removed)++;
			continue;
		}
		if ((rc = put_segment(out, m, seg, slen)) != 0)
			return rc;
		if (m == 0xda) {
			size_t e = scan_end(in, n, pos, ls);
			if ((rc = pv_buf_append(out, in + pos, e - pos)) != 0)
				return rc;
			pos = e;
		}
	}
}

/*
 * The marker segments of a JPEG 2000 header from pos (the main header:
 * until SOT; a tile-part header: until SOD), each (marker, offset, length
 * with the marker) given to fn; *end gets the offset of the SOT or SOD.
 */
static int
j2k_header(const uint8_t *in, size_t n, size_t pos, int tile, size_t *end,
    int (*fn)(void *, unsigned, size_t, size_t), void *ctx, struct pv_diag *d)
{
	const char *where = tile ? "JPEG 2000 tile-part header" : "JPEG 2000 main header";
	int rc;

	for (;;) {
		size_t len;
		if (n - pos < 2 || in[pos] != 0xff)
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "%s: marker expected", where);
		if (in[pos + 1] == (tile ? 0x93 : 0x90)) {  /* SOD ends a tile-part header, SOT the main one */
			*end = pos;
			return 0;
		}
		if (n - pos < 4 || in[pos + 1] < 0x30 || in[pos + 1] == 0x4f || in[pos + 1] == 0x90 ||
		    in[pos + 1] == 0x93 || in[pos + 1] == 0xd9)
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "%s: FF%02X out of place", where, in[pos + 1]);
		len = (size_t)in[pos + 2] << 8 | in[pos + 3];
		if (len < 2 || len > n - pos - 2)
			return pv_diag_set(d, PV_ETRUNC, (int64_t)pos, "%s: a marker segment passes the end", where);
		if (fn != NULL && (rc = fn(ctx, in[pos + 1], pos, 2 + len)) != 0)
			return rc;
		pos += 2 + len;
	}
}

struct j2k_copy {
	const uint8_t *in;
	struct pv_buf *out;
	unsigned *removed;
	int drop_tlm;
	size_t dropped;  /* bytes left out of this header */
};

/* Copies a header's marker segment, or leaves it out: COM (free text), and TLM when asked. */
static int
j2k_copy_seg(void *arg, unsigned m, size_t pos, size_t len)
{
	struct j2k_copy *c = arg;

	if (m == 0x64 || (m == 0x55 && c->drop_tlm)) {
		if (m == 0x64)
			(*c->removed)++;
		c->dropped += len;
		return 0;
	}
	return pv_buf_append(c->out, c->in + pos, len);
}

static int
j2k_count_com(void *arg, unsigned m, size_t pos, size_t len)
{
	(void)pos;
	(void)len;
	if (m == 0x64)
		(*(unsigned *)arg)++;
	return 0;
}

/*
 * Walks the tile-parts from pos (each SOT, T.800 A.4.2): fn on each
 * tile-part header's segments; with out, copies each tile-part with its
 * header through j2k_copy_seg and its Psot made true again.
 */
static int
j2k_tiles(const uint8_t *in, size_t n, size_t pos, struct j2k_copy *c, unsigned *coms, struct pv_diag *d)
{
	int rc;

	for (;;) {
		size_t psot, sod, body, start = pos;

		if (n - pos >= 2 && in[pos] == 0xff && in[pos + 1] == 0xd9)
			return c != NULL ? pv_buf_append(c->out, in + pos, n - pos) : 0;  /* EOC */
		if (n - pos < 12 || in[pos] != 0xff || in[pos + 1] != 0x90 || in[pos + 2] != 0 || in[pos + 3] != 10)
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG 2000: a tile-part (SOT) expected");
		psot = (size_t)in[pos + 6] << 24 | (size_t)in[pos + 7] << 16 | (size_t)in[pos + 8] << 8 | in[pos + 9];
		if (psot == 0) {
			/* the last tile-part: up to the EOC, if there is one */
			psot = n - pos;
			if (psot >= 2 && in[n - 2] == 0xff && in[n - 1] == 0xd9)
				psot -= 2;
		}
		if (psot < 14 || psot > n - pos)
			return pv_diag_set(d, PV_ETRUNC, (int64_t)pos + 6, "JPEG 2000: a tile-part length (Psot) "
			    "passes the end");
		if (c == NULL && (rc = j2k_header(in, pos + psot, pos + 12, 1, &sod, j2k_count_com, coms, d)) != 0)
			return rc;
		if (c != NULL) {
			size_t at = c->out->len;
			uint32_t np;

			c->dropped = 0;
			if ((rc = pv_buf_append(c->out, in + pos, 12)) != 0 ||
			    (rc = j2k_header(in, pos + psot, pos + 12, 1, &sod, j2k_copy_seg, c, d)) != 0)
				return rc;
			body = pos + psot - sod;
			if ((rc = pv_buf_append(c->out, in + sod, body)) != 0)
				return rc;
			/* Psot again: 0 stays 0 (the last tile-part), else the bytes now written */
			if (in[start + 6] | in[start + 7] | in[start + 8] | in[start + 9]) {
				np = (uint32_t)(c->out->len - at);
				c->out->data[at + 6] = (char)(np >> 24);
				c->out->data[at + 7] = (char)(np >> 16);
				c->out->data[at + 8] = (char)(np >> 8);
				c->out->data[at + 9] = (char)np;
			}
		}
		pos += psot;
	}
}

/*
 * JPEG 2000 codestream (T.800 A.1-A.4): COM marker segments (FF64) go, from
 * the main header and from every tile-part header; a tile-part that lost
 * one gets its Psot made true, and the TLM segments (tile-part lengths, an
 * index decoders do not need) then go too. A stream that is not a bare
 * codestream (a JP2 box wrapper) is copied unchanged.
 */
int
j2kmeta_strip(const uint8_t *in, size_t n, struct pv_buf *out, unsigned *removed, struct pv_diag *d)
{
	struct j2k_copy c = { in, out, removed, 0, 0 };
	size_t sot;
	unsigned tile_coms = 0;
	int rc;

	*removed = 0;
	if (n < 4 || in[0] != 0xff || in[1] != 0x4f)
		return pv_buf_append(out, in, n);
	if ((rc = j2k_header(in, n, 2, 0, &sot, NULL, NULL, d)) != 0 ||
	    (rc = j2k_tiles(in, n, sot, NULL, &tile_coms, d)) != 0)
		return rc;
	c.drop_tlm = tile_coms > 0;
	if ((rc = pv_buf_append(out, in, 2)) != 0 || (rc = j2k_header(in, n, 2, 0, &sot, j2k_copy_seg, &c, d)) != 0)
		return rc;
	if (tile_coms == 0)
		return pv_buf_append(out, in + sot, n - sot);
	return j2k_tiles(in, n, sot, &c, NULL, d);
}
