/* pixclean.c: blanking rectangles in every frame, in the file's own transfer syntax. */
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/ts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_BUF_MAX ((size_t)1 << 31)

/* Pixels covered by the rectangles (overlaps counted once): for the report. */
static uint64_t
pix_blanked_area(const struct pix_desc *pd, const struct pix_rect *r, size_t n)
{
	uint64_t total = 0;
	uint8_t *row = pv_calloc(pd->cols, 1);
	if (row == NULL)
		return 0;
	for (uint32_t y = 0; y < pd->rows; y++) {
		int any = 0;
		for (size_t i = 0; i < n; i++) {
			struct pix_rect c;
			if (pix_rect_clip(pd, &r[i], &c) && y >= c.y && y < c.y + c.h) {
				memset(row + c.x, 1, c.w);
				any = 1;
			}
		}
		if (any) {
			for (uint32_t x = 0; x < pd->cols; x++)
				total += row[x];
			memset(row, 0, pd->cols);
		}
	}
	free(row);
	return total;
}

static int
clean_native(struct dcm_file *f, struct dcm_elem *e, const struct pix_desc *pd, const struct pix_rect *r,
    size_t n, struct pixclean_result *res, struct pv_diag *d)
{
	size_t fb = pix_frame_bytes(pd);
	const uint8_t *v;
	int rc;

	int sub = pix_native_422(pd);

	if (sub && (fb = pix_native_422_bytes(pd)) == 0)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "uncompressed %s pixel data other than 8-bit, even width",
		    pd->photometric);
	if ((uint64_t)fb * pd->frames > e->length)
		return pv_diag_set(d, PV_EPARSE, -1, "pixel data holds %u bytes, %u frames of %zu bytes need more",
		    (unsigned)e->length, (unsigned)pd->frames, fb);
	if ((rc = dcm_file_value(f, e, &v)) != 0)
		return pv_diag_set(d, rc, -1, "pixel data cannot be read");
	/* The value is in f's arena now (loaded or built there): ours to change. */
	for (uint32_t i = 0; i < pd->frames; i++)
		res->changed += sub ? pix_blank_422((uint8_t *)(uintptr_t)v + (size_t)i * fb, pd, r, n) :
		    pix_blank((uint8_t *)(uintptr_t)v + (size_t)i * fb, pd, r, n);
	return 0;
}

static int
clean_encaps(struct dcm_file *f, struct dcm_elem *e, const struct pix_desc *pd0, enum pix_codec c,
    const struct pix_rect *r, size_t n, struct pixclean_result *res, struct pv_diag *d)
{
	struct pix_desc pd = *pd0;
	struct pix_frame *fr = NULL;
	struct pv_buf *outs;
	uint8_t *frame = NULL;
	size_t fb = pix_frame_bytes(&pd);
	int rc, any_rct = 0;

	pd.planar = 0;  /* decoders give pixel-interleaved frames */
	if ((outs = pv_calloc(pd.frames, sizeof(*outs))) == NULL)
		return PV_ENOMEM;
	for (uint32_t i = 0; i < pd.frames; i++)
		pv_buf_init(&outs[i], FRAME_BUF_MAX);
	if ((rc = pix_encaps_frames(f, e, pd.frames, c, &fr, d)) != 0)
		goto out;
	if ((c == PIX_RLE || c == PIX_JPEG_LOSSLESS) && (frame = malloc(fb)) == NULL) {
		rc = PV_ENOMEM;
		goto out;
	}
	if (c == PIX_JPEG_2000 || c == PIX_JPEG_LS || c == PIX_HTJ2K) {
		/* Third-party decoders: every frame in one sandboxed helper process.
		 * OpenJPEG reads High-Throughput codestreams too (2.5: decoding only);
		 * they are written back as reversible JPEG 2000 (below). */
		rc = pix_helper_clean(c == PIX_HTJ2K ? PIX_JPEG_2000 : c, fr, pd.frames, &pd, r, n, outs, &any_rct, d);
		if (rc == 0)
			res->changed = pix_blanked_area(&pd, r, n) * pd.frames;
	}
	for (uint32_t i = 0; c != PIX_JPEG_2000 && c != PIX_JPEG_LS && c != PIX_HTJ2K && i < pd.frames && rc == 0; i++) {
		switch (c) {
		case PIX_RLE:
			if ((rc = rle_decode(fr[i].p, fr[i].n, &pd, frame, d)) == 0) {
				res->changed += pix_blank(frame, &pd, r, n);
				rc = rle_encode(frame, &pd, &outs[i]);
			}
			break;
		case PIX_JPEG_LOSSLESS: {
			struct jpegll_params p;
			if ((rc = jpegll_decode(fr[i].p, fr[i].n, &pd, frame, &p, d)) == 0) {
				res->changed += pix_blank(frame, &pd, r, n);
				rc = jpegll_encode(frame, &pd, &p, &outs[i]);
			}
			break;
		}
		case PIX_JPEG_DCT: {
			uint64_t blocks = 0;
			rc = jpeg_blank(fr[i].p, fr[i].n, &pd, r, n, &outs[i], &blocks, d);
			res->changed += blocks;
			break;
		}
		default:
			rc = PV_EINTERNAL;
			break;
		}
		if (rc != 0 && d != NULL && d->code == 0)
			pv_diag_set(d, rc, -1, "frame %u could not be cleaned: %s", i + 1, pv_strerror(rc));
	}
	if (rc == 0)
		rc = pix_encaps_set(f, e, outs, pd.frames);
	/* No HTJ2K encoder with a C interface here: the frames are now reversible
	 * JPEG 2000 (Part 1), and the file says so (lossless stays lossless). */
	if (rc == 0 && c == PIX_HTJ2K) {
		static const char j2k_lossless[] = "1.2.840.10008.1.2.4.90";
		const struct dcm_ts *ts = dcm_ts_lookup(j2k_lossless, sizeof(j2k_lossless) - 1);
		if (ts == NULL)
			rc = PV_EINTERNAL;
		else
			f->ts = ts;
	}
	/* Re-encoded reversibly: an irreversible colour transform became the reversible one. */
	if (rc == 0 && any_rct && strcmp(pd.photometric, "YBR_ICT") == 0)
		rc = dcm_ds_set_str(f, &f->ds, 0x00280004u, DCM_VR_CS, "YBR_RCT");
out:
	for (uint32_t i = 0; i < pd.frames; i++)
		pv_buf_free(&outs[i]);
	free(outs);
	free(frame);
	pix_frames_free(fr, pd.frames);
	return rc;
}

