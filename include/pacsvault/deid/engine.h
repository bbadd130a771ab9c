/*
 * engine.h: applies the de-identification profile to a DICOM file in memory.
 *
 * deid_apply() walks every element at every depth of every sequence and
 * applies the action of PS3.15 Table E.1-1 under the chosen options (see
 * docs/DEID.md for each choice), replaces UIDs and the patient's ID and
 * name with keyed pseudonyms, shifts dates by a keyed per-patient offset
 * when asked, removes private attributes (keeping the safe ones of Table
 * E.3.10-1 when asked), adds the attributes PS3.15 E.1.1 requires, and
 * empties the File Meta Information so the writer regenerates it from the
 * new data set. Pseudonyms depend only on the project key and the original
 * value: the same in every run, on every machine.
 */
#ifndef PV_DEID_ENGINE_H
#define PV_DEID_ENGINE_H

#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/deid/profile.h"

struct deid_recipe;
struct pv_cms_recipient;

struct deid_config {
	unsigned opts;           /* DEID_OPT_BIT() set */
	uint8_t key[32];         /* the project key (HMAC key) */
	const struct deid_recipe *recipe;  /* site overrides, or NULL (borrowed) */
	const struct pv_cms_recipient *reid;  /* PS3.15 E.1.2: encrypt the originals for it, or NULL */
};

struct deid_counts {
	unsigned removed, emptied, dummied, uids, cleaned, shifted, kept_private, pseudonyms, recipe;
	unsigned unused_bits;    /* 1: the native Pixel Data's unused bits are cleared as it is written */
};

/*
 * De-identifies f in place. counts may be NULL. report, when not NULL, gets
 * a JSON object of tag paths and actions ("00100010": "Z") with no values.
 * Returns 0, or PV_ENOMEM / PV_EIO (a bulk value could not be read).
 */
int deid_apply(struct dcm_file *f, const struct deid_config *cfg, struct deid_counts *counts,
    struct pv_buf *report, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * 1 when f's pixel data may carry burned-in text that no rule cleans: it has
 * pixel data and BurnedInAnnotation is YES, or its modality usually carries
 * text (US, XA, OT, SC) or it is a Secondary Capture (screen captures).
 * reason (n bytes) says which, without values other than these codes.
 * Call before deid_apply (it reads the original attributes).
 */
int deid_burned_in_risk(struct dcm_file *f, char *reason, size_t n);

/* "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, "uid" || uid) into out (48 bytes). */
int deid_uid_pseudonym(const uint8_t key[32], const char *uid, size_t n, char out[48])
	__attribute__((warn_unused_result));

/* The per-patient date shift in days (negative: into the past, -1 to -3650). */
int deid_date_offset(const uint8_t key[32], const char *patient_id, size_t n, int *days)
	__attribute__((warn_unused_result));

/* Shifts a DA value "YYYYMMDD" by days into out (9 bytes); PV_EPARSE if not a date. */
int deid_shift_date(const char *da, int days, char out[9]) __attribute__((warn_unused_result));

#endif
