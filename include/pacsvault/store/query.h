/*
 * query.h: C-FIND matching (PS3.4 C.2.2.2) on attribute values held as
 * UTF-8 text, and the vault's attribute set per query level.
 *
 * Matching kinds, chosen by the key's VR and value as PS3.4 C.2.2.2 says:
 *   universal (C.2.2.2.3): an empty key matches everything;
 *   single value (C.2.2.2.1): exact, trailing spaces not significant;
 *     PN keys match insensitively to case (the latitude C.2.2.2.1 gives),
 *     every other VR is case-sensitive;
 *   list of UIDs (C.2.2.2.2): a backslash-separated list of UI values;
 *   wildcard (C.2.2.2.4): '*' any run, '?' one character, on any VR
 *     except DA, TM, DT, UI and the numbers;
 *   range (C.2.2.2.5): DA, TM, DT keys "A-B", "A-", "-B"; a DA and a TM
 *     key of the same level combined as one DT range is not done (each
 *     is matched on its own, as most archives do).
 */
#ifndef PV_STORE_QUERY_H
#define PV_STORE_QUERY_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"

enum query_level {
	QUERY_PATIENT = 0,
	QUERY_STUDY = 1,
	QUERY_SERIES = 2,
	QUERY_IMAGE = 3
};

/* The attributes the vault indexes; each belongs to one level. */
struct query_attr {
	uint32_t tag;
	const char *keyword;
	const char *vr;          /* "PN", "DA", ... */
	uint8_t level;           /* enum query_level */
	uint8_t blind;           /* exact matches go through a keyed blind index */
	uint8_t clear;           /* stored in clear (not PHI: Modality, SOP Class) */
	uint8_t computed;        /* derived at query time (ModalitiesInStudy, counts) */
};

/* The table of indexed attributes (query.c), ended by tag 0. */
extern const struct query_attr query_attrs[];

/* The attribute with keyword (exact spelling) or hex tag "GGGGEEEE", or NULL. */
const struct query_attr *query_attr_find(const char *name);

/* The level named "PATIENT", "STUDY", "SERIES", "IMAGE" (or "INSTANCE"), any case; -1 if none. */
int query_level_parse(const char *s);
const char *query_level_name(int level);

/* One key of a query: an attribute and its matching value (UTF-8, may be empty). */
struct query_key {
	const struct query_attr *attr;
	char *value;                 /* owned */
	int kind;                    /* QK_* below */
};
enum { QK_UNIVERSAL = 0, QK_SINGLE, QK_LIST, QK_WILD, QK_RANGE };

/*
 * Parses "Keyword=value" (or "GGGGEEEE=value"; "Keyword" alone is
 * "Keyword="): the key's kind is decided from its VR and value. Errors:
 * PV_EINVAL (an unknown or unindexed attribute, a range on a non-date VR,
 * a malformed date or range) with the reason in d.
 */
int query_key_parse(const char *arg, struct query_key *k, struct pv_diag *d)
	__attribute__((warn_unused_result));
void query_key_free(struct query_key *k);

/* 1 when the stored value v (UTF-8; NULL = absent, matches only universal keys) matches k. */
int query_key_match(const struct query_key *k, const char *v);

/*
 * '*' and '?' wildcard match of pattern p on s, with case folding of ASCII
 * letters when fold is set. '?' matches one UTF-8 character.
 */
int query_wild_match(const char *p, const char *s, int fold);

/* For a multi-valued stored value ("CT\MR"): 1 when any value matches k. */
int query_key_match_any(const struct query_key *k, const char *v);

#endif
