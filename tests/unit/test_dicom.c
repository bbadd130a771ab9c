/* test_dicom.c: unit tests of src/dicom. */
#include "harness.h"
#include "tests.h"
#include "dcmbuild.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/ts.h"
#include "pacsvault/dicom/uid.h"
#include "pacsvault/dicom/value.h"
#include "pacsvault/dicom/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
test_vr_table(void)
{
	T_EQ_INT(dcm_vr_parse('P', 'N'), DCM_VR_PN);
	T_EQ_INT(dcm_vr_parse('A', 'E'), DCM_VR_AE);
	T_EQ_INT(dcm_vr_parse('U', 'V'), DCM_VR_UV);
	T_EQ_INT(dcm_vr_parse('Z', 'Z'), DCM_VR__);
	T_EQ_INT(dcm_vr_parse(0, 0), DCM_VR__);
	for (int v = 1; v < DCM_VR_COUNT; v++) {
		const char *n = dcm_vr_name((enum dcm_vr)v);
		T_EQ_INT(dcm_vr_parse((unsigned char)n[0], (unsigned char)n[1]), v);
	}
	/* PS3.5 7.1.2: the VRs with the 32-bit length form */
	T_ASSERT(dcm_vr_info(DCM_VR_OB)->long_header && dcm_vr_info(DCM_VR_UT)->long_header &&
	    dcm_vr_info(DCM_VR_UC)->long_header && dcm_vr_info(DCM_VR_UR)->long_header &&
	    dcm_vr_info(DCM_VR_SV)->long_header && dcm_vr_info(DCM_VR_UN)->long_header);
	T_ASSERT(!dcm_vr_info(DCM_VR_LT)->long_header && !dcm_vr_info(DCM_VR_US)->long_header);
	T_EQ_INT(dcm_vr_info(DCM_VR_UI)->pad, '\0');
	T_EQ_INT(dcm_vr_info(DCM_VR_LO)->pad, ' ');
}

void
test_dictionary(void)
{
	const struct dcm_dict_entry *e = dcm_dict_lookup(0x00100010);
	int found;

	T_ASSERT(e != NULL);
	if (e != NULL) {
		T_EQ_STR(dcm_dict_keyword(e), "PatientName");
		T_EQ_INT(e->vr, DCM_VR_PN);
	}
	e = dcm_dict_lookup(0x60020010);   /* repeating group 60xx */
	T_ASSERT(e != NULL && strcmp(dcm_dict_keyword(e), "OverlayRows") == 0);
	T_ASSERT(dcm_dict_lookup(0x60010010) == NULL || dcm_dict_keyword(dcm_dict_lookup(0x60010010))[0] == 'P');
	e = dcm_dict_lookup(0x50000005);
	T_ASSERT(e != NULL && (e->flags & DCM_DICT_RETIRED));
	T_EQ_INT(dcm_dict_vr(0x00091010), DCM_VR_UN);   /* private data */
	T_EQ_INT(dcm_dict_vr(0x00090010), DCM_VR_LO);   /* private creator */
	T_EQ_INT(dcm_dict_vr(0x00200000), DCM_VR_UL);   /* group length */
	T_EQ_INT(dcm_dict_vr(0x7fe00010), DCM_VR_OW);
	T_EQ_U64(dcm_dict_find_keyword("StudyInstanceUID", &found), 0x0020000d);
	T_EQ_INT(found, 1);
	dcm_dict_find_keyword("NoSuchKeyword", &found);
	T_EQ_INT(found, 0);
	T_EQ_STR(dcm_dict_edition(), "2022b");
	/* Every entry is found, whatever the order of lookups (the search gallops
	 * from the last hit): in order, backwards, and strided. */
	{
		extern const struct dcm_dict_entry dcm_dict_exact[];
		unsigned n = dcm_dict_size(), bad = 0;
		for (unsigned i = 0; i < n; i++)
			bad += dcm_dict_lookup(dcm_dict_exact[i].tag) != &dcm_dict_exact[i];
		for (unsigned i = n; i-- > 0;)
			bad += dcm_dict_lookup(dcm_dict_exact[i].tag) != &dcm_dict_exact[i];
		for (unsigned i = 0; i < n; i++) {
			unsigned k = (i * 2654435761u) % n;
			bad += dcm_dict_lookup(dcm_dict_exact[k].tag) != &dcm_dict_exact[k];
			/* a tag just past an entry is not that entry */
			const struct dcm_dict_entry *x = dcm_dict_lookup(dcm_dict_exact[k].tag + 1);
			bad += x != NULL && x->tag != 0 && x->tag != dcm_dict_exact[k].tag + 1;
		}
		T_EQ_INT(bad, 0);
	}
	T_ASSERT(dcm_dict_size() > 4000);
}

