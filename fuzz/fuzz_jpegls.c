/* fuzz_jpegls.c: JPEG-LS decoding (CharLS); blank, encode with the same parameters, decode again. */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_jpegls_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf out;
	struct jpegls_params p, q;
	uint8_t *a, *b;
	size_t fb;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	fb = pix_frame_bytes(&pd);
	a = calloc(1, fb);
	b = calloc(1, fb);
	pv_diag_clear(&d);
	pv_buf_init(&out, (size_t)1 << 24);
	if (a != NULL && b != NULL && jpegls_decode(data + 4, size - 4, &pd, a, &p, &d) == 0) {
		fuzz_blank(a, &pd, data);
		/* A blanked value may lie above the stream's MAXVAL: then the encoder
		 * refuses, which is fine; what it writes must decode. */
		if (jpegls_encode(a, &pd, &p, &out, &d) == 0) {
			if (jpegls_decode((const uint8_t *)out.data, out.len, &pd, b, &q, &d) != 0)
				abort();
			if (p.near == 0 && memcmp(a, b, fb) != 0)
				abort();
		}
	}
	pv_buf_free(&out);
	free(a);
	free(b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_jpegls_one)
