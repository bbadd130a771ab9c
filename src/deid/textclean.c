/* textclean.c: redaction of identifying parts of free text (see textclean.h). */
#include "pacsvault/deid/textclean.h"
#include "pacsvault/base/err.h"

#include <stdlib.h>
#include <string.h>
#include <uchar.h>

/*
 * The text is decoded into code points first, so that every detector sees
 * characters, not bytes: full-width forms (U+FF01-U+FF5E, the ideographic
 * space) are read as their ASCII twins, letters are compared case-folded,
 * and a CJK character next to a digit run is a boundary, not a letter that
 * hides the run. Spans are reported in bytes of the input.
 */
#define TEXT_INLINE 160   /* code points held in the struct: most values are short, no malloc */

struct text {
	const char *in;
	size_t nbytes;
	uint32_t *c;       /* normalised code points (full-width folded to ASCII) */
	uint32_t *f;       /* the same, case-folded */
	size_t *off;       /* byte offset of each code point; off[n] = nbytes */
	size_t n;
	unsigned flags;
	deid_text_span_fn fn;
	void *arg;
	uint32_t c_in[TEXT_INLINE + 1], f_in[TEXT_INLINE + 1];
	size_t off_in[TEXT_INLINE + 1];
};

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_ascii_alpha(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* Latin (with diacritics), Greek and Cyrillic letters: the scripts whose words have boundaries. */
static int
is_word_letter(uint32_t c)
{
	return is_ascii_alpha(c) || (c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7) ||
	    (c >= 0x370 && c <= 0x3ff) || (c >= 0x400 && c <= 0x4ff);
}

static int is_alnum(uint32_t c) { return is_digit(c) || is_word_letter(c); }

static int
is_cjk(uint32_t c)
{
	return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0x20000 && c <= 0x2ffff) || c == 0x3007;
}

/* Simple case folding (Unicode CaseFolding.txt, C and S) for Latin, Greek and Cyrillic. */
static uint32_t
fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0xc0)
		return c;
	if (c <= 0xde && c != 0xd7)
		return c + 32;
	if (c >= 0x100 && c <= 0x17f) {
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		if (c == 0x178)
			return 0xff;
		return (c & 1) ? c : c + 1;
	}
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 32;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	return c;
}

static int
is_upper(uint32_t c)
{
	return fold(c) != c;
}

/* Decodes UTF-8; a byte that starts no valid sequence is one code point U+FFFD. */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *out)
{
	uint32_t c = s[0];
	size_t len, k;

	if (c < 0x80) {
		*out = c;
		return 1;
	}
	len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
	if (len == 0 || len > n)
		goto bad;
	c &= 0x3fu >> (len - 1);
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*out = c;
	return len;
bad:
	*out = 0xfffd;
	return 1;
}

static uint32_t
normalise(uint32_t c)
{
	if (c >= 0xff01 && c <= 0xff5e)
		return c - 0xfee0;   /* full-width ASCII */
	if (c == 0x3000 || c == 0xa0)
		return ' ';
	if (c == 0x3001 || c == 0xff64)
		return ',';          /* ideographic comma */
	if (c == 0x3002 || c == 0xff61)
		return '.';
	return c;
}

static int
text_decode(struct text *t, const char *in, size_t n)
{
	size_t i = 0, k = 0;

	t->in = in;
	t->nbytes = n;
	t->flags = 0;
	t->fn = NULL;
	t->arg = NULL;
	t->c = t->f = NULL;
	t->off = NULL;
	if (n <= TEXT_INLINE) {
		/* a code point takes at least one byte: n bytes fit */
		t->c = t->c_in;
		t->f = t->f_in;
		t->off = t->off_in;
	} else {
		t->c = malloc((n + 1) * sizeof(*t->c));
		t->f = malloc((n + 1) * sizeof(*t->f));
		t->off = malloc((n + 1) * sizeof(*t->off));
		if (t->c == NULL || t->f == NULL || t->off == NULL)
			return PV_ENOMEM;
	}
	while (i < n) {
		uint32_t c;
		size_t len = utf8_next((const unsigned char *)in + i, n - i, &c);
		t->off[k] = i;
		t->c[k] = normalise(c);
		t->f[k] = fold(t->c[k]);
		k++;
		i += len;
	}
	t->off[k] = n;
	t->c[k] = t->f[k] = 0;
	t->n = k;
	return 0;
}