void
test_transfer_syntaxes(void)
{
	const struct dcm_ts *t = dcm_ts_lookup("1.2.840.10008.1.2.2\0", 20);
	T_ASSERT(t != NULL && t->big_endian && t->explicit_vr);
	t = dcm_ts_lookup("1.2.840.10008.1.2", 17);
	T_ASSERT(t != NULL && !t->explicit_vr);
	t = dcm_ts_lookup("1.2.840.10008.1.2.4.50", 22);
	T_ASSERT(t != NULL && t->encapsulated);
	T_ASSERT(dcm_ts_lookup("1.2.3", 5) == NULL);
	T_ASSERT(dcm_ts_by_keyword("deflated-le")->deflated);
	T_ASSERT(!dcm_ts_unknown()->known);
}

void
test_uids(void)
{
	uint8_t b[16];
	char out[48], g1[48], g2[48];

	T_ASSERT(dcm_uid_valid("1.2.840.10008.1.2", 17));
	T_ASSERT(dcm_uid_valid("1.2.3\0", 6));
	T_ASSERT(!dcm_uid_valid("1.02.3", 6));
	T_ASSERT(!dcm_uid_valid("1..3", 4));
	T_ASSERT(!dcm_uid_valid(".1", 2));
	T_ASSERT(!dcm_uid_valid("1.", 2));
	T_ASSERT(!dcm_uid_valid("1.a", 3));
	T_ASSERT(dcm_uid_valid("0.0", 3));
	T_ASSERT(!dcm_uid_valid("", 0));
	memset(b, 0xff, 16);
	dcm_uid_from_128(b, out);
	T_EQ_STR(out, "2.25.340282366920938463463374607431768211455");
	T_ASSERT(dcm_uid_valid(out, strlen(out)));
	memset(b, 0, 16);
	dcm_uid_from_128(b, out);
	T_EQ_STR(out, "2.25.0");
	b[15] = 1;
	dcm_uid_from_128(b, out);
	T_EQ_STR(out, "2.25.1");
	/* base 10^19 parts: the lower ones keep their zeros */
	{
		static const struct { uint8_t b[16]; const char *uid; } v[] = {
			{ { 0, 0, 0, 0, 0, 0, 0, 0, 0x8a, 0xc7, 0x23, 0x04, 0x89, 0xe8, 0x00, 0x00 },
			  "2.25.10000000000000000000" },
			{ { 0, 0, 0, 0, 0, 0, 0, 0, 0x8a, 0xc7, 0x23, 0x04, 0x89, 0xe8, 0x00, 0x05 },
			  "2.25.10000000000000000005" },
			{ { 0x4b, 0x3b, 0x4c, 0xa8, 0x5a, 0x86, 0xc4, 0x7d, 0xd4, 0xfc, 0x17, 0x5f, 0xc5, 0x58, 0x00, 0x03 },
			  "2.25.100000000000000000070000000000000000003" },
			{ { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, "2.25.18446744073709551616" },
		};
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			T_EQ_INT(dcm_uid_from_128(v[i].b, out), strlen(v[i].uid));
			T_EQ_STR(out, v[i].uid);
		}
	}
	T_EQ_INT(dcm_uid_generate(g1), 0);
	T_EQ_INT(dcm_uid_generate(g2), 0);
	T_ASSERT(strcmp(g1, g2) != 0 && dcm_uid_valid(g1, strlen(g1)));
}

static char *
to_utf8(const char *scs, enum dcm_vr vr, const char *bytes)
{
	static char out[256];
	struct dcm_charset cs;
	struct pv_buf b;

	dcm_charset_parse((const uint8_t *)scs, strlen(scs), &cs);
	pv_buf_init(&b, 1024);
	if (dcm_charset_to_utf8(&cs, vr, (const uint8_t *)bytes, strlen(bytes), &b) == PV_ENOMEM)
		return NULL;
	snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
	pv_buf_free(&b);
	return out;
}

