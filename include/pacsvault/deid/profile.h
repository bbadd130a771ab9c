/*
 * profile.h: the Application Level Confidentiality Profile (PS3.15 Annex E,
 * Table E.1-1, edition 2024c) as a table, and how options resolve.
 *
 * The table is generated from data/ps3.15/ps3.15_e1_1.tsv (all 623 rows:
 * exact tags, repeating-group masks such as 50xx/60xx, and the row for
 * private attributes). deid_profile_action() gives the action for a tag
 * under a set of options; docs/DEID.md explains each choice.
 */
#ifndef PV_DEID_PROFILE_H
#define PV_DEID_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/dicom/vr.h"

/* Actions of Table E.1-1 (PS3.15 E.1.1). */
enum deid_action {
	DEID_A_NONE = 0,  /* no rule: the attribute is not in the table */
	DEID_A_D,         /* replace with a dummy value valid for the VR */
	DEID_A_Z,         /* replace with zero length (or a dummy) */
	DEID_A_X,         /* remove */
	DEID_A_K,         /* keep (a sequence: keep and apply the profile inside) */
	DEID_A_C,         /* clean: keep, with identifying text redacted */
	DEID_A_U,         /* replace a UID with a consistent pseudonym */
	DEID_A_ZD,        /* Z unless D is needed to keep the object valid */
	DEID_A_XZ,        /* X unless Z is needed */
	DEID_A_XD,        /* X unless D is needed */
	DEID_A_XZD,       /* X unless Z or D is needed */
	DEID_A_XZU,       /* X unless Z or a UID replacement is needed (X/Z/U*) */
	DEID_A_COUNT
};

/* The ten options of Table E.1-1, as bits of an option set. */
enum deid_option {
	DEID_OPT_SAFE_PRIVATE = 0,     /* Retain Safe Private */
	DEID_OPT_UIDS,                 /* Retain UIDs */
	DEID_OPT_DEVICE,               /* Retain Device Identity */
	DEID_OPT_INSTITUTION,          /* Retain Institution Identity */
	DEID_OPT_PATIENT_CHARS,        /* Retain Patient Characteristics */
	DEID_OPT_FULL_DATES,           /* Retain Longitudinal Temporal Information, Full Dates */
	DEID_OPT_MODIFIED_DATES,       /* Retain Longitudinal Temporal Information, Modified Dates */
	DEID_OPT_CLEAN_DESCRIPTORS,    /* Clean Descriptors */
	DEID_OPT_CLEAN_STRUCTURED,     /* Clean Structured Content */
	DEID_OPT_CLEAN_GRAPHICS,       /* Clean Graphics */
	DEID_OPT_COUNT
};

#define DEID_OPT_BIT(o) (1u << (o))

struct deid_rule {
	uint32_t tag;                 /* matches t when (t & mask) == tag */
	uint32_t mask;
	uint8_t basic;                /* enum deid_action of the Basic Profile */
	uint8_t opt[DEID_OPT_COUNT];  /* action under each option, DEID_A_NONE if none */
	uint8_t retired;
	uint32_t keyword_at;          /* deid_rule_keyword() */
	uint32_t name_at;             /* deid_rule_name() */
};

/* The pool of the rules' strings (offsets, not pointers: no start-up relocations). */
extern const char deid_profile_strings[];

/* The rule's PS3.6 keyword ("" for the private attributes row). */
static inline const char *
deid_rule_keyword(const struct deid_rule *r)
{
	return deid_profile_strings + r->keyword_at;
}

/* The rule's attribute name as Table E.1-1 gives it. */
static inline const char *
deid_rule_name(const struct deid_rule *r)
{
	return deid_profile_strings + r->name_at;
}

/*
 * The rule for a standard (even-group) tag: exact match first, then the
 * repeating-group masks. NULL when the table has no rule for it.
 */
const struct deid_rule *deid_profile_rule(uint32_t tag);

/* The rule for private attributes (odd groups): X, or C with Retain Safe Private. */
const struct deid_rule *deid_profile_private_rule(void);

/*
 * The action for rule under the option set opts (DEID_OPT_BIT bits). When
 * selected options give different actions, the most conservative wins
 * (X, then Z, D, U, C, K): see docs/DEID.md. Retain Full Dates and Retain
 * Modified Dates exclude each other (the caller refuses both).
 */
enum deid_action deid_profile_action(const struct deid_rule *rule, unsigned opts);

/* A row of PS3.15 Table E.3.10-1 (Safe Private Attributes). */
struct deid_safe_private {
	uint16_t group;        /* odd group */
	uint8_t offset;        /* element within the creator's block (the xx of ggggxxee's ee) */
	const char *creator;   /* private creator value */
	const char *vr;
};

/*
 * 1 when the private data element at (group, offset in its block) of the
 * block reserved by creator (n bytes, trailing spaces ignored) is a safe
 * private attribute (PS3.15 E.3.10). Matched by creator and offset, never
 * by raw tag: blocks move between files.
 */
int deid_safe_private(uint16_t group, uint8_t offset, const char *creator, size_t n);

/* The same lookup, giving the E.3.10 row (its VR) or NULL. */
const struct deid_safe_private *deid_safe_private_find(uint16_t group, uint8_t offset, const char *creator,
    size_t n);

/*
 * 1 when tag is a standard attribute that Table E.1-1 does not list, whose
 * VR can carry free text, and that the reviewed allow-list of docs/DEID.md
 * ("Attributes the table does not list") keeps, its text still cleaned:
 * coded vocabulary, equipment make and model, technique. Every other
 * unlisted free-text attribute is removed or cleaned.
 */
int deid_safe_text(uint32_t tag);

/* 1 for the VRs whose values can carry free text: PN LO SH ST LT UT UC AE UR. */
int deid_text_vr(enum dcm_vr vr);

/* A CID 7050 De-identification Method code (PS3.16). */
struct deid_method_code {
	const char *value, *scheme, *meaning;
	int option;   /* enum deid_option, -1 for the Basic Profile, -2 for pixel options */
};

/* The code for option o (-1: the Basic Profile); NULL if none. */
const struct deid_method_code *deid_method_code(int option);

/* "D", "X/Z", ... for reports. */
const char *deid_action_name(enum deid_action a);

/* The option's name as a command-line flag without dashes ("retain-uids"). */
const char *deid_option_flag(enum deid_option o);

/* The edition of Table E.1-1 ("2024c") and its number of rows (623). */
const char *deid_profile_edition(void);
unsigned deid_profile_row_count(void);

#endif
