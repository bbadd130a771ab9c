/*
 * charset.h: Specific Character Set (0008,0005) to UTF-8 (PS3.5 6.1, PS3.3 C.12.1.1.2).
 *
 * Single-byte sets (ISO_IR 6, 100, 101, 109, 110, 144, 127, 126, 138, 148,
 * 203, 13, 166), multi-byte sets without code extensions (ISO_IR 192,
 * GB18030, GBK) and ISO 2022 code extensions (ISO 2022 IR 6, 100, ..., 87,
 * 159, 149, 58, 13) with escape sequences switching G0/G1 inside a value,
 * reset at the delimiters of PS3.5 6.1.2.5.3. Conversion goes through
 * iconv. Bytes that cannot be decoded become U+FFFD: never a crash, never
 * dropped silently (the return value says so).
 */
#ifndef PV_DICOM_CHARSET_H
#define PV_DICOM_CHARSET_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/vr.h"

#define DCM_CHARSET_MAX_TERMS 8

struct dcm_charset {
	uint8_t n;                            /* terms (0 = default repertoire) */
	uint8_t term[DCM_CHARSET_MAX_TERMS];  /* indexes into the term table */
	uint8_t iso2022;                      /* code extensions in use */
	uint8_t unknown;                      /* a term was not recognised */
};

/* The default repertoire (ISO_IR 6). */
void dcm_charset_default(struct dcm_charset *cs);

/*
 * Parses the value of Specific Character Set (n bytes, backslash-separated,
 * padding ignored). Unknown terms are skipped and flagged; returns 0, or
 * PV_ECHARSET when a term was not recognised (cs is still usable).
 */
int dcm_charset_parse(const uint8_t *v, size_t n, struct dcm_charset *cs);

/*
 * Appends the UTF-8 form of the n bytes of a value of VR vr to out.
 * Returns 0; PV_ECHARSET when some bytes were replaced by U+FFFD; PV_ENOMEM
 * or PV_ELIMIT from the buffer.
 */
int dcm_charset_to_utf8(const struct dcm_charset *cs, enum dcm_vr vr,
    const uint8_t *in, size_t n, struct pv_buf *out) __attribute__((warn_unused_result));

/*
 * Appends the n bytes of UTF-8 text at in, encoded in the character set cs
 * (the inverse of dcm_charset_to_utf8), to out. PV_ECHARSET when the text
 * cannot be represented (or cs uses ISO 2022 code extensions and the text
 * is not plain ASCII): out is then unchanged.
 */
int dcm_charset_from_utf8(const struct dcm_charset *cs, const uint8_t *in, size_t n,
    struct pv_buf *out) __attribute__((warn_unused_result));

/* The defined term of the first set ("ISO_IR 100"), "" for the default. */
const char *dcm_charset_name(const struct dcm_charset *cs);

/* 1 when every byte of the value is ASCII without ESC (no conversion needed). */
int dcm_charset_is_plain(const uint8_t *in, size_t n);

#endif
