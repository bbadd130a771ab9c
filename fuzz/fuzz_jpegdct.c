/*
 * fuzz_jpegdct.c: the in-house JPEG coefficient codec (jpegdct.c) on
 * arbitrary 8- and 12-bit sequential streams. When a stream is accepted,
 * its output must be accepted too, and transcoding that output again
 * without a rectangle must give the same bytes (the codec is a fixed
 * point on its own output: nothing is lost or invented between passes),
 * and its decoder must read that output.
 * For 8-bit streams libjpeg must decode the output whenever it decodes
 * the source.
 */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_jpegdct_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf a, b;
	struct pix_rect r;
	uint64_t blocks;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	if (pd.bits_alloc == 16)
		pd.bits_stored = 12;
	r = (struct pix_rect){ data[0] % 8u, data[1] % 8u, 1u + data[3] % 40u, 1u + data[2] % 40u };
	pv_diag_clear(&d);
	pv_buf_init(&a, (size_t)1 << 26);
	pv_buf_init(&b, (size_t)1 << 26);
	if (jpegdct_blank(data + 4, size - 4, &pd, &r, 1, &a, &blocks, &d) == 0) {
		pv_diag_clear(&d);
		if (jpegdct_blank((const uint8_t *)a.data, a.len, &pd, NULL, 0, &b, &blocks, &d) != 0 ||
		    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
		{
			/* and its own decoder reads what it wrote */
			uint8_t *px = malloc(pix_frame_bytes(&pd));
			pv_diag_clear(&d);
			if (px != NULL && jpegdct_decode((const uint8_t *)a.data, a.len, &pd, px, &d) != 0 &&
			    d.code != PV_EUNSUPPORTED)
				abort();
			free(px);
		}
		if (pd.bits_alloc == 8) {
			uint8_t *px = malloc(pix_frame_bytes(&pd));
			pv_diag_clear(&d);
			if (px != NULL && jpeg_decode((const uint8_t *)a.data, a.len, &pd, px, &d) != 0) {
				pv_diag_clear(&d);
				if (jpeg_decode(data + 4, size - 4, &pd, px, &d) == 0)
					abort();
			}
			free(px);
		}
	}
	pv_buf_free(&a);
	pv_buf_free(&b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_jpegdct_one)
