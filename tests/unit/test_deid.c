/* test_deid.c: unit tests of src/deid. */
#include "harness.h"
#include "tests.h"
#include "dcmbuild.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/profile.h"
#include "pacsvault/deid/recipe.h"
#include "pacsvault/deid/textclean.h"
#include "pacsvault/dicom/dataset.h"

#include <stdio.h>

#include <string.h>

#define ALL_OPTS ((1u << DEID_OPT_COUNT) - 1)

void
test_profile_table(void)
{
	const struct deid_rule *r;

	T_EQ_STR(deid_profile_edition(), "2024c");
	T_EQ_INT(deid_profile_row_count(), 623);
	r = deid_profile_rule(0x00100010);           /* Patient's Name */
	T_ASSERT(r != NULL && strcmp(deid_rule_keyword(r), "PatientName") == 0);
	if (r != NULL)
		T_EQ_INT(deid_profile_action(r, 0), DEID_A_Z);
	r = deid_profile_rule(0x00080018);           /* SOP Instance UID */
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_U);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_UIDS)), DEID_A_K);
	r = deid_profile_rule(0x60023000);           /* Overlay Data, group 6002 */
	T_ASSERT(r != NULL && r->mask == 0xff00ffffu);
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_X);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_CLEAN_GRAPHICS)), DEID_A_C);
	r = deid_profile_rule(0x501e0010);           /* Curve Data, 50xx */
	T_ASSERT(r != NULL && r->mask == 0xff000000u);
	T_ASSERT(deid_profile_rule(0x00280010) == NULL);  /* Rows: not in the table */
	T_EQ_INT(deid_profile_action(NULL, ALL_OPTS), DEID_A_NONE);

	/* Acquisition Date: X/Z; K with full dates; C with modified dates. */
	r = deid_profile_rule(0x00080022);
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_XZ);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_FULL_DATES)), DEID_A_K);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)), DEID_A_C);
	/* Options that disagree: the more conservative wins (docs/DEID.md). */
	r = deid_profile_rule(0x0014407e);           /* Calibration Date: device K, modified dates C */
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_DEVICE) |
	    DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)), DEID_A_C);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_DEVICE)), DEID_A_K);

	/* Private attributes: X; C (keep the safe ones) with Retain Safe Private. */
	r = deid_profile_private_rule();
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_X);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_SAFE_PRIVATE)), DEID_A_C);

	T_EQ_STR(deid_action_name(DEID_A_XZD), "X/Z/D");
	T_EQ_STR(deid_option_flag(DEID_OPT_CLEAN_GRAPHICS), "clean-graphics");
}

static const char *
cleaned(const char *in, const char *term)
{
	static char out[512];
	const char *t[1] = { term };
	size_t tn[1] = { term ? strlen(term) : 0 };
	struct deid_terms terms = { t, tn, term ? 1u : 0u, 0 };
	struct pv_buf b;
	unsigned red;

	pv_buf_init(&b, 4096);
	if (deid_text_clean(in, strlen(in), &terms, &b, &red) != 0)
		return NULL;
	snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
	pv_buf_free(&b);
	return out;
}

