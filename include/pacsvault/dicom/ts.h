/*
 * ts.h: transfer syntaxes (PS3.5 section 10, PS3.6 Table A-1).
 */
#ifndef PV_DICOM_TS_H
#define PV_DICOM_TS_H

#include <stddef.h>

#define DCM_TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define DCM_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define DCM_TS_DEFLATED_LE "1.2.840.10008.1.2.1.99"
#define DCM_TS_EXPLICIT_BE "1.2.840.10008.1.2.2"

struct dcm_ts {
	const char *uid;
	const char *name;       /* short name, e.g. "Explicit VR Little Endian" */
	const char *keyword;    /* option spelling, e.g. "explicit-le" (NULL if none) */
	unsigned explicit_vr : 1;
	unsigned big_endian : 1;
	unsigned deflated : 1;
	unsigned encapsulated : 1;  /* pixel data in fragments (PS3.5 A.4) */
	unsigned retired : 1;
	unsigned known : 1;         /* 0 for the stand-in for unknown UIDs */
};

/*
 * The transfer syntax with this UID (n bytes, trailing NUL or space padding
 * ignored). For a UID not in the table, returns NULL.
 */
const struct dcm_ts *dcm_ts_lookup(const char *uid, size_t n);

/*
 * A stand-in for a UID the table lacks: Explicit VR Little Endian with
 * encapsulated pixel data allowed (how every later syntax is encoded).
 */
const struct dcm_ts *dcm_ts_unknown(void);

/* By option keyword ("implicit-le", "explicit-le", "explicit-be", "deflated-le"). */
const struct dcm_ts *dcm_ts_by_keyword(const char *keyword);

/* Table access for tests and `pacsvault help`. */
const struct dcm_ts *dcm_ts_at(size_t i);  /* NULL past the end */

#endif
