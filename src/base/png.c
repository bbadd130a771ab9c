/* png.c: a minimal PNG writer (see png.h). */
#include "pacsvault/base/png.h"
#include "pacsvault/base/err.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int
chunk(struct pv_buf *out, const char *type, const uint8_t *data, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uLong crc = crc32(0L, Z_NULL, 0);
	uint8_t c[4];
	int rc;

	crc = crc32(crc, (const Bytef *)type, 4);
	if (n > 0)
		crc = crc32(crc, data, (uInt)n);
	c[0] = (uint8_t)(crc >> 24);
	c[1] = (uint8_t)(crc >> 16);
	c[2] = (uint8_t)(crc >> 8);
	c[3] = (uint8_t)crc;
	if ((rc = pv_buf_append(out, len, 4)) != 0 || (rc = pv_buf_append(out, type, 4)) != 0 ||
	    (n > 0 && (rc = pv_buf_append(out, data, n)) != 0))
		return rc;
	return pv_buf_append(out, c, 4);
}

int
pv_png_grey(const uint8_t *g, uint32_t w, uint32_t h, struct pv_buf *out)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	uint8_t ihdr[13] = { (uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
		(uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h, 8, 0, 0, 0, 0 };
	size_t raw_n = (size_t)(w + 1) * h;
	uLongf zn;
	uint8_t *raw, *z;
	int rc;

	if (w == 0 || h == 0 || w > 16384 || h > 16384)
		return PV_ELIMIT;
	zn = compressBound((uLong)raw_n);
	if ((raw = malloc(raw_n)) == NULL || (z = malloc(zn)) == NULL) {
		free(raw);
		return PV_ENOMEM;
	}
	for (uint32_t y = 0; y < h; y++) {
		raw[(size_t)y * (w + 1)] = 0;  /* filter: none */
		memcpy(raw + (size_t)y * (w + 1) + 1, g + (size_t)y * w, w);
	}
	if (compress2(z, &zn, raw, (uLong)raw_n, 6) != Z_OK) {
		free(raw);
		free(z);
		return PV_ENOMEM;
	}
	rc = pv_buf_append(out, sig, 8);
	if (rc == 0)
		rc = chunk(out, "IHDR", ihdr, 13);
	if (rc == 0)
		rc = chunk(out, "IDAT", z, zn);
	if (rc == 0)
		rc = chunk(out, "IEND", NULL, 0);
	free(raw);
	free(z);
	return rc;
}

int
pv_base64(const uint8_t *p, size_t n, struct pv_buf *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { t[(v >> 18) & 63], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=', i + 2 < n ? t[v & 63] : '=' };
		rc = pv_buf_append(out, q, 4);
	}
	return rc;
}
