/* charset.c: Specific Character Set decoding (PS3.5 6.1, PS3.3 C.12.1.1.2). */
#include "pacsvault/dicom/charset.h"
#include "pacsvault/base/err.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

enum set_kind {
	K_ASCII,   /* G0 ASCII */
	K_SB,      /* single-byte: G1 in 0x80-0xff, G0 ASCII */
	K_MB,      /* a multi-byte encoding for the whole value (no code extensions) */
	K_G0_94_2, /* two-byte 94x94 set in G0 (7-bit bytes) -> EUC by setting the high bit */
	K_G1_94_2  /* two-byte set in G1 (high-bit bytes, EUC form) */
};

struct term {
	const char *name;      /* defined term */
	const char *iconv;     /* iconv charset */
	uint8_t kind;
	uint8_t iso2022;
	const char *esc;       /* escape sequence designating it (without ESC), NULL if none */
	uint8_t prefix;        /* EUC prefix byte for K_G0_94_2 (0x8f for JIS X 0212) */
};

/* PS3.3 Tables C.12-2 to C.12-5. */
static const struct term terms[] = {
	{ "ISO_IR 6", "ASCII", K_ASCII, 0, NULL, 0 },
	{ "ISO_IR 100", "ISO-8859-1", K_SB, 0, NULL, 0 },
	{ "ISO_IR 101", "ISO-8859-2", K_SB, 0, NULL, 0 },
	{ "ISO_IR 109", "ISO-8859-3", K_SB, 0, NULL, 0 },
	{ "ISO_IR 110", "ISO-8859-4", K_SB, 0, NULL, 0 },
	{ "ISO_IR 144", "ISO-8859-5", K_SB, 0, NULL, 0 },
	{ "ISO_IR 127", "ISO-8859-6", K_SB, 0, NULL, 0 },
	{ "ISO_IR 126", "ISO-8859-7", K_SB, 0, NULL, 0 },
	{ "ISO_IR 138", "ISO-8859-8", K_SB, 0, NULL, 0 },
	{ "ISO_IR 148", "ISO-8859-9", K_SB, 0, NULL, 0 },
	{ "ISO_IR 203", "ISO-8859-15", K_SB, 0, NULL, 0 },
	{ "ISO_IR 13", "SHIFT_JIS", K_SB, 0, NULL, 0 },
	{ "ISO_IR 166", "TIS-620", K_SB, 0, NULL, 0 },
	{ "ISO_IR 192", "UTF-8", K_MB, 0, NULL, 0 },
	{ "GB18030", "GB18030", K_MB, 0, NULL, 0 },
	{ "GBK", "GBK", K_MB, 0, NULL, 0 },
	{ "ISO 2022 IR 6", "ASCII", K_ASCII, 1, "(B", 0 },
	{ "ISO 2022 IR 100", "ISO-8859-1", K_SB, 1, "-A", 0 },
	{ "ISO 2022 IR 101", "ISO-8859-2", K_SB, 1, "-B", 0 },
	{ "ISO 2022 IR 109", "ISO-8859-3", K_SB, 1, "-C", 0 },
	{ "ISO 2022 IR 110", "ISO-8859-4", K_SB, 1, "-D", 0 },
	{ "ISO 2022 IR 144", "ISO-8859-5", K_SB, 1, "-L", 0 },
	{ "ISO 2022 IR 127", "ISO-8859-6", K_SB, 1, "-G", 0 },
	{ "ISO 2022 IR 126", "ISO-8859-7", K_SB, 1, "-F", 0 },
	{ "ISO 2022 IR 138", "ISO-8859-8", K_SB, 1, "-H", 0 },
	{ "ISO 2022 IR 148", "ISO-8859-9", K_SB, 1, "-M", 0 },
	{ "ISO 2022 IR 203", "ISO-8859-15", K_SB, 1, "-b", 0 },
	{ "ISO 2022 IR 13", "SHIFT_JIS", K_SB, 1, ")I", 0 },
	{ "ISO 2022 IR 166", "TIS-620", K_SB, 1, "-T", 0 },
	{ "ISO 2022 IR 87", "EUC-JP", K_G0_94_2, 1, "$B", 0 },
	{ "ISO 2022 IR 159", "EUC-JP", K_G0_94_2, 1, "$(D", 0x8f },
	{ "ISO 2022 IR 149", "EUC-KR", K_G1_94_2, 1, "$)C", 0 },
	{ "ISO 2022 IR 58", "GB2312", K_G1_94_2, 1, "$)A", 0 },
};
#define NTERMS (sizeof(terms) / sizeof(terms[0]))
#define T_ASCII 0
#define T_ROMAJI 255  /* ESC ( J: JIS X 0201 Roman, read as ASCII */

