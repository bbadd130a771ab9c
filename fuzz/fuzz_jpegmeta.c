/*
 * fuzz_jpegmeta.c: comment and application segments out of arbitrary JPEG
 * and JPEG-LS frames (first byte: bit 0 JPEG-LS, bit 1 JPEG 2000). What jpegmeta_strip accepts must strip again to the
 * same bytes with nothing removed (idempotent), and hold no COM segment
 * before its first scan.
 */
#include "fuzz.h"
#include "pacsvault/codec/codec.h"

#include <stdlib.h>
#include <string.h>

int
fuzz_jpegmeta_one(const uint8_t *data, size_t size)
{
	struct pv_buf a, b;
	struct pv_diag d;
	unsigned rm, rm2;
	int ls;

	if (size < 1)
		return 0;
	ls = data[0] & 1;
	pv_buf_init(&a, (size_t)1 << 24);
	pv_buf_init(&b, (size_t)1 << 24);
	pv_diag_clear(&d);
	if (data[0] & 2) {
		/* JPEG 2000: idempotent too */
		if (j2kmeta_strip(data + 1, size - 1, &a, &rm, &d) == 0 &&
		    (j2kmeta_strip((const uint8_t *)a.data, a.len, &b, &rm2, &d) != 0 || rm2 != 0 || a.len != b.len ||
		    memcmp(a.data, b.data, a.len) != 0))
			abort();
	} else if (jpegmeta_strip(data + 1, size - 1, ls, &a, &rm, &d) == 0) {
		pv_diag_clear(&d);
		if (jpegmeta_strip((const uint8_t *)a.data, a.len, ls, &b, &rm2, &d) != 0 || rm2 != 0 ||
		    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
		for (size_t i = 2; i + 1 < a.len; ) {
			const uint8_t *p = (const uint8_t *)a.data;
			size_t len;
			if (p[i] != 0xff || p[i + 1] == 0xda || p[i + 1] == 0xd9 || i + 4 > a.len)
				break;
			if (p[i + 1] == 0xfe)
				abort();
			len = (size_t)p[i + 2] << 8 | p[i + 3];
			i += 2 + len;
		}
	}
	pv_buf_free(&a);
	pv_buf_free(&b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_jpegmeta_one)
