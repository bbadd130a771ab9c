/* textclean.c: redaction of identifying parts of free text (see textclean.h). */
#include "pacsvault/deid/textclean.h"
#include "pacsvault/base/err.h"

#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char)c >= 0x80;
}
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static int
valid_date(int y, int m, int d)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (!(y >= 1800 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1]))
		return 0;
	return m != 2 || d != 29 || leap;
}

static int
num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
deid_prc_id_valid(const char *s)
{
	/* GB 11643-1999: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 = X */
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	int sum = 0;

	for (int i = 0; i < 17; i++) {
		if (!is_digit(s[i]))
			return 0;
		sum += (s[i] - '0') * w[i];
	}
	if (lower(s[17]) != lower(check[sum % 11]))
		return 0;
	return valid_date(num(s + 6, 4), num(s + 10, 2), num(s + 12, 2));
}

/* Marks [a, b) for redaction. */
static void
mark(uint8_t *m, size_t a, size_t b)
{
	memset(m + a, 1, b - a);
}

/* Case-insensitive (ASCII) match of term at in + i. */
static int
term_at(const char *in, size_t n, size_t i, const char *t, size_t tn)
{
	if (tn > n - i)
		return 0;
	for (size_t k = 0; k < tn; k++)
		if (lower(in[i + k]) != lower(t[k]))
			return 0;
	return 1;
}

/* Letters of a word from i: ASCII letters, apostrophes and hyphens inside. */
static size_t
word_end(const char *in, size_t n, size_t i)
{
	size_t j = i;
	while (j < n && (((in[j] | 0x20) >= 'a' && (in[j] | 0x20) <= 'z') ||
	    ((in[j] == '\'' || in[j] == '-') && j > i && j + 1 < n && ((in[j + 1] | 0x20) >= 'a' && (in[j + 1] | 0x20) <= 'z'))))
		j++;
	return j;
}

static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }

/*
 * The end of a person-name-like span starting at i, or i: "Family^Given"
 * (two or more letters each side, more components allowed), or an
 * honorific (Mr, Mrs, Ms, Miss, Dr, Prof, with or without a dot) followed
 * by one or two capitalised words, or 患者/姓名 (optionally a colon)
 * followed by two to four CJK characters.
 */
static size_t
name_at(const char *in, size_t n, size_t i)
{
	static const char *const hon[] = { "Mr", "Mrs", "Ms", "Miss", "Dr", "Prof" };
	size_t e = word_end(in, n, i);

	if (e >= i + 2 && e < n && in[e] == '^') {
		size_t e2 = word_end(in, n, e + 1);
		if (e2 >= e + 3) {
			while (e2 < n && in[e2] == '^' && word_end(in, n, e2 + 1) > e2 + 1)
				e2 = word_end(in, n, e2 + 1);
			return e2;
		}
	}
	for (size_t h = 0; h < sizeof(hon) / sizeof(hon[0]); h++) {
		size_t hl = strlen(hon[h]);
		if (e - i != hl || memcmp(in + i, hon[h], hl) != 0)
			continue;
		size_t j = e;
		if (j < n && in[j] == '.')
			j++;
		if (j >= n || in[j] != ' ')
			return i;
		j++;
		if (j >= n || !is_upper(in[j]))
			return i;
		size_t w = word_end(in, n, j);
		if (w < j + 2)
			return i;
		if (w + 1 < n && in[w] == ' ' && is_upper(in[w + 1]) && word_end(in, n, w + 1) >= w + 3)
			w = word_end(in, n, w + 1);
		return w;
	}
	/* 患者 (E6 82 A3 E8 80 85) or 姓名 (E5 A7 93 E5 90 8D), then a name of 2-4 CJK characters. */
	if (n - i >= 6 && (memcmp(in + i, "\xe6\x82\xa3\xe8\x80\x85", 6) == 0 ||
	    memcmp(in + i, "\xe5\xa7\x93\xe5\x90\x8d", 6) == 0)) {
		size_t j = i + 6, k, chars = 0;
		if (j < n && (in[j] == ':' || in[j] == ' '))
			j++;
		else if (n - j >= 3 && memcmp(in + j, "\xef\xbc\x9a", 3) == 0)  /* full-width colon */
			j += 3;
		k = j;
		while (chars < 4 && n - k >= 3 && (unsigned char)in[k] >= 0xe4 && (unsigned char)in[k] <= 0xe9) {
			k += 3;
			chars++;
		}
		if (chars >= 2)
			return k;
	}
	return i;
}