void
test_text_clean(void)
{
	/* GB 11643 check digit: 11010519491231002X is the standard's example */
	T_ASSERT(deid_prc_id_valid("11010519491231002X"));
	T_ASSERT(!deid_prc_id_valid("110105194912310021"));  /* wrong check */
	T_ASSERT(!deid_prc_id_valid("11010519491331002X"));  /* month 13 */
	T_EQ_STR(cleaned("ID 11010519491231002X, ok", NULL), "ID ***, ok");
	T_EQ_STR(cleaned("ID 110105194912310021 stays", NULL), "ID *** stays");  /* 18 digits: a long number */
	T_EQ_STR(cleaned("call +86 138 0013 8000 now", NULL), "call *** now");
	T_EQ_STR(cleaned("ssn 123-45-6789.", NULL), "ssn ***.");
	T_EQ_STR(cleaned("seen 2023-07-02 and 02/07/2023", NULL), "seen *** and ***");
	T_EQ_STR(cleaned("mail j.doe@example.org please", NULL), "mail *** please");
	T_EQ_STR(cleaned("Mr zhang wei came", "ZHANG WEI"), "Mr *** came");
	T_EQ_STR(cleaned("ZHANGWEI is one word", "ZHANG"), "ZHANGWEI is one word");  /* word boundary */
	/* 张伟先生: the name and its honorific (a role word after a CJK name) */
	T_EQ_STR(cleaned("\xe5\xbc\xa0\xe4\xbc\x9f\xe5\x85\x88\xe7\x94\x9f", "\xe5\xbc\xa0\xe4\xbc\x9f"), "***");
	T_EQ_STR(cleaned("CT 120 kV, 5 mm", NULL), "CT 120 kV, 5 mm");  /* short numbers stay */
	T_EQ_STR(cleaned("", NULL), "");
}

/* Issue #14: what the byte-based cleaner missed. */
void
test_text_clean_unicode(void)
{
	/* a resident ID and a phone directly followed by CJK text or a full-width comma */
	T_EQ_STR(cleaned("身份证11010519491231002X患者", NULL), "身份证***患者");
	T_EQ_STR(cleaned("电话13907551234，地址", NULL), "电话***，地址");
	/* full-width digits */
	T_EQ_STR(cleaned("电话：１３９０７５５１２３４。", NULL), "电话：***。");
	/* dates in words */
	T_EQ_STR(cleaned("born 14 March 1961 in", NULL), "born *** in");
	T_EQ_STR(cleaned("DOB 14-MAR-1961.", NULL), "DOB ***.");
	T_EQ_STR(cleaned("on March 14, 1961 at", NULL), "on *** at");
	T_EQ_STR(cleaned("生于1961年3月14日，", NULL), "生于***，");
	T_EQ_STR(cleaned("dob 3/14/61 ok", NULL), "dob *** ok");
	T_EQ_STR(cleaned("Marble and Decision stay", NULL), "Marble and Decision stay");
	/* other people's names by role, in either order and language */
	T_EQ_STR(cleaned("Seen by Dr Ferreday Alaric today", NULL), "Seen by *** today");
	T_EQ_STR(cleaned("Contact: Pemberton Lysander.", NULL), "***.");
	T_EQ_STR(cleaned("Report: Alaric Ferreday, MD", NULL), "Report: ***");
	T_EQ_STR(cleaned("由司马建国医生诊断", NULL), "由***诊断");
	T_EQ_STR(cleaned("联系人 上官婉清，电话", NULL), "***，电话");
	T_EQ_STR(cleaned("Dr. said so", NULL), "Dr. said so");
	/* institutions */
	T_EQ_STR(cleaned("at Saint Wilfrida Hospital.", NULL), "at ***.");
	T_EQ_STR(cleaned("转自东湖协和医院。", NULL), "***。");  /* up to 10 characters before: more rather than less */
	/* ages over 89 */
	T_EQ_STR(cleaned("a 95-year-old woman", NULL), "a *** woman");
	T_EQ_STR(cleaned("age 095Y and 1200M", NULL), "age *** and ***");
	T_EQ_STR(cleaned("患者95岁", NULL), "患者***");
	T_EQ_STR(cleaned("a 45-year-old, 120 kV", NULL), "a 45-year-old, 120 kV");
	/* the patient's own name: any case (Unicode folding), two-letter parts, other order */
	T_EQ_STR(cleaned("MÜLLER and müller", "Müller"), "*** and ***");
	T_EQ_STR(cleaned("LI NA came", "LI"), "*** NA came");
	T_EQ_STR(cleaned("SCHÖNBERG", "Schönberg"), "***");
	/* a code value: digits are a code, not a phone */
	{
		struct deid_terms code = { NULL, NULL, 0, DEID_TF_CODE };
		struct pv_buf b;
		unsigned red;
		pv_buf_init(&b, 4096);
		T_EQ_INT(deid_text_clean("399763007", 9, &code, &b, &red), 0);
		T_EQ_INT(red, 0);
		pv_buf_free(&b);
	}
	/* invalid UTF-8 is read, not trusted: no crash, the bytes kept */
	T_EQ_STR(cleaned("a\xff\xfe b", NULL), "a\xff\xfe b");
}

