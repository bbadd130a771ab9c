/*
 * vr.h: DICOM value representations (PS3.5 6.2, Table 6.2-1).
 */
#ifndef PV_DICOM_VR_H
#define PV_DICOM_VR_H

#include <stddef.h>
#include <stdint.h>

/* Order is the table order in vr.c; DCM_VR__ is "no VR" (items, delimiters). */
enum dcm_vr {
	DCM_VR__ = 0,
	DCM_VR_AE, DCM_VR_AS, DCM_VR_AT, DCM_VR_CS, DCM_VR_DA, DCM_VR_DS, DCM_VR_DT,
	DCM_VR_FD, DCM_VR_FL, DCM_VR_IS, DCM_VR_LO, DCM_VR_LT, DCM_VR_OB, DCM_VR_OD,
	DCM_VR_OF, DCM_VR_OL, DCM_VR_OV, DCM_VR_OW, DCM_VR_PN, DCM_VR_SH, DCM_VR_SL,
	DCM_VR_SQ, DCM_VR_SS, DCM_VR_ST, DCM_VR_SV, DCM_VR_TM, DCM_VR_UC, DCM_VR_UI,
	DCM_VR_UL, DCM_VR_UN, DCM_VR_UR, DCM_VR_US, DCM_VR_UT, DCM_VR_UV,
	DCM_VR_COUNT
};

/* VR classes */
enum dcm_vr_kind {
	DCM_VRK_NONE,    /* items and delimiters */
	DCM_VRK_STRING,  /* character strings */
	DCM_VRK_NUMBER,  /* binary numbers: AT FD FL SL SS SV UL US UV */
	DCM_VRK_BULK,    /* OB OD OF OL OV OW UN: opaque, possibly large */
	DCM_VRK_SEQ      /* SQ */
};

struct dcm_vr_info {
	char name[3];          /* "AE" */
	uint8_t kind;          /* enum dcm_vr_kind */
	uint8_t long_header;   /* explicit VR uses 2 reserved bytes + 32-bit length (PS3.5 7.1.2) */
	uint8_t swap;          /* byte-swap unit for big endian: 0, 2, 4 or 8 */
	uint8_t multi;         /* backslash separates values (PS3.5 6.4) */
	uint8_t charset;       /* affected by Specific Character Set (PS3.5 6.1.2.3) */
	char pad;              /* padding byte for odd lengths: ' ' or '\0' */
	uint32_t max_len;      /* max bytes per value, 0 = no fixed max */
};

/* Properties of vr; DCM_VR__ for values out of range. Never NULL. */
const struct dcm_vr_info *dcm_vr_info(enum dcm_vr vr);

/* "AE" for DCM_VR_AE; "--" for DCM_VR__. */
const char *dcm_vr_name(enum dcm_vr vr);

/* Parses two VR characters; returns DCM_VR__ when they are no known VR. */
enum dcm_vr dcm_vr_parse(unsigned char c0, unsigned char c1);

#endif
