/* pixel.c: the Image Pixel module as the codecs see it; blanking rectangles. */
#include "pacsvault/codec/pixel.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/dict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
get_us(struct dcm_file *f, uint32_t tag, uint16_t *out, int required, const char *name, struct pv_diag *d)
{
	struct dcm_elem *e = dcm_ds_find(&f->ds, tag);
	const uint8_t *v;

	if (e == NULL || e->length == 0) {
		if (required)
			return pv_diag_set(d, PV_EPARSE, -1, "the image has no %s", name);
		return PV_ENOTFOUND;
	}
	if (e->length < 2 || dcm_file_value(f, e, &v) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "%s cannot be read", name);
	*out = (uint16_t)(v[0] | (v[1] << 8));
	return 0;
}

int
pix_desc_read(struct dcm_file *f, struct pix_desc *pd, struct pv_diag *d)
{
	uint16_t rows, cols;
	char s[32];
	int rc;

	memset(pd, 0, sizeof(*pd));
	if ((rc = get_us(f, 0x00280010u, &rows, 1, "Rows", d)) != 0 ||
	    (rc = get_us(f, 0x00280011u, &cols, 1, "Columns", d)) != 0 ||
	    (rc = get_us(f, 0x00280002u, &pd->spp, 1, "SamplesPerPixel", d)) != 0 ||
	    (rc = get_us(f, 0x00280100u, &pd->bits_alloc, 1, "BitsAllocated", d)) != 0)
		return rc;
	if (get_us(f, 0x00280101u, &pd->bits_stored, 0, "BitsStored", d) != 0)
		pd->bits_stored = pd->bits_alloc;
	if (get_us(f, 0x00280103u, &pd->pixrep, 0, "PixelRepresentation", d) != 0)
		pd->pixrep = 0;
	if (get_us(f, 0x00280006u, &pd->planar, 0, "PlanarConfiguration", d) != 0)
		pd->planar = 0;
	pd->rows = rows;
	pd->cols = cols;
	pd->frames = 1;
	if (dcm_ds_get_str(f, &f->ds, 0x00280008u, s, sizeof(s)) == 0 && s[0] != '\0') {
		char *end;
		long n = strtol(s, &end, 10);
		if (*end != '\0' || n < 1 || n > 1000000)
			return pv_diag_set(d, PV_EPARSE, -1, "NumberOfFrames is not a count of frames");
		pd->frames = (uint32_t)n;
	}
	if (dcm_ds_get_str(f, &f->ds, 0x00280004u, pd->photometric, sizeof(pd->photometric)) != 0 ||
	    pd->photometric[0] == '\0')
		return pv_diag_set(d, PV_EPARSE, -1, "the image has no PhotometricInterpretation");
	if (rows == 0 || cols == 0)
		return pv_diag_set(d, PV_EPARSE, -1, "the image has no rows or no columns");
	if (pd->spp != 1 && pd->spp != 3)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "%u samples per pixel are not handled",
		    (unsigned)pd->spp);
	if (pd->bits_alloc != 8 && pd->bits_alloc != 16 && pd->bits_alloc != 32)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "%u bits allocated are not handled",
		    (unsigned)pd->bits_alloc);
	if (pd->bits_stored == 0 || pd->bits_stored > pd->bits_alloc)
		return pv_diag_set(d, PV_EPARSE, -1, "BitsStored %u does not fit BitsAllocated %u",
		    (unsigned)pd->bits_stored, (unsigned)pd->bits_alloc);
	if (pd->planar > 1)
		return pv_diag_set(d, PV_EPARSE, -1, "PlanarConfiguration is neither 0 nor 1");
	if (pix_frame_bytes(pd) == 0)
		return pv_diag_set(d, PV_ELIMIT, -1, "a frame of %ux%u is over the size cap",
		    (unsigned)rows, (unsigned)cols);
	return 0;
}

size_t
pix_frame_bytes(const struct pix_desc *pd)
{
	uint64_t n = (uint64_t)pd->rows * pd->cols * pd->spp * (pd->bits_alloc / 8u);

	if (n == 0 || n > PIX_MAX_FRAME_BYTES || pd->rows > PIX_MAX_DIM || pd->cols > PIX_MAX_DIM)
		return 0;
	return (size_t)n;
}

int
pix_native_422(const struct pix_desc *pd)
{
	return (strcmp(pd->photometric, "YBR_FULL_422") == 0 || strcmp(pd->photometric, "YBR_PARTIAL_422") == 0) &&
	    pd->spp == 3;
}

