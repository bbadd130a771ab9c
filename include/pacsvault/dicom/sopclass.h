/* sopclass.h: the Storage SOP Classes of PS3.4 annex B (generated table, sopclass_table.c). */
#ifndef PV_DICOM_SOPCLASS_H
#define PV_DICOM_SOPCLASS_H
#include <stddef.h>

struct dcm_sop_class {
	const char *uid;
	const char *name;
	int retired;
};

/* The storage SOP class uid, or NULL when it is not one. */
const struct dcm_sop_class *dcm_storage_class(const char *uid);
/* The i-th of the table (sorted by UID), NULL past the end. */
const struct dcm_sop_class *dcm_storage_class_at(size_t i);

#endif
