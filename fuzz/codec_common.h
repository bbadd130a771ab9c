/*
 * codec_common.h: the shared front of the codec fuzz targets. The first
 * four bytes choose an image description (rows, columns, samples, bits),
 * the rest is the compressed frame. When the decoder accepts it, the frame
 * is blanked, encoded again and decoded again: a lossless codec must give
 * back exactly the blanked frame (an abort otherwise).
 */
#ifndef PV_FUZZ_CODEC_COMMON_H
#define PV_FUZZ_CODEC_COMMON_H

#include "pacsvault/codec/codec.h"

#include <stdlib.h>
#include <string.h>

static inline int
fuzz_desc(const uint8_t *data, size_t size, struct pix_desc *pd)
{
	if (size < 4)
		return -1;
	memset(pd, 0, sizeof(*pd));
	pd->rows = 1u + data[0] % 96u;
	pd->cols = 1u + data[1] % 96u;
	pd->spp = (data[2] & 1) ? 3 : 1;
	pd->bits_alloc = (data[2] & 2) ? 16 : 8;
	pd->bits_stored = (uint16_t)(pd->bits_alloc == 8 ? 8 : 2 + data[3] % 15);
	pd->frames = 1;
	strcpy(pd->photometric, pd->spp == 3 ? ((data[2] & 4) ? "YBR_FULL" : "RGB") :
	    ((data[2] & 4) ? "MONOCHROME1" : "MONOCHROME2"));
	return 0;
}

static inline void
fuzz_blank(uint8_t *frame, const struct pix_desc *pd, const uint8_t *data)
{
	struct pix_rect r = { data[0] % 8u, data[1] % 8u, 1u + data[3] % 40u, 1u + data[2] % 40u };
	(void)pix_blank(frame, pd, &r, 1);
}

#endif
