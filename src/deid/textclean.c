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
	return y >= 1800 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
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
				mark(m, i, i + tn);
			}
		}
		if (i > 0 && is_alnum(in[i - 1]) && (unsigned char)in[i - 1] < 0x80)
			continue; /* the patterns below start at a word boundary */
		/* PRC resident ID */
		if (n - i >= 18 && deid_prc_id_valid(in + i) && (i + 18 == n || !is_alnum(in[i + 18]))) {
			mark(m, i, i + 18);
			continue;
		}
		/* US SSN ddd-dd-dddd */
		if (n - i >= 11 && is_digit(in[i]) && is_digit(in[i + 1]) && is_digit(in[i + 2]) && in[i + 3] == '-' &&
		    is_digit(in[i + 4]) && is_digit(in[i + 5]) && in[i + 6] == '-' && is_digit(in[i + 7]) &&
		    is_digit(in[i + 8]) && is_digit(in[i + 9]) && is_digit(in[i + 10]) &&
		    (i + 11 == n || !is_digit(in[i + 11]))) {
			mark(m, i, i + 11);
			continue;
		}
		/* Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, DD/MM/YYYY, DD.MM.YYYY, DD-MM-YYYY */
		if (n - i >= 10 && is_digit(in[i]) && is_digit(in[i + 1])) {
			const char *s = in + i;
			if (is_digit(s[2]) && is_digit(s[3]) && (s[4] == '-' || s[4] == '/' || s[4] == '.') &&
			    s[7] == s[4] && is_digit(s[5]) && is_digit(s[6]) && is_digit(s[8]) && is_digit(s[9]) &&
			    valid_date(num(s, 4), num(s + 5, 2), num(s + 8, 2))) {
				mark(m, i, i + 10);
				continue;
			}
			if ((s[2] == '/' || s[2] == '.' || s[2] == '-') && s[5] == s[2] && is_digit(s[3]) &&
			    is_digit(s[4]) && is_digit(s[6]) && is_digit(s[7]) && is_digit(s[8]) && is_digit(s[9]) &&
			    (valid_date(num(s + 6, 4), num(s + 3, 2), num(s, 2)) ||
			    valid_date(num(s + 6, 4), num(s, 2), num(s + 3, 2)))) {
				mark(m, i, i + 10);
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
				mark(m, i, last);
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
					mark(m, i, k);
					i = k - 1;
					continue;
				}
			}
		}
	}
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
