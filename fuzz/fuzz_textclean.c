/*
 * fuzz_textclean.c: the text cleaner on arbitrary bytes (invalid UTF-8
 * included), with terms taken from the input. Every span must lie inside
 * the text, and the cleaned text must clean to itself once more apart
 * from the "***" markers (nothing left to find where something was found).
 */
#include "fuzz.h"
#include "pacsvault/deid/textclean.h"

#include <stdlib.h>
#include <string.h>

struct bounds {
	size_t n;
};

static int
in_bounds(void *arg, enum deid_text_kind k, size_t a, size_t b)
{
	struct bounds *bd = arg;
	(void)k;
	if (a > b || b > bd->n)
		abort();
	return 0;
}

int
fuzz_textclean_one(const uint8_t *data, size_t size)
{
	const char *t[2];
	size_t tn[2];
	struct deid_terms terms = { t, tn, 0, 0 };
	struct bounds bd;
	struct pv_buf out;
	unsigned red;
	size_t split;

	if (size < 2)
		return 0;
	/* the first byte says how many of the next bytes are a term and which flags */
	split = data[0] % 32;
	if (split > size - 1)
		split = size - 1;
	t[0] = (const char *)data + 1;
	tn[0] = split;
	terms.count = split > 0;
	terms.flags = data[0] & 0x80 ? DEID_TF_CODE : 0;
	bd.n = size - 1 - split;
	(void)deid_text_find((const char *)data + 1 + split, bd.n, &terms, in_bounds, &bd);
	pv_buf_init(&out, (size_t)1 << 24);
	if (deid_text_clean((const char *)data + 1 + split, bd.n, &terms, &out, &red) == 0 && red == 0 &&
	    (out.len != bd.n || memcmp(out.data, data + 1 + split, bd.n) != 0))
		abort();  /* nothing found: the text is unchanged */
	pv_buf_free(&out);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_textclean_one)
