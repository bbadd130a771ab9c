/*
 * textclean.h: the C (clean) action on free text (PS3.15 E.1.1, "replace
 * with values of similar meaning known not to contain identifying
 * information").
 *
 * Works on UTF-8. Finds and redacts: the data set's own identifiers (names
 * and IDs given as terms, matched case-insensitively), 18-character PRC
 * resident identity numbers with a valid ISO 7064 MOD 11-2 check and birth
 * date, US social security numbers, phone numbers (7 to 15 digits with the
 * usual separators), e-mail addresses, calendar dates in the common written
 * forms, and person-name-like text ("Family^Given", an honorific and a
 * capitalised name, 患者/姓名 and a CJK name). Each redacted span becomes
 * "***". The same detectors serve the residual-PHI scanner.
 */
#ifndef PV_DEID_TEXTCLEAN_H
#define PV_DEID_TEXTCLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"

struct deid_terms {
	const char **s;   /* UTF-8 terms, not owned */
	size_t *n;
	unsigned count;
};

/* 1 when s (18 bytes) is a PRC resident ID: 17 digits and a MOD 11-2 check, valid birth date. */
int deid_prc_id_valid(const char *s);

enum deid_text_kind {
	DEID_TK_TERM,     /* one of the data set's own identifiers */
	DEID_TK_PRC_ID,   /* PRC resident identity number */
	DEID_TK_SSN,      /* US social security number */
	DEID_TK_DATE,
	DEID_TK_PHONE,    /* phone numbers and other long digit runs */
	DEID_TK_EMAIL,
	DEID_TK_NAME      /* person-name-like text */
};

/* Called for each identifying span [a, b) found; a non-zero return stops the search. */
typedef int (*deid_text_span_fn)(void *arg, enum deid_text_kind kind, size_t a, size_t b);

/* Finds the identifying spans of the n bytes of UTF-8 text at in. terms may be NULL. */
int deid_text_find(const char *in, size_t n, const struct deid_terms *terms, deid_text_span_fn fn, void *arg);

/*
 * Appends the cleaned form of the n bytes of UTF-8 text at in to out and sets
 * *redactions to the number of spans redacted. terms may be NULL.
 */
int deid_text_clean(const char *in, size_t n, const struct deid_terms *terms, struct pv_buf *out,
    unsigned *redactions) __attribute__((warn_unused_result));

#endif