static void
text_free(struct text *t)
{
	if (t->c != t->c_in)
		free(t->c);
	if (t->f != t->f_in)
		free(t->f);
	if (t->off != t->off_in)
		free(t->off);
}

static int
emit(struct text *t, enum deid_text_kind k, size_t a, size_t b)
{
	return t->fn(t->arg, k, t->off[a], t->off[b]);
}

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
		if (s[i] < '0' || s[i] > '9')
			return 0;
		sum += (s[i] - '0') * w[i];
	}
	if ((s[17] | 0x20) != (check[sum % 11] | 0x20))
		return 0;
	return valid_date(num(s + 6, 4), num(s + 10, 2), num(s + 12, 2));
}

/* The value of the d digits at t->c + i. */
static int
digits_at(const struct text *t, size_t i, size_t d)
{
	int v = 0;
	for (size_t k = 0; k < d; k++)
		v = v * 10 + (int)(t->c[i + k] - '0');
	return v;
}

/* Number of digits from i (at most max). */
static size_t
digit_run(const struct text *t, size_t i, size_t max)
{
	size_t k = 0;
	while (i + k < t->n && k < max && is_digit(t->c[i + k]))
		k++;
	return k;
}

/* 1 when the folded text at i starts with the ASCII word w (case-insensitive). */
static int
word_at(const struct text *t, size_t i, const char *w)
{
	size_t k = 0;
	for (; w[k] != '\0'; k++)
		if (i + k >= t->n || t->f[i + k] != (uint32_t)(unsigned char)w[k])
			return 0;
	return 1;
}

/* 1 when the text at i is the UTF-32 string w; *len its length in code points. */
static int
cps_at(const struct text *t, size_t i, const char32_t *w, size_t *len)
{
	size_t k = 0;

	if (i >= t->n || t->c[i] != w[0])
		return 0;
	for (; w[k] != 0; k++)
		if (i + k >= t->n || t->c[i + k] != w[k])
			return 0;
	*len = k;
	return 1;
}

/* The end of a word of letters (apostrophes and hyphens inside) from i. */
static size_t
word_end(const struct text *t, size_t i)
{
	size_t j = i;
	while (j < t->n && (is_word_letter(t->c[j]) ||
	    ((t->c[j] == '\'' || t->c[j] == '-') && j > i && j + 1 < t->n && is_word_letter(t->c[j + 1]))))
		j++;
	return j;
}

/* A capitalised (or all-capital) word of 2+ letters at i: its end, or i. */
static size_t
cap_word(const struct text *t, size_t i)
{
	size_t e;
	if (i >= t->n || !is_upper(t->c[i]))
		return i;
	e = word_end(t, i);
	return e >= i + 2 ? e : i;
}

/* Words that are not names, even capitalised after an honorific or before a role. */
static int
stop_word(const struct text *t, size_t a, size_t b)
{
	static const char *const w[] = { "the", "and", "for", "with", "from", "said", "at", "in", "on", "of",
		"to", "is", "was", "by", "patient", "hospital", "clinic", "report", "dept", "department" };
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
		if (strlen(w[k]) == b - a && word_at(t, a, w[k]))
			return 1;
	return 0;
}

/* Up to three capitalised words from i (single spaces between): the end, or i. */
static size_t
name_words_after(const struct text *t, size_t i)
{
	size_t e = i, w;
	for (int k = 0; k < 3; k++) {
		size_t s = e;
		if (k > 0) {
			if (s >= t->n || t->c[s] != ' ')
				break;
			s++;
		}
		w = cap_word(t, s);
		if (w == s || stop_word(t, s, w))
			break;
		e = w;
	}
	return e;
}