void
dcm_charset_default(struct dcm_charset *cs)
{
	memset(cs, 0, sizeof(*cs));
}

const char *
dcm_charset_name(const struct dcm_charset *cs)
{
	return cs->n > 0 ? terms[cs->term[0]].name : "";
}

int
dcm_charset_is_plain(const uint8_t *in, size_t n)
{
	/* Eight bytes at a time: no high bit set, and no ESC (0x1b) byte. */
	const uint64_t high = 0x8080808080808080ull, ones = 0x0101010101010101ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, e;
		memcpy(&w, in + i, 8);
		e = w ^ (ones * 0x1b);
		if ((w & high) != 0 || ((e - ones) & ~e & high) != 0)
			return 0;
	}
	for (; i < n; i++)
		if (in[i] >= 0x80 || in[i] == 0x1b)
			return 0;
	return 1;
}

int
dcm_charset_parse(const uint8_t *v, size_t n, struct dcm_charset *cs)
{
	size_t i = 0;
	int first = 1;

	dcm_charset_default(cs);
	while (i <= n) {
		size_t j = i, a, b;
		while (j < n && v[j] != '\\')
			j++;
		a = i;
		b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\0'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\0'))
			b--;
		if (b > a) {
			size_t t;
			for (t = 0; t < NTERMS; t++)
				if (strlen(terms[t].name) == b - a && memcmp(terms[t].name, v + a, b - a) == 0)
					break;
			if (t == NTERMS) {
				cs->unknown = 1;
			} else if (cs->n < DCM_CHARSET_MAX_TERMS) {
				cs->term[cs->n++] = (uint8_t)t;
				if (terms[t].iso2022)
					cs->iso2022 = 1;
			}
		} else if (first && j < n) {
			/* An empty first value means ISO 2022 IR 6 (PS3.3 C.12.1.1.2). */
			cs->term[cs->n++] = 16;
			cs->iso2022 = 1;
		}
		first = 0;
		i = j + 1;
	}
	return cs->unknown ? PV_ECHARSET : 0;
}

/* Appends U+FFFD. */
static int
put_replacement(struct pv_buf *out)
{
	return pv_buf_append(out, "\xef\xbf\xbd", 3);
}

/*
 * Converts n bytes in charset name to UTF-8, replacing undecodable bytes.
 * *bad is set when a replacement happened.
 */
