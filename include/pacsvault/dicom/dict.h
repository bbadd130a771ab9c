/*
 * dict.h: tags and the PS3.6 data dictionary.
 *
 * The dictionary is a generated table (src/dicom/dict_table.c, from
 * data/dict/dicom-dict.tsv; edition in dcm_dict_edition()). Exact tags are
 * found by binary search; repeating groups (50xx, 60xx, ...), group lengths
 * and private creators by a short range table.
 */
#ifndef PV_DICOM_DICT_H
#define PV_DICOM_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/dicom/vr.h"

#define DCM_TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define DCM_GROUP(t) ((uint16_t)((t) >> 16))
#define DCM_ELEM(t) ((uint16_t)((t) & 0xffffu))
#define DCM_IS_PRIVATE(t) ((DCM_GROUP(t) & 1u) != 0)
/* A private creator element (gggg,0010-00FF) in an odd group > 0007 (PS3.5 7.8.1). */
#define DCM_IS_PRIVATE_CREATOR(t) \
	(DCM_IS_PRIVATE(t) && DCM_GROUP(t) > 7 && DCM_ELEM(t) >= 0x10 && DCM_ELEM(t) <= 0xff)
/* The creator element that reserves the block of private data element t. */
#define DCM_PRIVATE_CREATOR_OF(t) DCM_TAG(DCM_GROUP(t), DCM_ELEM(t) >> 8)

/* The undefined length (PS3.5 7.1.1). */
#define DCM_UNDEFINED_LENGTH 0xffffffffu

/* Tags the codec itself needs (PS3.6). */
#define DCM_TAG_ITEM                0xfffee000u
#define DCM_TAG_ITEM_DELIM          0xfffee00du
#define DCM_TAG_SEQ_DELIM           0xfffee0ddu
#define DCM_TAG_META_GROUP_LENGTH   0x00020000u
#define DCM_TAG_META_VERSION        0x00020001u
#define DCM_TAG_MEDIA_SOP_CLASS     0x00020002u
#define DCM_TAG_MEDIA_SOP_INSTANCE  0x00020003u
#define DCM_TAG_TRANSFER_SYNTAX     0x00020010u
#define DCM_TAG_IMPL_CLASS_UID      0x00020012u
#define DCM_TAG_IMPL_VERSION_NAME   0x00020013u
#define DCM_TAG_SOURCE_AE           0x00020016u
#define DCM_TAG_SPECIFIC_CHARSET    0x00080005u
#define DCM_TAG_SOP_CLASS_UID       0x00080016u
#define DCM_TAG_SOP_INSTANCE_UID    0x00080018u
#define DCM_TAG_PIXEL_DATA          0x7fe00010u
#define DCM_TAG_FLOAT_PIXEL_DATA    0x7fe00008u
#define DCM_TAG_DOUBLE_PIXEL_DATA   0x7fe00009u

/* Entry flags */
#define DCM_DICT_RETIRED 0x01u  /* retired in the edition of the table */
#define DCM_DICT_XS      0x02u  /* US or SS (xs), or US/SS/OW (LUT data) */
#define DCM_DICT_OX      0x04u  /* OB or OW */

struct dcm_dict_entry {
	uint32_t tag;         /* for range entries: 0 */
	uint8_t vr;           /* enum dcm_vr; DCM_VR__ for items */
	uint8_t flags;        /* DCM_DICT_* */
	uint32_t keyword_at;  /* dcm_dict_keyword() */
	uint32_t vm_at;       /* dcm_dict_vm() */
};

/* The pool the entries' strings are in (offsets, not pointers: the table needs no relocation at start-up). */
extern const char dcm_dict_strings[];

/* The PS3.6 keyword of an entry, e.g. "PatientName". */
static inline const char *
dcm_dict_keyword(const struct dcm_dict_entry *e)
{
	return dcm_dict_strings + e->keyword_at;
}

/* The value multiplicity of an entry, e.g. "1-n". */
static inline const char *
dcm_dict_vm(const struct dcm_dict_entry *e)
{
	return dcm_dict_strings + e->vm_at;
}

/*
 * out = path "." GGGGEEEE (GGGGEEEE when path is ""), as "%s%s%04X%04X"
 * would write it, without printf (it runs for every element of every file
 * deid and scan look at); cut to outsz - 1 characters. out may be path.
 */
void dcm_tag_path(char *out, size_t outsz, const char *path, uint32_t tag);

/* The entry for tag, or NULL when the tag is not in the dictionary. */
const struct dcm_dict_entry *dcm_dict_lookup(uint32_t tag);

/*
 * The VR to use for tag in Implicit VR: the dictionary's, UL for group
 * lengths, LO for private creators, else UN.
 */
enum dcm_vr dcm_dict_vr(uint32_t tag);

/* The tag with this keyword; 0 (and *found 0) when there is none. */
uint32_t dcm_dict_find_keyword(const char *keyword, int *found);

/* The edition of PS3.6 the table was made from, e.g. "2022b". */
const char *dcm_dict_edition(void);

/* Number of exact entries (for tests). */
unsigned dcm_dict_size(void);

#endif
