/*
 * textclean.h: the C (clean) action on free text (PS3.15 E.1.1, "replace
 * with values of similar meaning known not to contain identifying
 * information").
 *
 * Works on UTF-8, decoded into code points: full-width forms count as
 * their ASCII twins, letters are compared case-folded (Latin, Greek,
 * Cyrillic), and a CJK character or full-width punctuation next to a digit
 * run is a boundary. Finds and redacts: the data set's own identifiers
 * (terms, any number, matched case-folded; Latin-script terms at word
 * boundaries), 18-character PRC resident identity numbers with a valid ISO
 * 7064 MOD 11-2 check and birth date, US social security numbers, record
 * numbers (one to four letters joined to five or more digits), phone
 * numbers (7 to 15 digits with the usual separators), e-mail addresses,
 * dates (2024-03-01, 01.03.2024, 3/14/61, 14-MAR-1961, 14 March 1961,
 * March 14, 1961, 1961年3月14日), ages over 89 (95-year-old, 095Y, 1200M,
 * 95岁), people's names by context in English and Chinese in either order
 * ("Family^Given", Dr/Prof/Mr/Contact/Nurse... and capitalised words,
 * "Xxx Yyy, MD", 医生/主任/护士/联系人/家属/患者/姓名... before or after two
 * to four CJK characters), and institutions (capitalised words before
 * Hospital, Clinic, Medical Center...; CJK before 医院, 卫生院, 诊所,
 * 中心...). Each redacted span becomes "***". The same detectors serve
 * the residual-PHI scanner.
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
	unsigned flags;   /* DEID_TF_* */
};

/* A code value (CodeValue, LongCodeValue...): numbers in it are codes, not phones, IDs or dates. */
#define DEID_TF_CODE 0x1u

/* 1 when s (18 bytes) is a PRC resident ID: 17 digits and a MOD 11-2 check, valid birth date. */
int deid_prc_id_valid(const char *s);

enum deid_text_kind {
	DEID_TK_TERM,     /* one of the data set's own identifiers */
	DEID_TK_PRC_ID,   /* PRC resident identity number */
	DEID_TK_SSN,      /* US social security number */
	DEID_TK_DATE,
	DEID_TK_PHONE,    /* phone numbers and other long digit runs */
	DEID_TK_EMAIL,
	DEID_TK_NAME,     /* person-name-like text */
	DEID_TK_INSTITUTION, /* a hospital's or clinic's name */
	DEID_TK_AGE,      /* an age over 89 */
	DEID_TK_RECORD    /* a record number: letters joined to 5+ digits ("MRN968298") */
};

/* Called for each identifying span [a, b) found; a non-zero return stops the search. */
typedef int (*deid_text_span_fn)(void *arg, enum deid_text_kind kind, size_t a, size_t b);

/*
 * Finds the identifying spans of the n bytes of UTF-8 text at in (invalid
 * bytes are read as U+FFFD) and calls fn for each, in bytes. terms may be
 * NULL. Spans may overlap. PV_ENOMEM, or what fn returned.
 */
int deid_text_find(const char *in, size_t n, const struct deid_terms *terms, deid_text_span_fn fn, void *arg);

/*
 * Appends the cleaned form of the n bytes of UTF-8 text at in to out and sets
 * *redactions to the number of spans redacted. terms may be NULL.
 */
int deid_text_clean(const char *in, size_t n, const struct deid_terms *terms, struct pv_buf *out,
    unsigned *redactions) __attribute__((warn_unused_result));

#endif
