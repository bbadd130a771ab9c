/* dict_table.h: the generated tables behind dict.c (internal). */
#ifndef PV_DICOM_DICT_TABLE_H
#define PV_DICOM_DICT_TABLE_H

#include "pacsvault/dicom/dict.h"

struct dcm_dict_range {
	uint16_t glo, ghi;  /* group range */
	uint8_t gpar;       /* 0 even, 1 odd, 2 any */
	uint16_t elo, ehi;  /* element range */
	uint8_t epar;
	struct dcm_dict_entry e;
};

extern const char dcm_dict_edition_str[];
extern const struct dcm_dict_entry dcm_dict_exact[];
extern const unsigned dcm_dict_exact_count;
extern const struct dcm_dict_range dcm_dict_ranges[];
extern const unsigned dcm_dict_range_count;

#endif