/* Up to three capitalised words ending at j (exclusive): their start, or j. */
static size_t
name_words_before(const struct text *t, size_t j)
{
	size_t s = j;
	for (int k = 0; k < 3; k++) {
		size_t e = s, b;
		if (k > 0) {
			if (e == 0 || t->c[e - 1] != ' ')
				break;
			e--;
		}
		b = e;
		while (b > 0 && (is_word_letter(t->c[b - 1]) || t->c[b - 1] == '\'' || t->c[b - 1] == '-'))
			b--;
		if (b + 2 > e || !is_upper(t->c[b]) || stop_word(t, b, e))
			break;
		s = b;
	}
	return s;
}

/* A run of 2 to max CJK characters from i: its end, or i. */
static size_t
cjk_after(const struct text *t, size_t i, size_t max)
{
	size_t k = i;
	while (k < t->n && k - i < max && is_cjk(t->c[k]))
		k++;
	return k >= i + 2 ? k : i;
}

/* The CJK characters (2 to max) just before j: their start, or j. */
static size_t
cjk_before(const struct text *t, size_t j, size_t max)
{
	size_t k = j;
	while (k > 0 && j - k < max && is_cjk(t->c[k - 1]))
		k--;
	return k + 2 <= j ? k : j;
}

/* Role and honorific words: a person's name follows (or, for the suffixes, comes before). */
static const char *const honorifics[] = {
	"dr", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "sir", "dame", "doctor", "nurse",
	"contact", "physician", "surgeon", "radiologist", "technologist", "referred by", "referring",
	"attending", "relative", "next of kin", "guardian", "spouse", "husband", "wife", "mother", "father",
	"son", "daughter", "signed", "reported by", "dictated by", "read by", "patient name",
};
static const char *const name_suffixes[] = { "md", "m.d.", "rn", "phd", "dds", "frcr", "mbbs" };
/* Chinese role words: the name is before or after (医生 doctor, 主任 chief, 护士 nurse, 联系人 contact...). */
static const char32_t *const cjk_roles[] = {
	U"医生", U"医师", U"主任", U"护士", U"联系人", U"家属", U"患者", U"病人", U"姓名", U"教授", U"大夫",
	U"先生", U"女士", U"技师", U"丈夫", U"妻子", U"母亲", U"父亲", U"儿子", U"女儿", U"监护人", U"签名",
	U"报告人", U"审核",
};
/* Institution words: a name of a place comes before them. */
static const char *const institutions[] = {
	"hospital", "clinic", "medical center", "medical centre", "health center", "health centre",
	"infirmary", "imaging center", "imaging centre", "university hospital", "polyclinic", "sanatorium",
};
static const char32_t *const cjk_institutions[] = {
	U"医院", U"卫生院", U"诊所", U"中心", U"保健院", U"门诊部", U"医疗集团", U"医学院",
};

/* 1 when t->c[i] starts no word (the previous character is not a letter or digit). */
static int
boundary_before(const struct text *t, size_t i)
{
	return i == 0 || !is_alnum(t->c[i - 1]);
}

static int
boundary_after(const struct text *t, size_t i)
{
	return i >= t->n || !is_alnum(t->c[i]);
}

/*
 * Person names by context, in English and Chinese, in either order:
 * "Dr Xxx Yyy", "Contact: Xxx Yyy", "Xxx Yyy, MD", "Family^Given",
 * "医生：张伟", "张伟医生", "联系人 李娜". Returns the span's end, *start its
 * start (which may be before i), or i.
 */