void
test_pseudonyms_and_dates(void)
{
	uint8_t key[32];
	char uid[48], d[9];
	int days;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i + 1);
	/* Expected values computed independently (Python hmac, see the commit). */
	T_EQ_INT(deid_uid_pseudonym(key, "1.2.3\0", 6, uid), 0);
	T_EQ_STR(uid, "2.25.149347474785893291069661964005833264340");
	T_EQ_INT(deid_date_offset(key, "P123", 4, &days), 0);
	T_EQ_INT(days, -1624);
	T_EQ_INT(deid_shift_date("20240301", -1, d), 0);
	T_EQ_STR(d, "20240229");
	T_EQ_INT(deid_shift_date("20000101", -3650, d), 0);
	T_EQ_STR(d, "19900103");
	T_EQ_INT(deid_shift_date("2000AB01", 1, d), PV_EPARSE);
}

/* Builds a file, de-identifies it with opts, and returns it (caller frees). */
static struct dcm_file *
deid_sample(unsigned opts, struct deid_counts *c)
{
	static const uint8_t ovl[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct tb t;
	struct dcm_reader *r;
	struct dcm_file *f = NULL;
	struct deid_config cfg;
	struct pv_diag d;

	tb_init(&t, 0, 0);
	tb_meta(&t, "1.2.840.10008.1.2.1");
	tb_str(&t, 0x00080018, "UI", "1.2.3.4");
	tb_str(&t, 0x00080050, "SH", "ACC123");
	tb_str(&t, 0x00080080, "LO", "General Hospital");
	tb_seq(&t, 0x00081140, 0);              /* Referenced Image Sequence: X/Z/U* */
	tb_item(&t, 0);
	tb_str(&t, 0x00081155, "UI", "1.2.3.5");
	tb_seq(&t, 0x0040a170, 1);              /* nested, not in E.1-1: kept, recursed */
	tb_item(&t, 1);
	tb_str(&t, 0x00100010, "PN", "Deep^Name"); /* a name three levels down */
	tb_end(&t);
	tb_end(&t);
	tb_end(&t);
	tb_end(&t);
	tb_str(&t, 0x00090010, "LO", "Philips PET Private Group");
	tb_str(&t, 0x00091000, "LO", "not safe");   /* offset 00: not in E.3.10-1 for group 0009 */
	tb_str(&t, 0x00100010, "PN", "Doe^Jane");
	tb_str(&t, 0x00100020, "LO", "P123");
	tb_str(&t, 0x00101010, "AS", "093Y");
	tb_str(&t, 0x00204000, "LT", "patient P123 ID 11010519491231002X");
	tb_u16(&t, 0x60000010, 512);
	tb_elem(&t, 0x60003000, "OB", ovl, 8);
	tb_str(&t, 0x70530010, "LO", "Philips PET Private Group");
	tb_str(&t, 0x70531000, "DS", "1.5");        /* (7053,xx00): safe */
	tb_str(&t, 0x70531001, "LO", "secret");     /* (7053,xx01): not safe */
	pv_diag_clear(&d);
	memset(&cfg, 0, sizeof(cfg));
	cfg.opts = opts;
	for (int i = 0; i < 32; i++)
		cfg.key[i] = (uint8_t)(i + 1);
	memset(c, 0, sizeof(*c));
	if (dcm_reader_open_mem(t.b.data, t.b.len, NULL, &r, &d) != 0 || dcm_file_read(r, &f, &d) != 0) {
		tb_free(&t);
		return NULL;
	}
	/* the file keeps pointers into t's bytes only for bulk data: all loaded here */
	if (deid_apply(f, &cfg, c, NULL, &d) != 0) {
		dcm_file_free(f);
		f = NULL;
	}
	tb_free(&t);
	return f;
}

void
test_engine_basic_profile(void)
{
	struct deid_counts c;
	struct dcm_file *f = deid_sample(0, &c);
	struct dcm_elem *e;
	char s[128];

	T_ASSERT(f != NULL);
	if (f == NULL)
		return;
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00080018, s, sizeof(s)), 0);
	T_ASSERT(strncmp(s, "2.25.", 5) == 0 && strcmp(s, "1.2.3.4") != 0);
	e = dcm_ds_find(&f->ds, 0x00080050);
	T_ASSERT(e != NULL && e->length == 0);                     /* Z */
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00080080, s, sizeof(s)), 0);
	T_EQ_STR(s, "ANONYMIZED");                                  /* X/Z/D -> D */
	T_ASSERT(dcm_ds_find(&f->ds, 0x00204000) == NULL);          /* X */
	T_ASSERT(dcm_ds_find(&f->ds, 0x60000010) == NULL);          /* overlay group gone */
	T_ASSERT(dcm_ds_find(&f->ds, 0x60003000) == NULL);
	for (uint32_t i = 0; i < f->ds.n; i++)
		T_ASSERT(!DCM_IS_PRIVATE(f->ds.e[i].tag));              /* private gone */
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00100020, s, sizeof(s)), 0);
	T_ASSERT(strncmp(s, "PV", 2) == 0 && strlen(s) == 22);      /* keyed pseudonym */
	T_ASSERT(dcm_ds_find(&f->ds, 0x00101010) == NULL);          /* age: X */
	e = dcm_ds_find(&f->ds, 0x00081140);                        /* kept, UID mapped inside */
	T_ASSERT(e != NULL && e->seq != NULL && e->seq->nitems == 1);
	if (e != NULL && e->seq != NULL && e->seq->nitems == 1) {
		struct dcm_dataset *item = e->seq->items[0];
		struct dcm_elem *n;
		T_EQ_INT(dcm_ds_get_str(f, item, 0x00081155, s, sizeof(s)), 0);
		T_ASSERT(strncmp(s, "2.25.", 5) == 0);
		n = dcm_ds_find(item, 0x0040a170);
		T_ASSERT(n != NULL && n->seq != NULL && n->seq->nitems == 1);
		if (n != NULL && n->seq != NULL && n->seq->nitems == 1) {
			T_EQ_INT(dcm_ds_get_str(f, n->seq->items[0], 0x00100010, s, sizeof(s)), 0);
			T_ASSERT(strncmp(s, "PV^", 3) == 0);                 /* pseudonym at depth 2 */
		}
	}
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00120062, s, sizeof(s)), 0);
	T_EQ_STR(s, "YES");
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00280303, s, sizeof(s)), 0);
	T_EQ_STR(s, "REMOVED");
	e = dcm_ds_find(&f->ds, 0x00120064);
	T_ASSERT(e != NULL && e->seq != NULL && e->seq->nitems == 1);
	T_EQ_INT(f->meta.n, 0);
	dcm_file_free(f);
}