void
test_charsets(void)
{
	struct dcm_charset cs;

	T_EQ_STR(to_utf8("ISO_IR 100", DCM_VR_PN, "Buc^J\xe9r\xf4me"), "Buc^J\xc3\xa9r\xc3\xb4me");
	T_EQ_STR(to_utf8("ISO_IR 192", DCM_VR_PN, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c="),
	    "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c=");
	/* GB18030: 0xcdf5 is U+738B */
	T_EQ_STR(to_utf8("GB18030", DCM_VR_PN, "\xcd\xf5"), "\xe7\x8e\x8b");
	T_EQ_STR(to_utf8("GBK", DCM_VR_LO, "\xcd\xf5"), "\xe7\x8e\x8b");
	/* ISO 2022 IR 87: ESC $ B, JIS X 0208 "yama" (0x3B33) -> U+5C71 */
	T_EQ_STR(to_utf8("\\ISO 2022 IR 87", DCM_VR_PN, "Yamada=\x1b$B;3\x1b(B"), "Yamada=\xe5\xb1\xb1");
	/* A '^' inside a two-byte run is half a character, not a delimiter:
	 * JIS 0x245E is HIRAGANA MA (U+307E). */
	T_EQ_STR(to_utf8("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B$^\x1b(B"), "\xe3\x81\xbe");
	/* ISO 2022 IR 149: ESC $ ) C then EUC-KR bytes (0xC8AB = U+D64D) */
	T_EQ_STR(to_utf8("\\ISO 2022 IR 149", DCM_VR_PN, "\x1b$)C\xc8\xab"), "\xed\x99\x8d");
	/* Undecodable bytes become U+FFFD, nothing is dropped. */
	T_EQ_STR(to_utf8("ISO_IR 192", DCM_VR_LO, "a\xffz"), "a\xef\xbf\xbdz");
	/* CS is not affected by the character set. */
	T_EQ_STR(to_utf8("ISO_IR 100", DCM_VR_CS, "ABC"), "ABC");
	/* and back: UTF-8 to the data set's own character set */
	{
		struct pv_buf b;
		pv_buf_init(&b, 256);
		dcm_charset_parse((const uint8_t *)"GB18030", 7, &cs);
		T_EQ_INT(dcm_charset_from_utf8(&cs, (const uint8_t *)"\xe7\x8e\x8b***", 6, &b), 0);
		T_EQ_MEM(b.data, "\xcd\xf5***", 5);
		pv_buf_reset(&b);
		dcm_charset_parse((const uint8_t *)"ISO_IR 100", 10, &cs);
		T_EQ_INT(dcm_charset_from_utf8(&cs, (const uint8_t *)"\xe7\x8e\x8b", 3, &b), PV_ECHARSET);
		T_EQ_INT(b.len, 0);
		dcm_charset_parse((const uint8_t *)"\\ISO 2022 IR 87", 15, &cs);
		T_EQ_INT(dcm_charset_from_utf8(&cs, (const uint8_t *)"abc", 3, &b), 0);
		T_EQ_INT(dcm_charset_from_utf8(&cs, (const uint8_t *)"\xe5\xb1\xb1", 3, &b), PV_ECHARSET);
		pv_buf_free(&b);
	}
	T_EQ_INT(dcm_charset_parse((const uint8_t *)"ISO_IR 999", 10, &cs), PV_ECHARSET);
	T_EQ_INT(cs.unknown, 1);
	T_EQ_INT(dcm_charset_parse((const uint8_t *)"ISO_IR 100 ", 11, &cs), 0);
	T_EQ_STR(dcm_charset_name(&cs), "ISO_IR 100");
}

void
test_value_format(void)
{
	struct pv_buf b;
	struct dcm_charset cs;
	uint8_t us[4] = { 0x00, 0x02, 0xff, 0xff };
	uint8_t at[4] = { 0x08, 0x00, 0x20, 0x00 };
	const uint8_t *s;
	size_t n;

	dcm_charset_default(&cs);
	pv_buf_init(&b, 4096);
	T_EQ_INT(dcm_value_format(DCM_VR_US, us, 4, &cs, 0, &b), 0);
	T_EQ_STR(b.data, "512\\65535");
	pv_buf_reset(&b);
	T_EQ_INT(dcm_value_format(DCM_VR_SS, us, 4, &cs, 0, &b), 0);
	T_EQ_STR(b.data, "512\\-1");
	pv_buf_reset(&b);
	T_EQ_INT(dcm_value_format(DCM_VR_AT, at, 4, &cs, 0, &b), 0);
	T_EQ_STR(b.data, "(0008,0020)");
	pv_buf_reset(&b);
	T_EQ_INT(dcm_value_format(DCM_VR_CS, (const uint8_t *)"A\\B ", 4, &cs, 0, &b), 0);
	T_EQ_STR(b.data, "[A\\B]");
	pv_buf_reset(&b);
	T_EQ_INT(dcm_value_format(DCM_VR_OB, us, 4, &cs, 2, &b), 0);
	T_EQ_STR(b.data, "00\\02...");
	pv_buf_reset(&b);
	T_EQ_INT(dcm_value_format(DCM_VR_LO, us, 0, &cs, 0, &b), 0);
	T_EQ_STR(b.data, "(no value available)");
	pv_buf_free(&b);
	T_EQ_INT(dcm_value_vm(DCM_VR_CS, (const uint8_t *)"A\\B\\C", 5), 3);
	T_EQ_INT(dcm_value_vm(DCM_VR_LT, (const uint8_t *)"A\\B", 3), 1);
	T_EQ_INT(dcm_value_vm(DCM_VR_US, us, 4), 2);
	T_EQ_INT(dcm_value_string_at(DCM_VR_CS, (const uint8_t *)" A \\ BC ", 8, 1, &s, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_MEM(s, "BC", 2);
	T_EQ_INT(dcm_value_string_at(DCM_VR_CS, (const uint8_t *)"A", 1, 1, &s, &n), PV_ENOTFOUND);
}

/* Reads all events of a memory stream; returns the reader's final status. */
static int
read_all(const void *p, size_t n, unsigned *count, struct pv_diag *d)
{
	struct dcm_reader *r;
	struct dcm_event ev;
	int rc;

	*count = 0;
	pv_diag_clear(d);
	if ((rc = dcm_reader_open_mem(p, n, NULL, &r, d)) != 0)
		return rc;
	while ((rc = dcm_reader_next(r, &ev, d)) == 1)
		(*count)++;
	dcm_reader_free(r);
	return rc;
}

/* A small data set with nested sequences of both length forms. */
static void
build_sample(struct tb *t, const char *ts)
{
	static const uint8_t pix[8] = { 1, 0, 2, 0, 3, 0, 4, 0 };
	tb_meta(t, ts);
	tb_str(t, 0x00080005, "CS", "ISO_IR 100");
	tb_str(t, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
	tb_str(t, 0x00080018, "UI", "2.25.1234");
	tb_seq(t, 0x00081115, 0);
	tb_item(t, 1);
	tb_str(t, 0x00081155, "UI", "2.25.99");
	tb_seq(t, 0x0008114a, 1);
	tb_item(t, 0);
	tb_str(t, 0x00081150, "UI", "1.2.3");
	tb_end(t);
	tb_end(t);
	tb_end(t);
	tb_end(t);
	tb_str(t, 0x00091010, "LO", "PRIVCREATOR");
	tb_str(t, 0x00100010, "PN", "Doe^Jane");
	tb_u16(t, 0x00280010, 2);
	tb_elem(t, 0x7fe00010, "OW", pix, 8);
}

void
test_reader_syntaxes(void)
{
	static const char *ts[] = { DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, DCM_TS_EXPLICIT_BE };
	for (int i = 0; i < 3; i++) {
		struct tb t;
		struct pv_diag d;
		unsigned n;
		tb_init(&t, i == 1, i == 2);
		build_sample(&t, ts[i]);
		T_EQ_INT(read_all(t.b.data, t.b.len, &n, &d), 0);
		/* 3 meta, 3, seq 1155 (2), item (2), 1, seq 114a (2), item (2), 1, 4 */
		T_EQ_INT(n, 20);
		tb_free(&t);
	}
}

void
test_reader_rejects_bad_lengths(void)
{
	struct tb t;
	struct pv_diag d;
	unsigned n;
	char msg[512];

	/* A value longer than the file: error names offset and tag, never the value. */
	tb_init(&t, 0, 0);
	tb_meta(&t, DCM_TS_EXPLICIT_LE);
	tb_str(&t, 0x00100010, "PN", "Secret^Name");
	t.b.len -= 4;
	T_EQ_INT(read_all(t.b.data, t.b.len, &n, &d), PV_ETRUNC);
	T_ASSERT(d.has_offset);
	pv_diag_format(&d, "f.dcm", msg, sizeof(msg));
	T_ASSERT(strstr(msg, "(0010,0010)") != NULL);
	T_ASSERT(strstr(msg, "Secret") == NULL);
	tb_free(&t);

	/* An item in a defined-length sequence that overruns it: strict rejects. */
	tb_init(&t, 0, 0);
	tb_meta(&t, DCM_TS_EXPLICIT_LE);
	tb_seq(&t, 0x00081115, 0);
	tb_item(&t, 0);
	tb_str(&t, 0x00081155, "UI", "1.2.3");
	tb_end(&t);
	tb_end(&t);
	{
		struct dcm_reader_opts o;
		struct dcm_reader *r;
		struct dcm_event ev;
		int rc;
		/* grow the item length by 100 */
		uint8_t *item_len = (uint8_t *)t.b.data + t.b.len - 14 - 4;
		item_len[0] = (uint8_t)(item_len[0] + 100);
		dcm_reader_opts_default(&o);
		o.strict = 1;
		pv_diag_clear(&d);
		T_EQ_INT(dcm_reader_open_mem(t.b.data, t.b.len, &o, &r, &d), 0);
		while ((rc = dcm_reader_next(r, &ev, &d)) == 1)
			;
		T_EQ_INT(rc, PV_ETRUNC);
		dcm_reader_free(r);
	}
	tb_free(&t);

	/* Nesting deeper than the cap. */
	tb_init(&t, 0, 0);
	tb_meta(&t, DCM_TS_EXPLICIT_LE);
	for (int i = 0; i < 60; i++) {
		tb_seq(&t, 0x00081115, 1);
		tb_item(&t, 1);
	}
	{
		struct dcm_reader_opts o;
		struct dcm_reader *r;
		struct dcm_event ev;
		int rc;
		dcm_reader_opts_default(&o);
		o.max_depth = 10;
		pv_diag_clear(&d);
		T_EQ_INT(dcm_reader_open_mem(t.b.data, t.b.len, &o, &r, &d), 0);
		while ((rc = dcm_reader_next(r, &ev, &d)) == 1)
			;
		T_EQ_INT(rc, PV_ELIMIT);
		dcm_reader_free(r);
	}
	tb_free(&t);

	/* Not DICOM at all. */
	T_EQ_INT(read_all("hello, world, this is text\n", 27, &n, &d), PV_ENOTDICOM);  /* its own code: folder walks skip such files (issue #15) */
	T_EQ_INT(read_all("", 0, &n, &d), PV_ETRUNC);
}

void
test_reader_odd_length_warns(void)
{
	struct tb t;
	struct dcm_reader *r;
	struct dcm_event ev;
	struct pv_diag d, w;
	int rc, odd = 0;

	tb_init(&t, 0, 0);
	tb_meta(&t, DCM_TS_EXPLICIT_LE);
	tb_elem(&t, 0x00100020, "LO", "ABC", 3);
	pv_diag_clear(&d);
	T_EQ_INT(dcm_reader_open_mem(t.b.data, t.b.len, NULL, &r, &d), 0);
	while ((rc = dcm_reader_next(r, &ev, &d)) == 1)
		if (ev.type == DCM_EV_ELEMENT && ev.tag == 0x00100020)
			odd = ev.odd_length;
	T_EQ_INT(rc, 0);
	T_EQ_INT(odd, 1);
	T_EQ_INT(dcm_reader_take_warning(r, &w), 1);
	T_ASSERT(strstr(w.msg, "odd length") != NULL);
	T_EQ_INT(dcm_reader_take_warning(r, &w), 0);
	dcm_reader_free(r);
	tb_free(&t);
}

/* Writes f in ts to a temporary file and reads it back. */
static struct dcm_file *
rewrite(struct dcm_file *f, const char *tsuid, const char *name)
{
	char path[300];
	struct pv_diag d;
	struct dcm_file *g = NULL;
	const struct dcm_ts *ts = dcm_ts_lookup(tsuid, strlen(tsuid));

	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	pv_diag_clear(&d);
	if (dcm_write_path(f, ts, path, 0600, DCM_WRITE_DURABLE, &d) != 0) {
		t_fail(__FILE__, __LINE__, "write %s: %s", name, d.msg);
		return NULL;
	}
	if (dcm_file_open(path, NULL, &g, &d) != 0) {
		t_fail(__FILE__, __LINE__, "read back %s: %s", name, d.msg);
		return NULL;
	}
	return g;
}

static int
ds_equal(struct dcm_file *fa, struct dcm_dataset *a, struct dcm_file *fb, struct dcm_dataset *b)
{
	if (a->n != b->n)
		return 0;
	for (uint32_t i = 0; i < a->n; i++) {
		struct dcm_elem *x = &a->e[i], *y = &b->e[i];
		const uint8_t *vx, *vy;
		if (x->tag != y->tag || (x->seq == NULL) != (y->seq == NULL))
			return 0;
		/* A defined sequence length depends on the encoding; values do not. */
		if (x->seq == NULL && x->length != y->length)
			return 0;
		if (x->seq != NULL) {
			if (x->seq->nitems != y->seq->nitems)
				return 0;
			for (uint32_t k = 0; k < x->seq->nitems; k++)
				if (!ds_equal(fa, x->seq->items[k], fb, y->seq->items[k]))
					return 0;
			continue;
		}
		if (dcm_file_value(fa, x, &vx) != 0 || dcm_file_value(fb, y, &vy) != 0)
			return 0;
		if (memcmp(vx, vy, x->length) != 0)
			return 0;
	}
	return 1;
}

void
test_writer_round_trip_all_syntaxes(void)
{
	static const char *ts[] = { DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, DCM_TS_EXPLICIT_BE, DCM_TS_DEFLATED_LE };
	struct tb t;
	struct pv_diag d;
	struct dcm_reader *r;
	struct dcm_file *f = NULL;

	tb_init(&t, 0, 0);
	build_sample(&t, DCM_TS_EXPLICIT_LE);
	pv_diag_clear(&d);
	T_EQ_INT(dcm_reader_open_mem(t.b.data, t.b.len, NULL, &r, &d), 0);
	T_EQ_INT(dcm_file_read(r, &f, &d), 0);
	if (f == NULL) {
		tb_free(&t);
		return;
	}
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "rt%d.dcm", i);
		struct dcm_file *g = rewrite(f, ts[i], name);
		if (g == NULL)
			continue;
		T_ASSERT(strcmp(g->ts->uid, ts[i]) == 0);
		/* Implicit VR loses the private VR (LO -> UN) but not the bytes. */
		if (!ds_equal(f, &f->ds, g, &g->ds))
			t_fail(__FILE__, __LINE__, "data set changed writing %s", ts[i]);
		/* Back to explicit LE from each, again equal. */
		struct dcm_file *h = rewrite(g, DCM_TS_EXPLICIT_LE, "back.dcm");
		if (h != NULL)
			T_ASSERT(ds_equal(f, &f->ds, h, &h->ds));
		dcm_file_free(h);
		dcm_file_free(g);
	}
	{
		char uid[80];
		T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00080018, uid, sizeof(uid)), 0);
		T_EQ_STR(uid, "2.25.1234");
		T_EQ_INT(dcm_ds_set_str(f, &f->ds, 0x00100020, DCM_VR_LO, "NEWID"), 0);
		T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00100020, uid, sizeof(uid)), 0);
		T_EQ_STR(uid, "NEWID");
		T_EQ_INT(dcm_ds_remove(&f->ds, 0x00100020), 0);
		T_EQ_INT(dcm_ds_remove(&f->ds, 0x00100020), PV_ENOTFOUND);
		T_EQ_U64(dcm_ds_count(&f->ds), 11);
	}
	{
		struct pv_buf j;
		pv_buf_init(&j, 1 << 20);
		T_EQ_INT(dcm_json_write_file(f, "/x y.dcm", 256, &j, &d), 0);
		T_ASSERT(strstr(j.data, "\"00100010\": {\n    \"vr\": \"PN\",\n    \"Value\": [\n      {\n        \"Alphabetic\": \"Doe^Jane\"") != NULL);
		T_ASSERT(strstr(j.data, "\"00280010\": {\n    \"vr\": \"US\",\n    \"Value\": [\n      2") != NULL);
		T_ASSERT(strstr(j.data, "\"InlineBinary\": \"AQACAAMABAA=\"") != NULL);
		pv_buf_free(&j);
	}
	dcm_file_free(f);
	tb_free(&t);
}