static size_t
name_at(const struct text *t, size_t i, size_t *start)
{
	size_t e, len;

	*start = i;
	/* DICOM PN "Family^Given[^...]" */
	e = word_end(t, i);
	if (e >= i + 2 && e < t->n && t->c[e] == '^' && boundary_before(t, i)) {
		size_t e2 = word_end(t, e + 1);
		if (e2 >= e + 2) {
			while (e2 < t->n && t->c[e2] == '^' && word_end(t, e2 + 1) > e2 + 1)
				e2 = word_end(t, e2 + 1);
			return e2;
		}
	}
	if (is_word_letter(t->c[i]) && boundary_before(t, i)) {
		for (size_t h = 0; h < sizeof(honorifics) / sizeof(honorifics[0]); h++) {
			size_t hl, j;
			if (t->f[i] != (unsigned char)honorifics[h][0] || !word_at(t, i, honorifics[h]) ||
			    !boundary_after(t, i + (hl = strlen(honorifics[h]))))
				continue;
			j = i + hl;
			if (j < t->n && (t->c[j] == '.' || t->c[j] == ':'))
				j++;
			while (j < t->n && t->c[j] == ' ')
				j++;
			if (j < t->n && t->c[j] == ':') {
				j++;
				while (j < t->n && t->c[j] == ' ')
					j++;
			}
			if (j < t->n && is_cjk(t->c[j]) && (e = cjk_after(t, j, 4)) > j)
				return e;
			if ((e = name_words_after(t, j)) > j)
				return e;
		}
		for (size_t h = 0; h < sizeof(name_suffixes) / sizeof(name_suffixes[0]); h++) {
			size_t hl, j = i, s;
			if (t->f[i] != (unsigned char)name_suffixes[h][0] || !word_at(t, i, name_suffixes[h]) ||
			    !boundary_after(t, i + (hl = strlen(name_suffixes[h]))) || !is_upper(t->c[i]))
				continue;
			if (j > 0 && t->c[j - 1] == ' ')
				j--;
			if (j > 0 && t->c[j - 1] == ',')
				j--;
			if ((s = name_words_before(t, j)) < j) {
				*start = s;
				return i + hl;
			}
		}
	}
	for (size_t h = 0; is_cjk(t->c[i]) && h < sizeof(cjk_roles) / sizeof(cjk_roles[0]); h++) {
		size_t j, s;
		if (!cps_at(t, i, cjk_roles[h], &len))
			continue;
		int sep = 0;
		j = i + len;
		if (j < t->n && (t->c[j] == ':' || t->c[j] == ' '))
			j++, sep = 1;
		while (j < t->n && t->c[j] == ' ')
			j++;
		/* "医生：张伟" / "联系人 李娜": after; "张伟医生": before; "患者欧阳秀凤": after */
		s = cjk_before(t, i, 4);
		if (!sep && s < i) {
			*start = s;
			return i + len;
		}
		if ((e = cjk_after(t, j, 4)) > j)
			return e;
		if ((e = name_words_after(t, j)) > j)
			return e;
		if (s < i) {
			*start = s;
			return i + len;
		}
	}
	return i;
}

/* An institution's name ending in a word such as Hospital or 医院: the span [*start, end). */
static size_t
institution_at(const struct text *t, size_t i, size_t *start)
{
	size_t len, s;

	*start = i;
	if (is_word_letter(t->c[i]) && boundary_before(t, i)) {
		for (size_t h = 0; h < sizeof(institutions) / sizeof(institutions[0]); h++) {
			size_t hl, j = i;
			if (t->f[i] != (unsigned char)institutions[h][0] || !word_at(t, i, institutions[h]) ||
			    !boundary_after(t, i + (hl = strlen(institutions[h]))))
				continue;
			if (j > 0 && t->c[j - 1] == ' ')
				j--;
			s = j;
			/* up to four capitalised words (and "of", "St.") before it */
			for (int k = 0; k < 4 && s > 0; k++) {
				size_t e = s, b;
				if (k > 0) {
					if (t->c[e - 1] != ' ')
						break;
					e--;
				}
				b = e;
				while (b > 0 && (is_word_letter(t->c[b - 1]) || t->c[b - 1] == '.' || t->c[b - 1] == '\''))
					b--;
				if (b >= e || !(is_upper(t->c[b]) || (e - b == 2 && word_at(t, b, "of"))))
					break;
				s = b;
			}
			*start = s < j ? s : i;
			return i + hl;
		}
	}
	for (size_t h = 0; is_cjk(t->c[i]) && h < sizeof(cjk_institutions) / sizeof(cjk_institutions[0]); h++) {
		if (!cps_at(t, i, cjk_institutions[h], &len))
			continue;
		s = cjk_before(t, i, 10);
		if (s < i) {
			*start = s;
			return i + len;
		}
	}
	return i;
}