void
test_engine_options(void)
{
	struct deid_counts c;
	struct dcm_file *f;
	char s[128];

	/* Retain Safe Private keeps (7053,xx00) of its creator only. */
	f = deid_sample(DEID_OPT_BIT(DEID_OPT_SAFE_PRIVATE) | DEID_OPT_BIT(DEID_OPT_PATIENT_CHARS) |
	    DEID_OPT_BIT(DEID_OPT_UIDS), &c);
	T_ASSERT(f != NULL);
	if (f == NULL)
		return;
	T_ASSERT(dcm_ds_find(&f->ds, 0x70531000) != NULL);
	T_ASSERT(dcm_ds_find(&f->ds, 0x70530010) != NULL);          /* its creator stays */
	T_ASSERT(dcm_ds_find(&f->ds, 0x70531001) == NULL);
	T_ASSERT(dcm_ds_find(&f->ds, 0x00091000) == NULL);
	T_ASSERT(dcm_ds_find(&f->ds, 0x00090010) == NULL);          /* an emptied block's creator goes */
	T_EQ_INT(c.kept_private, 1);
	/* Retain Patient Characteristics: the age stays, over 89 as 090Y. */
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00101010, s, sizeof(s)), 0);
	T_EQ_STR(s, "090Y");
	/* Retain UIDs */
	T_EQ_INT(dcm_ds_get_str(f, &f->ds, 0x00080018, s, sizeof(s)), 0);
	T_EQ_STR(s, "1.2.3.4");
	dcm_file_free(f);
}

