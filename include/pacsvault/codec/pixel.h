/*
 * pixel.h: what the pixel codecs need to know of an image, and blanking.
 *
 * A frame in memory ("a native frame") is laid out as PS3.5 8.1.1 says for
 * uncompressed data with Planar Configuration 0: samples of one pixel next
 * to each other, rows top to bottom, 8-bit samples in one byte and 9- to
 * 16-bit samples in two little-endian bytes. Every decoder produces this
 * layout and every encoder takes it (native data with Planar
 * Configuration 1 is handled by pix_blank() in place).
 */
#ifndef PV_CODEC_PIXEL_H
#define PV_CODEC_PIXEL_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"

struct dcm_file;

struct pix_desc {
	uint32_t rows, cols;
	uint32_t frames;         /* NumberOfFrames, 1 when absent */
	uint16_t spp;            /* SamplesPerPixel: 1 or 3 */
	uint16_t bits_alloc;     /* 8, 16 or 32 (32: uncompressed and RLE only) */
	uint16_t bits_stored;    /* 1..bits_alloc */
	uint16_t pixrep;         /* 0 unsigned, 1 two's complement */
	uint16_t planar;         /* PlanarConfiguration (native data) */
	char photometric[20];    /* MONOCHROME2, RGB, YBR_FULL... */
};

/* A rectangle in pixels; clipped to the image when used. */
struct pix_rect {
	uint32_t x, y, w, h;
};

/* Caps: larger images are refused (PV_ELIMIT) before any allocation. */
#define PIX_MAX_FRAME_BYTES ((size_t)1 << 30)
#define PIX_MAX_DIM 65535u

/*
 * Reads and checks the Image Pixel module of f's data set into *pd.
 * PV_EUNSUPPORTED (with a reason in d) for layouts the cleaner does not
 * handle: 1-bit samples, 2 or 4 samples per pixel.
 */
int pix_desc_read(struct dcm_file *f, struct pix_desc *pd, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* Bytes of one native frame (pd's layout), 0 when it would pass the cap. */
size_t pix_frame_bytes(const struct pix_desc *pd);

/*
 * Uncompressed YBR_FULL_422 / YBR_PARTIAL_422 (PS3.3 C.7.6.3.1.2): each
 * pair of pixels in a row is stored as Y1 Y2 Cb Cr, so a native frame
 * holds 2 samples per pixel, not 3. pix_native_422 says whether pd is such
 * a layout (8 bits, 3 samples, even width: anything else is refused by the
 * callers); pix_native_422_bytes gives its frame size; pix_expand_422
 * writes the frame as full YBR, pixel-interleaved (pix_frame_bytes(pd)
 * bytes); pix_blank_422 blanks rectangles in place (Y to the fill value,
 * the pair's Cb and Cr to neutral) and returns the pixels changed.
 */
int pix_native_422(const struct pix_desc *pd);
size_t pix_native_422_bytes(const struct pix_desc *pd);
void pix_expand_422(const uint8_t *in, const struct pix_desc *pd, uint8_t *out);
uint64_t pix_blank_422(uint8_t *p, const struct pix_desc *pd, const struct pix_rect *r, size_t n);

/*
 * The value a blanked sample gets, for sample s (0..spp-1): the darkest
 * value for MONOCHROME2, PALETTE COLOR index 0 and RGB; the largest stored
 * value for MONOCHROME1; the neutral chroma (half range) for the Cb and Cr
 * of YBR photometrics. For signed data the darkest value is 0 (as good as
 * any for hiding text; stays inside every window).
 */
uint32_t pix_fill_value(const struct pix_desc *pd, unsigned s);

/*
 * Overwrites every sample inside the rectangles (clipped) of one frame at
 * p (pix_frame_bytes(pd) bytes, pd's planar configuration) with
 * pix_fill_value(). Returns the number of pixels changed.
 */
uint64_t pix_blank(uint8_t *p, const struct pix_desc *pd, const struct pix_rect *r, size_t n);

/* 1 when the rectangle (clipped) touches the image. */
int pix_rect_clip(const struct pix_desc *pd, const struct pix_rect *in, struct pix_rect *out);

#endif