int
deid_text_find(const char *in, size_t n, const struct deid_terms *terms, deid_text_span_fn fn, void *arg)
{
	int rc;
	size_t ne;

	for (size_t i = 0; i < n; i++) {
		/* The data set's own identifiers, at word boundaries for ASCII terms. */
		if (terms != NULL) {
			for (unsigned t = 0; t < terms->count; t++) {
				size_t tn = terms->n[t];
				if (tn == 0 || !term_at(in, n, i, terms->s[t], tn))
					continue;
				int ascii = (unsigned char)terms->s[t][0] < 0x80;
				if (ascii && ((i > 0 && is_alnum(in[i - 1]) && (unsigned char)in[i - 1] < 0x80) ||
				    (i + tn < n && is_alnum(in[i + tn]) && (unsigned char)in[i + tn] < 0x80)))
					continue;
				if ((rc = fn(arg, DEID_TK_TERM, i, i + tn)) != 0)
					return rc;
			}
		}
		if (i > 0 && is_alnum(in[i - 1]) && (unsigned char)in[i - 1] < 0x80)
			continue; /* the patterns below start at a word boundary */
		/* Person-name-like text: DICOM "Family^Given", or an honorific and a name. */
		if ((ne = name_at(in, n, i)) > i) {
			if ((rc = fn(arg, DEID_TK_NAME, i, ne)) != 0)
				return rc;
			i = ne - 1;
			continue;
		}
		/* PRC resident ID */
		if (n - i >= 18 && deid_prc_id_valid(in + i) && (i + 18 == n || !is_alnum(in[i + 18]))) {
			if ((rc = fn(arg, DEID_TK_PRC_ID, i, i + 18)) != 0)
				return rc;
			continue;
		}
		/* US SSN ddd-dd-dddd */
		if (n - i >= 11 && is_digit(in[i]) && is_digit(in[i + 1]) && is_digit(in[i + 2]) && in[i + 3] == '-' &&
		    is_digit(in[i + 4]) && is_digit(in[i + 5]) && in[i + 6] == '-' && is_digit(in[i + 7]) &&
		    is_digit(in[i + 8]) && is_digit(in[i + 9]) && is_digit(in[i + 10]) &&
		    (i + 11 == n || !is_digit(in[i + 11]))) {
			if ((rc = fn(arg, DEID_TK_SSN, i, i + 11)) != 0)
				return rc;
			continue;
		}
		/* Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, DD/MM/YYYY, DD.MM.YYYY, DD-MM-YYYY */
		if (n - i >= 10 && is_digit(in[i]) && is_digit(in[i + 1])) {
			const char *s = in + i;
			if (is_digit(s[2]) && is_digit(s[3]) && (s[4] == '-' || s[4] == '/' || s[4] == '.') &&
			    s[7] == s[4] && is_digit(s[5]) && is_digit(s[6]) && is_digit(s[8]) && is_digit(s[9]) &&
			    valid_date(num(s, 4), num(s + 5, 2), num(s + 8, 2))) {
				if ((rc = fn(arg, DEID_TK_DATE, i, i + 10)) != 0)
					return rc;
				continue;
			}
			if ((s[2] == '/' || s[2] == '.' || s[2] == '-') && s[5] == s[2] && is_digit(s[3]) &&
			    is_digit(s[4]) && is_digit(s[6]) && is_digit(s[7]) && is_digit(s[8]) && is_digit(s[9]) &&
			    (valid_date(num(s + 6, 4), num(s + 3, 2), num(s, 2)) ||
			    valid_date(num(s + 6, 4), num(s, 2), num(s + 3, 2)))) {
				if ((rc = fn(arg, DEID_TK_DATE, i, i + 10)) != 0)
					return rc;
				continue;
			}
		}
		/* Phone numbers and other long digit runs: 7-15 digits with + ( ) - . space */
		if (is_digit(in[i]) || in[i] == '+' || in[i] == '(') {
			size_t j = i, digits = 0, last = i;
			while (j < n && (is_digit(in[j]) || in[j] == '+' || in[j] == '(' || in[j] == ')' ||
			    in[j] == '-' || in[j] == '.' || in[j] == ' ')) {
				if (is_digit(in[j])) {
					digits++;
					last = j + 1;
				}
				if (in[j] == '+' && j != i)
					break;
				j++;
			}
			if (digits >= 7 && (last == n || !is_alnum(in[last]))) {
				if ((rc = fn(arg, DEID_TK_PHONE, i, last)) != 0)
					return rc;
				i = last - 1;
				continue;
			}
		}
		/* E-mail: local@domain.tld */
		if (in[i] != '@' && is_alnum(in[i])) {
			size_t j = i;
			while (j < n && (is_alnum(in[j]) || in[j] == '.' || in[j] == '_' || in[j] == '-' || in[j] == '+'))
				j++;
			if (j < n && in[j] == '@') {
				size_t k = j + 1, dot = 0;
				while (k < n && (is_alnum(in[k]) || in[k] == '.' || in[k] == '-')) {
					if (in[k] == '.')
						dot = k;
					k++;
				}
				if (dot > j + 1 && dot + 1 < k) {
					if ((rc = fn(arg, DEID_TK_EMAIL, i, k)) != 0)
						return rc;
					i = k - 1;
					continue;
				}
			}
		}
	}
	return 0;
}

static int
mark_span(void *arg, enum deid_text_kind kind, size_t a, size_t b)
{
	(void)kind;
	mark(arg, a, b);
	return 0;
}

int
deid_text_clean(const char *in, size_t n, const struct deid_terms *terms, struct pv_buf *out,
    unsigned *redactions)
{
	uint8_t *m = calloc(n + 1, 1);
	unsigned spans = 0;
	int rc = 0;

	*redactions = 0;
	if (m == NULL)
		return PV_ENOMEM;
	(void)deid_text_find(in, n, terms, mark_span, m);
	for (size_t i = 0; i < n && rc == 0;) {
		if (!m[i]) {
			size_t j = i;
			while (j < n && !m[j])
				j++;
			rc = pv_buf_append(out, in + i, j - i);
			i = j;
		} else {
			while (i < n && m[i])
				i++;
			rc = pv_buf_puts(out, "***");
			spans++;
		}
	}
	if (n == 0)
		rc = pv_buf_append(out, "", 0);
	free(m);
	*redactions = spans;
	return rc;
}
