/*
 * fuzz_j2k.c: JPEG 2000 cleaning (OpenJPEG) on arbitrary frames, in process
 * (pacsvault itself runs it in the sandboxed helper). What it writes must
 * decode again to the same image size.
 */
#include "fuzz.h"
#include "codec_common.h"

int
fuzz_j2k_one(const uint8_t *data, size_t size)
{
	struct pix_desc pd;
	struct pv_diag d;
	struct pv_buf out, again;
	struct pix_rect r;
	int rct;

	if (fuzz_desc(data, size, &pd) != 0)
		return 0;
	r = (struct pix_rect){ data[0] % 8u, data[1] % 8u, 1u + data[3] % 40u, 1u + data[2] % 40u };
	pv_diag_clear(&d);
	pv_buf_init(&out, (size_t)1 << 24);
	pv_buf_init(&again, (size_t)1 << 24);
	if (j2k_clean_local(data + 4, size - 4, &pd, &r, 1, &out, &rct, &d) == 0) {
		pv_diag_clear(&d);
		if (j2k_clean_local((const uint8_t *)out.data, out.len, &pd, &r, 1, &again, &rct, &d) != 0)
			abort();
	}
	pv_buf_free(&out);
	pv_buf_free(&again);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_j2k_one)
