/*
 * fuzz_jpeg.c: DCT-domain blanking of arbitrary 8-bit JPEG frames
 * (libjpeg-turbo). When the source decodes, the result must decode too.
 * (Streams that only the coefficient path reads, such as fractional
 * sampling factors, are blanked but decode nowhere, like their source.)
 */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_jpeg_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf out;
	struct pix_rect r;
	uint64_t blocks;
	uint8_t *a;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	pd.bits_alloc = pd.bits_stored = 8;
	r = (struct pix_rect){ data[0] % 8u, data[1] % 8u, 1u + data[3] % 40u, 1u + data[2] % 40u };
	pv_diag_clear(&d);
	pv_buf_init(&out, (size_t)1 << 24);
	a = malloc(pix_frame_bytes(&pd));
	if (a != NULL && jpeg_blank(data + 4, size - 4, &pd, &r, 1, &out, &blocks, &d) == 0) {
		pv_diag_clear(&d);
		if (jpeg_decode((const uint8_t *)out.data, out.len, &pd, a, &d) != 0) {
			pv_diag_clear(&d);
			if (jpeg_decode(data + 4, size - 4, &pd, a, &d) == 0)
				abort();
		}
	}
	pv_buf_free(&out);
	free(a);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_jpeg_one)