static int
recipe_error(const char *text, const char *want)
{
	struct deid_recipe r;
	struct pv_diag d;
	int rc;

	pv_diag_clear(&d);
	rc = deid_recipe_parse(text, strlen(text), "r.txt", &r, &d);
	if (rc == 0) {
		deid_recipe_free(&r);
		t_fail(__FILE__, __LINE__, "accepted: %s", text);
		return 0;
	}
	if (strstr(d.msg, want) == NULL) {
		t_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", d.msg, want);
		return 0;
	}
	return 1;
}

void
test_recipe(void)
{
	static const char good[] =
	    "# site rules\n"
	    "keep (0008,0080)   # institution\n"
	    "\n"
	    "replace StudyDescription \"RESEARCH \\\"A\\\"\"\n"
	    "empty (60xx,0022)\n"
	    "remove private \"ACME\" 1f\n"
	    "keep private \"ACME\"\n";
	struct deid_recipe r;
	struct pv_diag d;
	const struct deid_recipe_rule *m;

	pv_diag_clear(&d);
	T_EQ_INT(deid_recipe_parse(good, sizeof(good) - 1, "r.txt", &r, &d), 0);
	T_EQ_INT(r.n, 5);
	m = deid_recipe_match(&r, 0x00080080, NULL, 0);
	T_ASSERT(m != NULL && m->action == DEID_R_KEEP && m->line == 2);
	m = deid_recipe_match(&r, 0x00081030, NULL, 0);
	T_ASSERT(m != NULL && m->action == DEID_R_REPLACE && strcmp(m->value, "RESEARCH \"A\"") == 0);
	m = deid_recipe_match(&r, 0x60040022, NULL, 0);
	T_ASSERT(m != NULL && m->action == DEID_R_EMPTY);
	m = deid_recipe_match(&r, 0x0009101f, "ACME ", 5);   /* offset 1f of the ACME block */
	T_ASSERT(m != NULL && m->action == DEID_R_REMOVE);
	m = deid_recipe_match(&r, 0x00091020, "ACME", 4);    /* another offset: the block rule */
	T_ASSERT(m != NULL && m->action == DEID_R_KEEP);
	T_ASSERT(deid_recipe_match(&r, 0x00091020, "OTHER", 5) == NULL);
	T_ASSERT(deid_recipe_match(&r, 0x00100010, NULL, 0) == NULL);
	deid_recipe_free(&r);

	recipe_error("keep (0008,0080)\nkep (0010,0010)\n", "r.txt:2: unknown action 'kep'");
	recipe_error("remove (0010,001Z)\n", "r.txt:1: '(0010,001Z)' is not a tag");
	recipe_error("remove NoSuchKeyword\n", "unknown keyword 'NoSuchKeyword'");
	recipe_error("replace (0008,1030)\n", "replace needs one quoted value");
	recipe_error("replace (0008,1030) \"open\n", "unterminated quote");
	recipe_error("remove private ACME\n", "private needs a quoted creator");
	recipe_error("remove private \"ACME\" 1g\n", "two hex digits");
	recipe_error("remove (0009,1010)\n", "matched by creator");
	recipe_error("keep (0008,0080) extra\n", "unexpected 'extra'");
	recipe_error("replace (0008,1030) \"caf\xc3\xa9\"\n", "printable ASCII");
	recipe_error("keep\n", "keep what?");
}