int
deid_pixclean(struct dcm_file *f, const struct pix_rect *r, size_t n, struct pixclean_result *res,
    struct pv_diag *d)
{
	struct dcm_elem *e = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
	struct pix_desc pd;
	int rc;

	memset(res, 0, sizeof(*res));
	if (e == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "the file has no pixel data");
	if ((rc = pix_desc_read(f, &pd, d)) != 0)
		return rc;
	res->codec = pix_codec_of(f->ts->uid, (e->flags & DCM_EF_ENCAPS) != 0);
	res->frames = pd.frames;
	switch (res->codec) {
	case PIX_NATIVE:
		if (e->flags & DCM_EF_ENCAPS)
			return pv_diag_set(d, PV_EPARSE, -1, "encapsulated pixel data in an uncompressed syntax");
		return clean_native(f, e, &pd, r, n, res, d);
	case PIX_RLE:
	case PIX_JPEG_LOSSLESS:
	case PIX_JPEG_LS:
	case PIX_JPEG_DCT:
	case PIX_JPEG_2000:
	case PIX_HTJ2K:
		return clean_encaps(f, e, &pd, res->codec, r, n, res, d);
	default:
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "pixel cleaning of %s is not available",
		    pix_codec_name(res->codec));
	}
}

int
deid_pixel_metadata_strip(struct dcm_file *f, unsigned *removed, struct pv_diag *d)
{
	struct dcm_elem *e = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
	struct pix_frame *fr = NULL;
	struct pv_buf *outs = NULL;
	struct pix_desc pd;
	enum pix_codec c;
	uint32_t frames;
	int rc;

	*removed = 0;
	if (e == NULL || !(e->flags & DCM_EF_ENCAPS) || e->seq == NULL)
		return 0;
	c = pix_codec_of(f->ts->uid, 1);
	if (c != PIX_JPEG_DCT && c != PIX_JPEG_LOSSLESS && c != PIX_JPEG_LS && c != PIX_JPEG_2000 && c != PIX_HTJ2K)
		return 0;
	if ((rc = pix_desc_read(f, &pd, d)) != 0)
		return rc;
	frames = pd.frames;
	if ((outs = pv_calloc(frames, sizeof(*outs))) == NULL)
		return PV_ENOMEM;
	for (uint32_t i = 0; i < frames; i++)
		pv_buf_init(&outs[i], FRAME_BUF_MAX);
	if ((rc = pix_encaps_frames(f, e, frames, c, &fr, d)) != 0)
		goto out;
	for (uint32_t i = 0; i < frames && rc == 0; i++) {
		unsigned rm = 0;
		rc = c == PIX_JPEG_2000 || c == PIX_HTJ2K ? j2kmeta_strip(fr[i].p, fr[i].n, &outs[i], &rm, d) :
		    jpegmeta_strip(fr[i].p, fr[i].n, c == PIX_JPEG_LS, &outs[i], &rm, d);
		*removed += rm;
		if (rc != 0 && d != NULL) {
			char m[sizeof(d->msg) + 96];
			snprintf(m, sizeof(m), "frame %u cannot be checked for comment and application segments: %s",
			    i + 1, d->msg);
			memcpy(d->msg, m, sizeof(d->msg) - 1);
			d->msg[sizeof(d->msg) - 1] = '\0';
		}
	}
	/* fragments past the last frame go too: one fragment per frame, a new offset table */
	if (rc == 0 && (*removed > 0 || e->seq->nitems != frames + 1)) {
		if (e->seq->nitems != frames + 1)
			(*removed)++;
		rc = pix_encaps_set(f, e, outs, frames);
	}
out:
	for (uint32_t i = 0; i < frames; i++)
		pv_buf_free(&outs[i]);
	free(outs);
	pix_frames_free(fr, frames);
	return rc;
}
