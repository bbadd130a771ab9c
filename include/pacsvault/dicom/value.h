/*
 * value.h: reading and formatting element values.
 *
 * Values are in little-endian byte order as the reader hands them out.
 */
#ifndef PV_DICOM_VALUE_H
#define PV_DICOM_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/vr.h"

/* Number of values (VM) of a value of len bytes; 0 when empty. */
unsigned dcm_value_vm(enum dcm_vr vr, const uint8_t *v, uint32_t len);

/*
 * Appends a dcmdump-style rendering: strings as [text] in UTF-8 with
 * trailing padding removed, numbers in decimal separated by '\', AT as
 * (gggg,eeee), bulk bytes in hex. At most max_values values are shown
 * (0 = all), then "...". "(no value available)" when empty.
 */
int dcm_value_format(enum dcm_vr vr, const uint8_t *v, uint32_t len,
    const struct dcm_charset *cs, unsigned max_values, struct pv_buf *out)
	__attribute__((warn_unused_result));

/* Length without trailing padding (spaces; and NULs for UI, OB, UN...). */
uint32_t dcm_value_trim_len(enum dcm_vr vr, const uint8_t *v, uint32_t len);

/*
 * The i-th value of a string element as [*start, *start + *n), without
 * leading/trailing spaces as PS3.5 6.2 allows for the VR. Returns 0 or
 * PV_ENOTFOUND past the last value.
 */
int dcm_value_string_at(enum dcm_vr vr, const uint8_t *v, uint32_t len, unsigned i,
    const uint8_t **start, size_t *n);

/* Reads little-endian numbers. */
static inline uint16_t dcm_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t dcm_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t dcm_le64(const uint8_t *p)
{
	return (uint64_t)dcm_le32(p) | (uint64_t)dcm_le32(p + 4) << 32;
}

#endif