size_t
pix_native_422_bytes(const struct pix_desc *pd)
{
	uint64_t n = (uint64_t)pd->rows * pd->cols * 2;

	if (pd->bits_alloc != 8 || (pd->cols & 1) || n == 0 || n > PIX_MAX_FRAME_BYTES || pd->rows > PIX_MAX_DIM ||
	    pd->cols > PIX_MAX_DIM)
		return 0;
	return (size_t)n;
}

void
pix_expand_422(const uint8_t *in, const struct pix_desc *pd, uint8_t *out)
{
	for (uint32_t y = 0; y < pd->rows; y++)
		for (uint32_t x = 0; x < pd->cols; x += 2) {
			const uint8_t *q = in + ((size_t)y * pd->cols + x) * 2;
			uint8_t *o = out + ((size_t)y * pd->cols + x) * 3;
			o[0] = q[0], o[1] = q[2], o[2] = q[3];
			o[3] = q[1], o[4] = q[2], o[5] = q[3];
		}
}

uint64_t
pix_blank_422(uint8_t *p, const struct pix_desc *pd, const struct pix_rect *r, size_t n)
{
	uint64_t changed = 0;
	uint8_t fy = (uint8_t)pix_fill_value(pd, 0), fc = (uint8_t)pix_fill_value(pd, 1);

	for (size_t i = 0; i < n; i++) {
		struct pix_rect c;
		if (!pix_rect_clip(pd, &r[i], &c))
			continue;
		for (uint32_t y = c.y; y < c.y + c.h; y++)
			for (uint32_t x = c.x; x < c.x + c.w; x++) {
				uint8_t *q = p + ((size_t)y * pd->cols + (x & ~1u)) * 2;
				if (q[x & 1] != fy || q[2] != fc || q[3] != fc)
					changed++;
				q[x & 1] = fy;
				q[2] = q[3] = fc;  /* the pair's colour: neutral, so no trace of the glyph's hue stays */
			}
	}
	return changed;
}

uint32_t
pix_fill_value(const struct pix_desc *pd, unsigned s)
{
	unsigned bs = pd->bits_stored ? pd->bits_stored : pd->bits_alloc;

	if (strcmp(pd->photometric, "MONOCHROME1") == 0)
		return pd->pixrep ? (1u << (bs - 1)) - 1 : (bs >= 32 ? 0xffffffffu : (1u << bs) - 1);
	if (s > 0 && strncmp(pd->photometric, "YBR", 3) == 0)
		return 1u << (bs - 1);
	return 0;
}

int
pix_rect_clip(const struct pix_desc *pd, const struct pix_rect *in, struct pix_rect *out)
{
	uint64_t x1 = (uint64_t)in->x + in->w, y1 = (uint64_t)in->y + in->h;

	if (in->x >= pd->cols || in->y >= pd->rows || in->w == 0 || in->h == 0)
		return 0;
	if (x1 > pd->cols)
		x1 = pd->cols;
	if (y1 > pd->rows)
		y1 = pd->rows;
	out->x = in->x;
	out->y = in->y;
	out->w = (uint32_t)(x1 - in->x);
	out->h = (uint32_t)(y1 - in->y);
	return 1;
}

static void
put_sample(uint8_t *p, unsigned bytes, uint32_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
pix_blank(uint8_t *p, const struct pix_desc *pd, const struct pix_rect *r, size_t n)
{
	unsigned bytes = pd->bits_alloc / 8u;
	uint64_t changed = 0;
	size_t plane = (size_t)pd->rows * pd->cols * bytes;

	for (size_t i = 0; i < n; i++) {
		struct pix_rect c;
		if (!pix_rect_clip(pd, &r[i], &c))
			continue;
		for (unsigned s = 0; s < pd->spp; s++) {
			uint32_t v = pix_fill_value(pd, s);
			for (uint32_t y = c.y; y < c.y + c.h; y++)
				for (uint32_t x = c.x; x < c.x + c.w; x++) {
					size_t off = pd->planar && pd->spp > 1 ?
					    (size_t)s * plane + ((size_t)y * pd->cols + x) * bytes :
					    (((size_t)y * pd->cols + x) * pd->spp + s) * bytes;
					put_sample(p + off, bytes, v);
				}
		}
		changed += (uint64_t)c.w * c.h;
	}
	return changed;
}
