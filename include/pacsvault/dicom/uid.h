/*
 * uid.h: UID validation and generation (PS3.5 9, B.2).
 */
#ifndef PV_DICOM_UID_H
#define PV_DICOM_UID_H

#include <stddef.h>
#include <stdint.h>

#define DCM_UID_MAX 64

/*
 * 1 when s[0..n) is a valid UID: at most 64 characters, components of
 * digits separated by single dots, no empty component, no leading zero in a
 * component other than "0" itself (PS3.5 9.1). One trailing NUL is allowed
 * (padding).
 */
int dcm_uid_valid(const char *s, size_t n);

/*
 * Writes "2.25." + the decimal value of the 128-bit big-endian integer b
 * (PS3.5 B.2, ITU-T X.667) into out (at least 45 bytes). Returns the length.
 */
size_t dcm_uid_from_128(const uint8_t b[16], char out[48]);

/* A fresh random 2.25 UID (from getrandom). 0 or PV_EIO. */
int dcm_uid_generate(char out[48]) __attribute__((warn_unused_result));

#endif
