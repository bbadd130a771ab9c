/*
 * ocr.h: optical character recognition of burned-in text, through
 * Tesseract in a separate, sandboxed helper program (pacsvault-ocr).
 *
 * pacsvault itself does not link Tesseract (nor the libraries it pulls
 * in): ocr_frame() starts pacsvault-ocr (next to the pacsvault binary, or
 * in ../libexec/pacsvault/), sends it one 8-bit grey frame and reads back
 * the words it recognised, with their boxes and confidences. The helper
 * loads its English and Chinese language data, then enters its sandbox
 * (memory and CPU limits, no new files, a seccomp filter) before it looks
 * at a pixel.
 *
 * Request: "PVOC", u32 version 1, u32 width, u32 height, the pixels.
 * Answer: "PVOA", u32 count, then per word i32 x, y, w, h, conf (0-100),
 * u32 length and UTF-8 text; or "PVOE", a message.
 */
#ifndef PV_DEID_OCR_H
#define PV_DEID_OCR_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"
#include "pacsvault/codec/pixel.h"

struct ocr_word {
	struct pix_rect box;
	int conf;               /* 0..100 */
	char text[64];          /* UTF-8, cut at 63 bytes */
};

struct ocr_result {
	struct ocr_word *w;
	size_t n;
};

#define OCR_MAX_WORDS 4096

/* The helper's path, or NULL when it is not installed (OCR unavailable). */
const char *ocr_helper_path(void);

/* Recognises the words of one grey frame. PV_EUNSUPPORTED without the helper. */
int ocr_frame(const uint8_t *grey, uint32_t w, uint32_t h, struct ocr_result *out, struct pv_diag *d)
	__attribute__((warn_unused_result));
void ocr_result_free(struct ocr_result *r);

#endif