static int
iconv_run(const char *name, const uint8_t *in, size_t n, struct pv_buf *out, int *bad)
{
	iconv_t cd;
	char *ip = (char *)in;
	size_t il = n;
	int rc = 0;

	if (n == 0)
		return 0;
	if (strcmp(name, "ASCII") == 0 || strcmp(name, "UTF-8") == 0 ||
	    dcm_charset_is_plain(in, n)) {
		/* ASCII bytes are themselves; UTF-8 is checked and passed through. */
		if (strcmp(name, "UTF-8") != 0 && !dcm_charset_is_plain(in, n)) {
			for (size_t i = 0; i < n && rc == 0; i++) {
				if (in[i] < 0x80)
					rc = pv_buf_putc(out, (char)in[i]);
				else {
					rc = put_replacement(out);
					*bad = 1;
				}
			}
			return rc;
		}
		if (strcmp(name, "UTF-8") != 0)
			return pv_buf_append(out, in, n);
	}
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1) {
		*bad = 1;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = in[i] < 0x80 ? pv_buf_putc(out, (char)in[i]) : put_replacement(out);
		return rc;
	}
	while (il > 0) {
		char *op = pv_buf_reserve(out, il * 4 + 8);
		size_t ol = il * 4 + 8, before = ol;
		if (op == NULL) {
			rc = PV_ELIMIT;
			break;
		}
		size_t k = iconv(cd, &ip, &il, &op, &ol);
		out->len += before - ol;
		out->data[out->len] = '\0';
		if (k == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: replace one byte and go on. */
			*bad = 1;
			if ((rc = put_replacement(out)) != 0)
				break;
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
	return rc;
}

/* Finds the term designated by the escape sequence at p (after ESC). */
static int
match_escape(const struct dcm_charset *cs, const uint8_t *p, size_t n, size_t *len, int *term)
{
	static const struct { const char *seq; int term; } extra[] = {
		{ "(B", T_ASCII }, { "(J", T_ROMAJI },
	};
	for (unsigned i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		size_t l = strlen(extra[i].seq);
		if (n >= l && memcmp(p, extra[i].seq, l) == 0) {
			*len = l;
			*term = extra[i].term;
			return 1;
		}
	}
	for (size_t t = 0; t < NTERMS; t++) {
		size_t l;
		if (terms[t].esc == NULL || !terms[t].iso2022)
			continue;
		l = strlen(terms[t].esc);
		if (n >= l && memcmp(p, terms[t].esc, l) == 0) {
			*len = l;
			*term = (int)t;
			return 1;
		}
	}
	(void)cs;
	return 0;
}

static int
is_delimiter(enum dcm_vr vr, uint8_t c)
{
	/* PS3.5 6.1.2.5.3: reset to the initial state at these. */
	if (c == '\r' || c == '\n' || c == '\t' || c == '\f')
		return 1;
	if (c == '\\' && dcm_vr_info(vr)->multi)
		return 1;
	if (vr == DCM_VR_PN && (c == '^' || c == '='))
		return 1;
	return 0;
}

/* Decodes a segment whose G0 and G1 are fixed. */
static int
decode_segment(int g0, int g1, const uint8_t *in, size_t n, struct pv_buf *out, int *bad)
{
	size_t i = 0;
	int rc = 0;
	uint8_t tmp[512];

	while (i < n && rc == 0) {
		size_t j = i;
		int high = in[i] >= 0x80;
		while (j < n && (in[j] >= 0x80) == high)
			j++;
		if (!high) {
			if (g0 == T_ASCII || g0 == T_ROMAJI || terms[g0].kind != K_G0_94_2) {
				rc = iconv_run("ASCII", in + i, j - i, out, bad);
			} else {
				/* 94x94 set in G0: set the high bit to get EUC, in chunks. */
				size_t k = i;
				while (k < j && rc == 0) {
					size_t m = 0;
					while (k < j && m + 3 <= sizeof(tmp)) {
						if (terms[g0].prefix)
							tmp[m++] = terms[g0].prefix;
						tmp[m++] = in[k++] | 0x80;
						if (k < j)
							tmp[m++] = in[k++] | 0x80;
					}
					rc = iconv_run(terms[g0].iconv, tmp, m, out, bad);
				}
			}
		} else {
			const char *name = g1 >= 0 && g1 != T_ROMAJI ? terms[g1].iconv : NULL;
			if (name == NULL || terms[g1].kind == K_ASCII) {
				for (size_t k = i; k < j && rc == 0; k++) {
					rc = put_replacement(out);
					*bad = 1;
				}
			} else {
				rc = iconv_run(name, in + i, j - i, out, bad);
			}
		}
		i = j;
	}
	return rc;
}

int
dcm_charset_to_utf8(const struct dcm_charset *cs, enum dcm_vr vr,
    const uint8_t *in, size_t n, struct pv_buf *out)
{
	int bad = 0, rc = 0;

	if (dcm_charset_is_plain(in, n))
		return pv_buf_append(out, in, n);
	if (!dcm_vr_info(vr)->charset && vr != DCM_VR_UN) {
		/* Only SH LO ST LT PN UC UT follow the character set (PS3.5 6.1.2.3). */
		int b2 = 0;
		rc = iconv_run("ASCII", in, n, out, &b2);
		return rc != 0 ? rc : b2 ? PV_ECHARSET : 0;
	}
	if (cs->n == 0) {
		/* Default repertoire; stray 8-bit bytes are decoded as Latin-1, as dcmtk does. */
		rc = iconv_run("ISO-8859-1", in, n, out, &bad);
		return rc != 0 ? rc : PV_ECHARSET;
	}
	if (!cs->iso2022) {
		const struct term *t = &terms[cs->term[0]];
		rc = iconv_run(t->kind == K_ASCII ? "ISO-8859-1" : t->iconv, in, n, out, &bad);
		return rc != 0 ? rc : (bad || t->kind == K_ASCII) ? PV_ECHARSET : 0;
	}
	/* ISO 2022: G0 starts as ASCII, G1 as the first term's (PS3.3 C.12.1.1.2). */
	{
		int init_g0 = T_ASCII, init_g1 = -1;
		const struct term *t0 = &terms[cs->term[0]];
		if (t0->kind == K_SB || t0->kind == K_G1_94_2)
			init_g1 = cs->term[0];
		else if (t0->kind == K_G0_94_2)
			init_g0 = cs->term[0];
		if (strcmp(t0->name, "ISO 2022 IR 13") == 0)
			init_g0 = T_ROMAJI;
		int g0 = init_g0, g1 = init_g1;
		size_t i = 0, seg = 0;
		while (i < n && rc == 0) {
			if (in[i] == 0x1b) {
				size_t elen;
				int term;
				rc = decode_segment(g0, g1, in + seg, i - seg, out, &bad);
				if (rc != 0)
					break;
				if (match_escape(cs, in + i + 1, n - i - 1, &elen, &term)) {
					if (term == T_ASCII || term == T_ROMAJI || terms[term].kind == K_G0_94_2 ||
					    terms[term].kind == K_ASCII)
						g0 = term == T_ASCII ? T_ASCII : term;
					else
						g1 = term;
					i += 1 + elen;
				} else {
					rc = put_replacement(out);
					bad = 1;
					i++;
				}
				seg = i;
				continue;
			}
			/* Delimiters count only while G0 is single-byte: in a two-byte G0
			 * set, '^' and '\\' are halves of characters. */
			if ((g0 == T_ASCII || g0 == T_ROMAJI || terms[g0].kind != K_G0_94_2) &&
			    is_delimiter(vr, in[i])) {
				rc = decode_segment(g0, g1, in + seg, i - seg, out, &bad);
				if (rc == 0)
					rc = pv_buf_putc(out, (char)in[i]);
				g0 = init_g0;
				g1 = init_g1;
				i++;
				seg = i;
				continue;
			}
			i++;
		}
		if (rc == 0)
			rc = decode_segment(g0, g1, in + seg, n - seg, out, &bad);
	}
	return rc != 0 ? rc : bad ? PV_ECHARSET : 0;
}

int
dcm_charset_from_utf8(const struct dcm_charset *cs, const uint8_t *in, size_t n, struct pv_buf *out)
{
	const char *name;
	iconv_t cd;
	char *ip = (char *)in;
	size_t il = n, before = out->len;
	int rc = 0;

	if (dcm_charset_is_plain(in, n))
		return pv_buf_append(out, in, n);
	if (cs->n == 0 || cs->iso2022 || cs->unknown || terms[cs->term[0]].kind == K_ASCII)
		return PV_ECHARSET;
	name = terms[cs->term[0]].iconv;
	if (strcmp(name, "UTF-8") == 0)
		return pv_buf_append(out, in, n);
	cd = iconv_open(name, "UTF-8");
	if (cd == (iconv_t)-1)
		return PV_ECHARSET;
	while (il > 0) {
		size_t ol = il * 4 + 8, room = ol;
		char *op = pv_buf_reserve(out, ol);
		if (op == NULL) {
			rc = PV_ELIMIT;
			break;
		}
		size_t k = iconv(cd, &ip, &il, &op, &ol);
		out->len += room - ol;
		if (k == (size_t)-1 && errno != E2BIG) {
			rc = PV_ECHARSET;
			break;
		}
	}
	iconv_close(cd);
	if (rc != 0) {
		out->len = before;
		if (out->data != NULL)
			out->data[before] = '\0';
		return rc;
	}
	out->data[out->len] = '\0';
	return 0;
}
