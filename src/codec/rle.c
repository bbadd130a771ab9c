/*
 * rle.c: RLE Lossless (PS3.5 Annex G).
 *
 * A frame is a 64-byte header (the number of segments, then fifteen
 * offsets) and one PackBits segment per byte plane: for each sample, the
 * most significant byte first. Each row is encoded on its own (G.3.1).
 */
#include "pacsvault/codec/codec.h"

#include <string.h>

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
rle_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out, struct pv_diag *d)
{
	unsigned bytes = pd->bits_alloc / 8u, nseg = pd->spp * bytes;
	size_t npix = (size_t)pd->rows * pd->cols;
	uint32_t offs[16] = { 0 };

	if (n < 64)
		return pv_diag_set(d, PV_ETRUNC, (int64_t)n, "RLE frame shorter than its 64-byte header");
	if (nseg > 15 || pix_frame_bytes(pd) == 0)
		return pv_diag_set(d, PV_EUNSUPPORTED, 0, "RLE: the image layout is not handled");
	if (le32(in) != nseg)
		return pv_diag_set(d, PV_EPARSE, 0, "RLE header has %u segments, the image needs %u",
		    (unsigned)le32(in), nseg);
	for (unsigned i = 0; i < nseg; i++) {
		offs[i] = le32(in + 4 + 4 * i);
		if (offs[i] < 64 || offs[i] > n || (i > 0 && offs[i] < offs[i - 1]))
			return pv_diag_set(d, PV_EPARSE, 4 + 4 * (int64_t)i,
			    "RLE segment %u offset %u is outside the frame", i + 1, (unsigned)offs[i]);
	}
	if (offs[0] != 64)
		return pv_diag_set(d, PV_EPARSE, 4, "RLE first segment does not follow the header");
	offs[nseg] = (uint32_t)n;
	for (unsigned sg = 0; sg < nseg; sg++) {
		unsigned sample = sg / bytes, byte = bytes - 1 - sg % bytes;  /* MSB first */
		size_t pos = offs[sg], end = offs[sg + 1], k = 0;
		size_t stride = (size_t)pd->spp * bytes, base = (size_t)sample * bytes + byte;
		while (k < npix) {
			int c;
			if (pos >= end)
				return pv_diag_set(d, PV_ETRUNC, (int64_t)pos,
				    "RLE segment %u ends after %zu of %zu bytes", sg + 1, k, npix);
			c = (int8_t)in[pos++];
			if (c >= 0) {
				size_t cnt = (size_t)c + 1;
				if (cnt > end - pos || cnt > npix - k)
					return pv_diag_set(d, PV_EPARSE, (int64_t)pos - 1,
					    "RLE literal run passes the end of segment %u", sg + 1);
				for (size_t i = 0; i < cnt; i++)
					out[(k + i) * stride + base] = in[pos + i];
				pos += cnt;
				k += cnt;
			} else if (c != -128) {
				size_t cnt = (size_t)(1 - c);
				if (pos >= end || cnt > npix - k)
					return pv_diag_set(d, PV_EPARSE, (int64_t)pos - 1,
					    "RLE replicate run passes the end of segment %u", sg + 1);
				for (size_t i = 0; i < cnt; i++)
					out[(k + i) * stride + base] = in[pos];
				pos++;
				k += cnt;
			}
		}
	}
	return 0;
}

/* PackBits of one row of a byte plane (src[i * stride]). */
static int
pack_row(struct pv_buf *out, const uint8_t *src, size_t stride, size_t n)
{
	uint8_t lit[128];
	size_t i = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		size_t run = 1;
		while (i + run < n && run < 128 && src[(i + run) * stride] == src[i * stride])
			run++;
		if (run >= 2) {
			uint8_t h[2] = { (uint8_t)(257 - run), src[i * stride] };
			rc = pv_buf_append(out, h, 2);
			i += run;
			continue;
		}
		/* A literal run: up to the next pair of equal bytes. */
		size_t cnt = 0;
		while (i < n && cnt < 128) {
			if (i + 1 < n && src[i * stride] == src[(i + 1) * stride])
				break;
			lit[cnt++] = src[i * stride];
			i++;
		}
		uint8_t h = (uint8_t)(cnt - 1);
		if ((rc = pv_buf_append(out, &h, 1)) == 0)
			rc = pv_buf_append(out, lit, cnt);
	}
	return rc;
}

int
rle_encode(const uint8_t *frame, const struct pix_desc *pd, struct pv_buf *out)
{
	unsigned bytes = pd->bits_alloc / 8u, nseg = pd->spp * bytes;
	size_t start = out->len, stride = (size_t)pd->spp * bytes;
	uint8_t hdr[64];
	int rc;

	if (nseg > 15 || pix_frame_bytes(pd) == 0)
		return PV_EUNSUPPORTED;
	memset(hdr, 0, sizeof(hdr));
	if ((rc = pv_buf_append(out, hdr, sizeof(hdr))) != 0)
		return rc;
	hdr[0] = (uint8_t)nseg;
	for (unsigned sg = 0; sg < nseg; sg++) {
		unsigned sample = sg / bytes, byte = bytes - 1 - sg % bytes;
		size_t off = out->len - start;
		if (off > 0xffffffffu)
			return PV_ELIMIT;
		for (unsigned b = 0; b < 4; b++)
			hdr[4 + 4 * sg + b] = (uint8_t)(off >> (8 * b));
		for (uint32_t y = 0; y < pd->rows && rc == 0; y++)
			rc = pack_row(out, frame + (size_t)y * pd->cols * stride + (size_t)sample * bytes + byte,
			    stride, pd->cols);
		if (rc == 0 && ((out->len - start) & 1))
			rc = pv_buf_putc(out, 0);  /* a no-op byte (-128) would also do; 0 pads */
		if (rc != 0)
			return rc;
	}
	memcpy(out->data + start, hdr, sizeof(hdr));
	return 0;
}