static const char *const months[12] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};

/* A month name (3 letters or the full name) at i: 1-12 and *end, or 0. */
static int
month_at(const struct text *t, size_t i, size_t *end)
{
	static const char *const full[12] = { "january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december" };
	if (i >= t->n || strchr("jfmasond", (int)(t->f[i] < 0x80 ? t->f[i] : 0x7f)) == NULL)
		return 0;
	for (int m = 0; m < 12; m++) {
		if (t->f[i] != (unsigned char)months[m][0])
			continue;
		size_t l = strlen(full[m]);
		if (word_at(t, i, full[m]) && boundary_after(t, i + l)) {
			*end = i + l;
			return m + 1;
		}
		if (word_at(t, i, months[m])) {
			size_t e = i + 3;
			if (e < t->n && t->c[e] == '.')
				e++;
			else if (!boundary_after(t, e) && !is_digit(t->c[e]))
				continue;
			*end = e;
			return m + 1;
		}
	}
	return 0;
}

static int
year_ok(int y, size_t digits)
{
	return digits == 2 || (y >= 1800 && y <= 2199);
}

static int
date_ok(int y, size_t ydigits, int m, int d)
{
	if (ydigits == 2)
		y += 1900;  /* only the calendar check: any century */
	return year_ok(y, ydigits) && valid_date(y, m, d);
}

/*
 * Dates in text: 2024-03-01, 2024/3/1, 01.03.2024, 3/14/61, 14-MAR-1961,
 * 14 March 1961, March 14, 1961, 1961年3月14日. Returns the end or i.
 */
static size_t
date_at(const struct text *t, size_t i)
{
	size_t a = digit_run(t, i, 5), j, b, c, e;
	int m;

	if (a >= 1 && a <= 4 && i + a < t->n) {
		uint32_t sep = t->c[i + a];
		j = i + a;
		if (sep == 0x5e74 && a == 4) {
			/* 1961年3月14日 */
			b = digit_run(t, j + 1, 3);
			if (b >= 1 && b <= 2 && j + 1 + b < t->n && t->c[j + 1 + b] == 0x6708) {
				c = digit_run(t, j + 2 + b, 3);
				if (c >= 1 && c <= 2 && valid_date(digits_at(t, i, 4), digits_at(t, j + 1, b),
				    digits_at(t, j + 2 + b, c))) {
					e = j + 2 + b + c;
					return e < t->n && t->c[e] == 0x65e5 ? e + 1 : e;
				}
			}
			return i;
		}
		if (sep == '-' || sep == '/' || sep == '.' || sep == ' ') {
			/* numeric: Y-M-D, D-M-Y, M/D/Y */
			b = digit_run(t, j + 1, 5);
			if (sep != ' ' && b >= 1 && b <= 2 && j + 1 + b < t->n && t->c[j + 1 + b] == sep) {
				c = digit_run(t, j + 2 + b, 5);
				e = j + 2 + b + c;
				if (!boundary_after(t, e) || (e < t->n && is_digit(t->c[e])))
					return i;
				int x = digits_at(t, i, a), y2 = digits_at(t, j + 1, b);
				if (a == 4 && c >= 1 && c <= 2 && date_ok(x, 4, y2, digits_at(t, j + 2 + b, c)))
					return e;
				if (a <= 2 && (c == 4 || (c == 2 && sep != '.'))) {
					int yy = digits_at(t, j + 2 + b, c);
					if (date_ok(yy, c, y2, x) || date_ok(yy, c, x, y2))
						return e;
				}
				return i;
			}
			/* 14-MAR-1961, 14 March 1961, 14.Mar.1961 */
			if (a <= 2 && (m = month_at(t, j + 1, &e)) != 0 && e < t->n &&
			    (t->c[e] == sep || (sep == ' ' && t->c[e] == ','))) {
				size_t k = e + 1;
				while (k < t->n && t->c[k] == ' ')
					k++;
				c = digit_run(t, k, 5);
				if ((c == 4 || c == 2) && boundary_after(t, k + c) &&
				    date_ok(digits_at(t, k, c), c, m, digits_at(t, i, a)))
					return k + c;
			}
		}
		/* 14MAR1961 */
		if (a <= 2 && (m = month_at(t, j, &e)) != 0) {
			c = digit_run(t, e, 5);
			if ((c == 4 || c == 2) && boundary_after(t, e + c) && date_ok(digits_at(t, e, c), c, m, digits_at(t, i, a)))
				return e + c;
		}
		return i;
	}
	/* March 14, 1961 / Mar 14 1961 */
	if (boundary_before(t, i) && (m = month_at(t, i, &e)) != 0 && e < t->n && (t->c[e] == ' ' || t->c[e] == '-')) {
		b = digit_run(t, e + 1, 3);
		j = e + 1 + b;
		if (b >= 1 && b <= 2) {
			if (j < t->n && t->c[j] == ',')
				j++;
			if (j < t->n && (t->c[j] == ' ' || t->c[j] == '-'))
				j++;
			c = digit_run(t, j, 5);
			if (c == 4 && boundary_after(t, j + c) && date_ok(digits_at(t, j, 4), 4, m, digits_at(t, e + 1, b)))
				return j + c;
		}
	}
	return i;
}