/* The unused bits of pixel samples: cleared, sign-extended, counted. */
void
test_pixfix(void)
{
	struct dcm_pixfix u16 = { 2, 0, 11, 12, 0 }, s16 = { 2, 1, 11, 12, 0 }, s32 = { 4, 1, 23, 24, 0 },
	    hb13 = { 2, 0, 13, 10, 0 };
	uint8_t a[8] = { 0xff, 0xff, 0x34, 0x02, 0xff, 0x0f, 0x00, 0xf4 };  /* 0xffff 0x0234 0x0fff 0xf400 */
	uint8_t b[8];
	uint8_t c[8] = { 0x01, 0x00, 0x80, 0xff, 0x01, 0x00, 0x80, 0x7f };  /* 0xff800001 0x7f800001 */
	uint8_t h[4] = { 0x03, 0x00, 0xf0, 0x3f };                        /* 0x0003 0x3ff0 */

	memcpy(b, a, 8);
	T_EQ_U64(dcm_pixfix_count(&u16, b, 8), 2);   /* 0xffff and 0xf400 */
	T_EQ_U64(dcm_pixfix_apply(&u16, b, 8), 2);
	T_EQ_INT(b[0] | b[1] << 8, 0x0fff);
	T_EQ_INT(b[6] | b[7] << 8, 0x0400);
	memcpy(b, a, 8);
	/* signed: 0xffff is already the extension of a negative; 0x0fff is a negative without it */
	T_EQ_U64(dcm_pixfix_count(&s16, b, 8), 1);   /* 0xf400: bit 11 clear, high bits set */
	T_EQ_U64(dcm_pixfix_apply(&s16, b, 8), 2);
	T_EQ_INT(b[0] | b[1] << 8, 0xffff);
	T_EQ_INT(b[4] | b[5] << 8, 0xffff);
	T_EQ_INT(b[6] | b[7] << 8, 0x0400);
	T_EQ_U64(dcm_pixfix_count(&s32, c, 8), 1);   /* 0x7f800001: bit 23 set, high 0x7f */
	T_EQ_U64(dcm_pixfix_apply(&s32, c, 8), 1);
	T_EQ_INT(c[7], 0xff);
	T_EQ_U64(dcm_pixfix_count(&hb13, h, 4), 1);  /* bits 0..3 unused below, 14..15 above */
	T_EQ_U64(dcm_pixfix_apply(&hb13, h, 4), 1);
	T_EQ_INT(h[0] | h[1] << 8, 0x0000);
	T_EQ_INT(h[2] | h[3] << 8, 0x3ff0);
	T_EQ_U64(dcm_pixfix_apply(&u16, a, 7), 1);    /* a stray odd byte is left alone */

	/* The vectorised 16-bit count against a per-sample reference, for every
	 * layout of 16-bit samples and values that hit each case. */
	{
		static uint8_t buf[2 * 4099];
		uint32_t x = 12345;
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		for (unsigned bs = 1; bs <= 16; bs++)
			for (unsigned hb = bs - 1; hb < 16; hb++)
				for (unsigned sg = 0; sg < 2; sg++) {
					struct dcm_pixfix fx = { 2, (uint8_t)sg, (uint8_t)hb, (uint8_t)bs, 0 };
					uint32_t lo = hb + 1 - bs, low = (1u << lo) - 1, ext = 0xffffu & ~((2u << hb) - 1);
					uint64_t want = 0;
					for (size_t i = 0; i + 1 < sizeof(buf); i += 2) {
						uint32_t v = (uint32_t)(buf[i] | buf[i + 1] << 8), high = v & ext;
						/* every fourth sample: in range, or a sign-extended negative */
						if ((i / 2) % 4 == 0)
							v = (v & ~low & ~ext) | ((sg && (v >> hb & 1)) ? ext : 0);
						buf[i] = (uint8_t)v;
						buf[i + 1] = (uint8_t)(v >> 8);
						high = v & ext;
						want += (v & low) != 0 || (high != 0 && !(sg && (v >> hb & 1) && high == ext));
					}
					T_EQ_U64(dcm_pixfix_count(&fx, buf, sizeof(buf)), want);
				}
	}
}
