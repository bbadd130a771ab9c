/* fuzz_rle.c: RLE Lossless decoding of arbitrary frames; blank, encode, decode again. */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_rle_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf out;
	uint8_t *a, *b;
	size_t fb;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	fb = pix_frame_bytes(&pd);
	a = malloc(fb);
	b = malloc(fb);
	pv_diag_clear(&d);
	pv_buf_init(&out, (size_t)1 << 24);
	if (a != NULL && b != NULL && rle_decode(data + 4, size - 4, &pd, a, &d) == 0) {
		fuzz_blank(a, &pd, data);
		if (rle_encode(a, &pd, &out) != 0 || rle_decode((const uint8_t *)out.data, out.len, &pd, b, &d) != 0 ||
		    memcmp(a, b, fb) != 0)
			abort();
	}
	pv_buf_free(&out);
	free(a);
	free(b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_rle_one)