/*
 * An age over 89 in text: "95-year-old", "95 years", "95 y/o", "95yo",
 * "95岁", "age 95", AS spellings "095Y", "1200M", "5000W". The end or i.
 */
static size_t
old_age_at(const struct text *t, size_t i)
{
	size_t a = digit_run(t, i, 7), j = i + a, e;
	long v;

	if (a == 0 || a > 6)
		return i;
	v = digits_at(t, i, a);
	if (j < t->n && (t->c[j] == 0x5c81 || (t->c[j] == 0x5468 && j + 1 < t->n && t->c[j + 1] == 0x5c81)))
		return v > 89 && v < 200 ? (t->c[j] == 0x5c81 ? j + 1 : j + 2) : i;
	if (j < t->n && boundary_after(t, j + 1)) {
		uint32_t u = t->f[j];
		long years = u == 'y' ? v : u == 'm' ? v / 12 : u == 'w' ? v / 52 : u == 'd' ? v / 365 : -1;
		if (years > 89 && years < 200 && (u != 'm' || a >= 3))
			return j + 1;
	}
	e = j;
	while (e < t->n && (t->c[e] == ' ' || t->c[e] == '-'))
		e++;
	if (v > 89 && v < 200 && (word_at(t, e, "year") || word_at(t, e, "yr") || word_at(t, e, "y/o") ||
	    (word_at(t, e, "yo") && boundary_after(t, e + 2)))) {
		size_t k = word_end(t, e);
		if (k < t->n && t->c[k] == '/')
			k = word_end(t, k + 1);
		while (k < t->n && (t->c[k] == '-' || is_word_letter(t->c[k])))
			k++;  /* year-old */
		return k;
	}
	return i;
}

/* Case-folded match of term at i; Latin-script terms at word boundaries only. */
static int
term_match(const struct text *t, size_t i, const uint32_t *term, size_t tn)
{
	if (tn == 0 || tn > t->n - i)
		return 0;
	for (size_t k = 0; k < tn; k++)
		if (t->f[i + k] != term[k])
			return 0;
	if (is_alnum(term[0]) && !boundary_before(t, i))
		return 0;
	if (is_alnum(term[tn - 1]) && !boundary_after(t, i + tn))
		return 0;
	return 1;
}

