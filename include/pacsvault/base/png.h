/* png.h: a minimal PNG writer (8-bit grey, one IDAT, zlib), for report thumbnails. */
#ifndef PV_BASE_PNG_H
#define PV_BASE_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"

/* Appends the PNG of a w x h 8-bit grey image to out. 0, PV_ENOMEM or PV_ELIMIT. */
int pv_png_grey(const uint8_t *g, uint32_t w, uint32_t h, struct pv_buf *out) __attribute__((warn_unused_result));

/* Appends the base64 of n bytes to out. */
int pv_base64(const uint8_t *p, size_t n, struct pv_buf *out) __attribute__((warn_unused_result));

#endif
