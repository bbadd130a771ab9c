/* vr.c: the value representation table (PS3.5 Table 6.2-1, 7.1.2). */
#include "pacsvault/dicom/vr.h"

/* name kind long swap multi charset pad max */
static const struct dcm_vr_info vr_table[DCM_VR_COUNT] = {
	[DCM_VR__] = { "--", DCM_VRK_NONE, 0, 0, 0, 0, 0, 0 },
	[DCM_VR_AE] = { "AE", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 16 },
	[DCM_VR_AS] = { "AS", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 4 },
	[DCM_VR_AT] = { "AT", DCM_VRK_NUMBER, 0, 2, 0, 0, 0, 4 },
	[DCM_VR_CS] = { "CS", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 16 },
	[DCM_VR_DA] = { "DA", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 8 },
	[DCM_VR_DS] = { "DS", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 16 },
	[DCM_VR_DT] = { "DT", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 26 },
	[DCM_VR_FD] = { "FD", DCM_VRK_NUMBER, 0, 8, 0, 0, 0, 8 },
	[DCM_VR_FL] = { "FL", DCM_VRK_NUMBER, 0, 4, 0, 0, 0, 4 },
	[DCM_VR_IS] = { "IS", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 12 },
	[DCM_VR_LO] = { "LO", DCM_VRK_STRING, 0, 0, 1, 1, ' ', 64 },
	[DCM_VR_LT] = { "LT", DCM_VRK_STRING, 0, 0, 0, 1, ' ', 10240 },
	[DCM_VR_OB] = { "OB", DCM_VRK_BULK, 1, 0, 0, 0, 0, 0 },
	[DCM_VR_OD] = { "OD", DCM_VRK_BULK, 1, 8, 0, 0, 0, 0 },
	[DCM_VR_OF] = { "OF", DCM_VRK_BULK, 1, 4, 0, 0, 0, 0 },
	[DCM_VR_OL] = { "OL", DCM_VRK_BULK, 1, 4, 0, 0, 0, 0 },
	[DCM_VR_OV] = { "OV", DCM_VRK_BULK, 1, 8, 0, 0, 0, 0 },
	[DCM_VR_OW] = { "OW", DCM_VRK_BULK, 1, 2, 0, 0, 0, 0 },
	[DCM_VR_PN] = { "PN", DCM_VRK_STRING, 0, 0, 1, 1, ' ', 0 },
	[DCM_VR_SH] = { "SH", DCM_VRK_STRING, 0, 0, 1, 1, ' ', 16 },
	[DCM_VR_SL] = { "SL", DCM_VRK_NUMBER, 0, 4, 0, 0, 0, 4 },
	[DCM_VR_SQ] = { "SQ", DCM_VRK_SEQ, 1, 0, 0, 0, 0, 0 },
	[DCM_VR_SS] = { "SS", DCM_VRK_NUMBER, 0, 2, 0, 0, 0, 2 },
	[DCM_VR_ST] = { "ST", DCM_VRK_STRING, 0, 0, 0, 1, ' ', 1024 },
	[DCM_VR_SV] = { "SV", DCM_VRK_NUMBER, 1, 8, 0, 0, 0, 8 },
	[DCM_VR_TM] = { "TM", DCM_VRK_STRING, 0, 0, 1, 0, ' ', 14 },
	[DCM_VR_UC] = { "UC", DCM_VRK_STRING, 1, 0, 1, 1, ' ', 0 },
	[DCM_VR_UI] = { "UI", DCM_VRK_STRING, 0, 0, 1, 0, '\0', 64 },
	[DCM_VR_UL] = { "UL", DCM_VRK_NUMBER, 0, 4, 0, 0, 0, 4 },
	[DCM_VR_UN] = { "UN", DCM_VRK_BULK, 1, 0, 0, 0, 0, 0 },
	[DCM_VR_UR] = { "UR", DCM_VRK_STRING, 1, 0, 0, 0, ' ', 0 },
	[DCM_VR_US] = { "US", DCM_VRK_NUMBER, 0, 2, 0, 0, 0, 2 },
	[DCM_VR_UT] = { "UT", DCM_VRK_STRING, 1, 0, 0, 1, ' ', 0 },
	[DCM_VR_UV] = { "UV", DCM_VRK_NUMBER, 1, 8, 0, 0, 0, 8 },
};

const struct dcm_vr_info *
dcm_vr_info(enum dcm_vr vr)
{
	if ((unsigned)vr >= DCM_VR_COUNT)
		return &vr_table[DCM_VR__];
	return &vr_table[vr];
}

const char *
dcm_vr_name(enum dcm_vr vr)
{
	return dcm_vr_info(vr)->name;
}

enum dcm_vr
dcm_vr_parse(unsigned char c0, unsigned char c1)
{
	/* vr_table[1..] is in alphabetical order: binary search. */
	unsigned key = (unsigned)c0 << 8 | c1, lo = 1, hi = DCM_VR_COUNT - 1;

	while (lo <= hi) {
		unsigned mid = (lo + hi) / 2;
		unsigned k = (unsigned)(unsigned char)vr_table[mid].name[0] << 8 |
		    (unsigned char)vr_table[mid].name[1];
		if (k == key)
			return (enum dcm_vr)mid;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return DCM_VR__;
}
