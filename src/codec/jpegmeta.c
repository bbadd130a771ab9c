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
 * JPEG 2000 codestream (T.800 A.1-A.4): COM marker segments (FF64) of the
 * main header go; the main header ends at the first SOT (FF90), and what
 * follows (tile-parts, whose lengths Psot and TLM give) is copied as it
 * is. A stream that is not a bare codestream (a JP2 box wrapper) is
 * copied unchanged.
 */
int
j2kmeta_strip(const uint8_t *in, size_t n, struct pv_buf *out, unsigned *removed, struct pv_diag *d)
{
	size_t pos = 2;
	int rc;

	*removed = 0;
	if (n < 4 || in[0] != 0xff || in[1] != 0x4f)
		return pv_buf_append(out, in, n);
	if ((rc = pv_buf_append(out, in, 2)) != 0)
		return rc;
	for (;;) {
		size_t len;
		if (n - pos < 4 || in[pos] != 0xff)
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG 2000 main header: marker expected");
		if (in[pos + 1] == 0x90)  /* SOT: the first tile-part */
			return pv_buf_append(out, in + pos, n - pos);
		if (in[pos + 1] < 0x30 || in[pos + 1] == 0x4f || in[pos + 1] == 0x93 || in[pos + 1] == 0xd9)
			return pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG 2000 main header: FF%02X out of place",
			    in[pos + 1]);
		len = (size_t)in[pos + 2] << 8 | in[pos + 3];
		if (len < 2 || len > n - pos - 2)
			return pv_diag_set(d, PV_ETRUNC, (int64_t)pos, "JPEG 2000 marker segment passes the end");
		if (in[pos + 1] == 0x64)
			(*removed)++;  /* COM: free text */
		else if ((rc = pv_buf_append(out, in + pos, 2 + len)) != 0)
			return rc;
		pos += 2 + len;
	}
}
