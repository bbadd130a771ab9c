/* fuzz_jpegll.c: JPEG Lossless (process 14) decoding; blank, encode, decode again. */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_jpegll_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf out;
	struct jpegll_params p, q;
	uint8_t *a, *b;
	size_t fb;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	fb = pix_frame_bytes(&pd);
	a = calloc(1, fb);
	b = calloc(1, fb);
	pv_diag_clear(&d);
	pv_buf_init(&out, (size_t)1 << 24);
	if (a != NULL && b != NULL && jpegll_decode(data + 4, size - 4, &pd, a, &p, &d) == 0) {
		fuzz_blank(a, &pd, data);
		if (jpegll_encode(a, &pd, &p, &out) != 0 ||
		    jpegll_decode((const uint8_t *)out.data, out.len, &pd, b, &q, &d) != 0)
			abort();
		/* Samples come back masked to the precision and point transform. */
		for (size_t i = 0; i < fb / (pd.bits_alloc / 8u); i++) {
			uint32_t x = pd.bits_alloc == 8 ? a[i] : (uint32_t)(a[2 * i] | a[2 * i + 1] << 8);
			uint32_t y = pd.bits_alloc == 8 ? b[i] : (uint32_t)(b[2 * i] | b[2 * i + 1] << 8);
			if ((((x & ((1u << p.precision) - 1)) >> p.pt) << p.pt) != y)
				abort();
		}
	}
	pv_buf_free(&out);
	free(a);
	free(b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_jpegll_one)