static int
find_terms(struct text *t, const struct deid_terms *terms)
{
	int rc = 0;
	for (unsigned k = 0; k < terms->count && rc == 0; k++) {
		struct text q;  /* not zeroed: its inline arrays are written as decoded (2.5 KB per call) */
		if (terms->n[k] == 0)
			continue;
		if ((rc = text_decode(&q, terms->s[k], terms->n[k])) != 0) {
			text_free(&q);
			return rc;
		}
		/* a term shorter than two characters (or two digits) would redact at random */
		if (q.n >= 2)
			for (size_t i = 0; i + q.n <= t->n && rc == 0; i++)
				if (t->f[i] == q.f[0] && term_match(t, i, q.f, q.n))
					rc = emit(t, DEID_TK_TERM, i, i + q.n);
		text_free(&q);
	}
	return rc;
}

int
deid_text_find(const char *in, size_t n, const struct deid_terms *terms, deid_text_span_fn fn, void *arg)
{
	struct text t;  /* not zeroed: see find_terms */
	size_t ne, s;
	int rc, digits_ok;

	if ((rc = text_decode(&t, in, n)) != 0)
		goto out;
	t.fn = fn;
	t.arg = arg;
	t.flags = terms != NULL ? terms->flags : 0;
	digits_ok = !(t.flags & DEID_TF_CODE);
	if (terms != NULL && (rc = find_terms(&t, terms)) != 0)
		goto out;
	for (size_t i = 0; i < t.n; i++) {
		uint32_t c = t.c[i];
		/* Names and institutions by context, at word starts or at a CJK role word. */
		if (is_word_letter(c) || is_cjk(c)) {
			if ((ne = institution_at(&t, i, &s)) > i) {
				if ((rc = emit(&t, DEID_TK_INSTITUTION, s, ne)) != 0)
					goto out;
				i = ne - 1;
				continue;
			}
			if ((ne = name_at(&t, i, &s)) > i || s < i) {
				if ((rc = emit(&t, DEID_TK_NAME, s, ne > i ? ne : i)) != 0)
					goto out;
				if (ne > i)
					i = ne - 1;
				continue;
			}
		}
		if (!boundary_before(&t, i) && !is_word_letter(c))
			continue;  /* inside a word or number: the patterns below start at a boundary */
		/* Dates in words and numbers (a month name starts a word) */
		if ((is_digit(c) && digits_ok) || (is_word_letter(c) && boundary_before(&t, i))) {
			if ((ne = date_at(&t, i)) > i) {
				if ((rc = emit(&t, DEID_TK_DATE, i, ne)) != 0)
					goto out;
				i = ne - 1;
				continue;
			}
		}
		if (!boundary_before(&t, i))
			continue;
		if (is_digit(c) && (ne = old_age_at(&t, i)) > i) {
			if ((rc = emit(&t, DEID_TK_AGE, i, ne)) != 0)
				goto out;
			i = ne - 1;
			continue;
		}
		if (digits_ok && is_digit(c)) {
			/* PRC resident ID: 17 digits and a check character, not inside a longer run */
			size_t d = digit_run(&t, i, 19);
			if ((d == 17 || d == 18) && i + 18 <= t.n && boundary_after(&t, i + 18)) {
				char id[18];
				for (int k = 0; k < 18; k++)
					id[k] = (char)(t.c[i + k] < 0x80 ? t.c[i + k] : '?');
				if (deid_prc_id_valid(id)) {
					if ((rc = emit(&t, DEID_TK_PRC_ID, i, i + 18)) != 0)
						goto out;
					i += 17;
					continue;
				}
			}
			/* US SSN ddd-dd-dddd */
			if (d == 3 && i + 11 <= t.n && t.c[i + 3] == '-' && digit_run(&t, i + 4, 3) == 2 &&
			    t.c[i + 6] == '-' && digit_run(&t, i + 7, 5) == 4 && boundary_after(&t, i + 11)) {
				if ((rc = emit(&t, DEID_TK_SSN, i, i + 11)) != 0)
					goto out;
				i += 10;
				continue;
			}
		}
		/*
		 * Record numbers: a word of one to four Latin letters joined to five or more
		 * digits ("MRN968298", "ID-204871", "A12345678"): how medical record,
		 * accession and case numbers are written in free text. Not in a code value.
		 */
		if (digits_ok && c < 0x80 && is_word_letter(c) && boundary_before(&t, i)) {
			size_t j = i, letters = 0, digits = 0;

			while (j < t.n && t.c[j] < 0x80 && is_word_letter(t.c[j]) && letters < 5) {
				letters++;
				j++;
			}
			if (letters >= 1 && letters <= 4 && j < t.n && (t.c[j] == '-' || t.c[j] == '#' || t.c[j] == ':') &&
			    j + 1 < t.n && is_digit(t.c[j + 1]))
				j++;
			while (j < t.n && is_digit(t.c[j])) {
				digits++;
				j++;
			}
			/* emitted, and the digits still go to the detectors below (a national ID in it is named) */
			if (letters >= 1 && letters <= 4 && digits >= 5 && boundary_after(&t, j) &&
			    (rc = emit(&t, DEID_TK_RECORD, i, j)) != 0)
				goto out;
		}
		/* Phone numbers and other long digit runs: 7-15 digits with + ( ) - . space */
		if (digits_ok && (is_digit(c) || c == '+' || c == '(')) {
			size_t j = i, digits = 0, last = i;
			while (j < t.n && (is_digit(t.c[j]) || t.c[j] == '+' || t.c[j] == '(' || t.c[j] == ')' ||
			    t.c[j] == '-' || t.c[j] == '.' || t.c[j] == ' ')) {
				if (is_digit(t.c[j])) {
					digits++;
					last = j + 1;
				}
				if (t.c[j] == '+' && j != i)
					break;
				j++;
			}
			if (digits >= 7 && boundary_after(&t, last)) {
				if ((rc = emit(&t, DEID_TK_PHONE, i, last)) != 0)
					goto out;
				i = last - 1;
				continue;
			}
		}
		/* E-mail: local@domain.tld */
		if (c != '@' && is_alnum(c)) {
			size_t j = i;
			while (j < t.n && (is_alnum(t.c[j]) || t.c[j] == '.' || t.c[j] == '_' || t.c[j] == '-' ||
			    t.c[j] == '+'))
				j++;
			if (j < t.n && t.c[j] == '@') {
				size_t k = j + 1, dot = 0;
				while (k < t.n && (is_alnum(t.c[k]) || t.c[k] == '.' || t.c[k] == '-')) {
					if (t.c[k] == '.')
						dot = k;
					k++;
				}
				if (dot > j + 1 && dot + 1 < k) {
					if ((rc = emit(&t, DEID_TK_EMAIL, i, k)) != 0)
						goto out;
					i = k - 1;
					continue;
				}
			}
		}
	}
out:
	text_free(&t);
	return rc;
}

struct marks {
	uint8_t *m;
};

static int
mark_span(void *arg, enum deid_text_kind kind, size_t a, size_t b)
{
	struct marks *mk = arg;
	(void)kind;
	memset(mk->m + a, 1, b - a);
	return 0;
}

int
deid_text_clean(const char *in, size_t n, const struct deid_terms *terms, struct pv_buf *out,
    unsigned *redactions)
{
	struct marks mk;
	unsigned spans = 0;
	int rc = 0;

	*redactions = 0;
	if ((mk.m = calloc(n + 1, 1)) == NULL)
		return PV_ENOMEM;
	if ((rc = deid_text_find(in, n, terms, mark_span, &mk)) != 0) {
		free(mk.m);
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0;) {
		if (!mk.m[i]) {
			size_t j = i;
			while (j < n && !mk.m[j])
				j++;
			rc = pv_buf_append(out, in + i, j - i);
			i = j;
		} else {
			while (i < n && mk.m[i])
				i++;
			rc = pv_buf_puts(out, "***");
			spans++;
		}
	}
	if (n == 0)
		rc = pv_buf_append(out, "", 0);
	free(mk.m);
	*redactions = spans;
	return rc;
}
