/* cmd_dump.c: `pacsvault dump`: list the elements of DICOM files. */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/value.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char dump_help[] =
"usage: pacsvault dump [OPTIONS] FILE...\n"
"\n"
"Lists every element of each DICOM file at every depth: tag, VR, value,\n"
"length, value multiplicity and keyword, nesting shown by indentation, in\n"
"the layout of dcmtk's dcmdump. Text values are shown in UTF-8 whatever\n"
"their Specific Character Set. Bulk values (pixel data and other long\n"
"binary values) are never read whole: their first values are shown.\n"
"\n"
"Options:\n"
"  --json            the DICOM JSON model (PS3.18 F.2), one object per file\n"
"                    (an array when there are several); bulk values become\n"
"                    BulkDataURI references \"file:PATH?offset=N&length=N\"\n"
"  --inline-max N    with --json: values up to N bytes are inlined as\n"
"                    InlineBinary (default 256)\n"
"  --max-values N    show at most N values of a binary element (default 16;\n"
"                    0 for all)\n"
"  --partial         on a malformed file, print what was read before the\n"
"                    error (default: print nothing for that file)\n"
"  --no-meta         leave out the File Meta Information\n"
"  -h, --help        this text\n"
"\n"
"Exit status: 0 when every file was read, 1 when any could not be (each is\n"
"reported on stderr with its byte offset and tag path), 2 on bad usage.\n";

struct dump_opts {
	int json, partial, no_meta;
	unsigned max_values;
	uint32_t inline_max;
};

#define VALUE_COLUMN 56

static const char *
keyword_of(uint32_t tag)
{
	const struct dcm_dict_entry *de;

	if (DCM_IS_PRIVATE(tag)) {
		if (DCM_ELEM(tag) == 0)
			return "PrivateGroupLength";
		if (DCM_IS_PRIVATE_CREATOR(tag))
			return "PrivateCreator";
		return "PrivateTagData";
	}
	de = dcm_dict_lookup(tag);
	return de != NULL ? de->keyword : "UnknownTagData";
}

static int
put_line(struct pv_buf *out, unsigned indent, const char *head, size_t headlen, const char *tail)
{
	int rc;
	size_t col = indent + headlen;

	for (unsigned i = 0; i < indent; i++)
		if ((rc = pv_buf_putc(out, ' ')) != 0)
			return rc;
	if ((rc = pv_buf_append(out, head, headlen)) != 0)
		return rc;
	do {
		if ((rc = pv_buf_putc(out, ' ')) != 0)
			return rc;
	} while (++col < VALUE_COLUMN + indent);
	if ((rc = pv_buf_puts(out, tail)) != 0)
		return rc;
	return pv_buf_putc(out, '\n');
}

static void
len_text(char *s, size_t n, uint32_t len)
{
	if (len == DCM_UNDEFINED_LENGTH)
		snprintf(s, n, "u/l");
	else
		snprintf(s, n, "%3u", len);
}

/* Dumps one file as text into out. Returns 0 or the reader's error. */
/* Reports the reader's pending warnings on stderr (no values, only tags and offsets). */
static void
drain_warnings(struct dcm_reader *r, const char *file)
{
	struct pv_diag w;
	char line[1024];

	while (dcm_reader_take_warning(r, &w)) {
		pv_diag_format(&w, file, line, sizeof(line));
		fprintf(stderr, "pacsvault: dump: warning: %s\n", line);
	}
}

static int
dump_text(struct dcm_reader *r, const char *file, const struct dump_opts *o, struct pv_buf *out,
    struct pv_diag *d)
{
	struct pv_buf line, tail;
	struct dcm_event ev;
	struct dcm_charset cs[130];
	uint8_t peek[16 * 8];
	char lenbuf[16];
	int rc, in_meta_hdr = 0, data_hdr = 0;

	pv_buf_init(&line, (size_t)1 << 30);
	pv_buf_init(&tail, 4096);
	dcm_charset_default(&cs[0]);
	while ((rc = dcm_reader_next(r, &ev, d)) == 1) {
		unsigned depth = ev.depth < 128 ? ev.depth : 127;
		unsigned indent;
		rc = 0;
		drain_warnings(r, file);
		pv_buf_reset(&line);
		pv_buf_reset(&tail);
		if (ev.meta && !in_meta_hdr) {
			in_meta_hdr = 1;
			if (!o->no_meta)
				rc = pv_buf_puts(out, "# Dicom-Meta-Information-Header\n"
				    "# Used TransferSyntax: Little Endian Explicit\n");
		}
		if (!ev.meta && !data_hdr) {
			const struct dcm_ts *ts = dcm_reader_ts(r);
			data_hdr = 1;
			rc = pv_buf_printf(out, "%s# Dicom-Data-Set\n# Used TransferSyntax: %s%s\n",
			    in_meta_hdr && !o->no_meta ? "\n" : "", ts ? ts->name : "?",
			    dcm_reader_ts_detected(r) ? " (detected)" : "");
		}
		if (rc != 0)
			break;
		if (ev.meta && o->no_meta)
			continue;
		switch (ev.type) {
		case DCM_EV_ELEMENT: {
			const uint8_t *v = ev.value;
			uint32_t shown = ev.length;
			int cut = 0;
			indent = 4 * depth;
			if (v == NULL) {
				unsigned unit = dcm_vr_info(ev.vr)->swap ? dcm_vr_info(ev.vr)->swap : 1;
				uint32_t want = o->max_values ? o->max_values * unit : ev.length;
				if (dcm_vr_info(ev.vr)->kind != DCM_VRK_BULK)
					want = 64;
				if (want > sizeof(peek))
					want = sizeof(peek);
				if (want >= ev.length)
					want = ev.length;
				else
					cut = 1;
				if (dcm_reader_pread(r, ev.value_offset, peek, want) != 0) {
					rc = pv_diag_set(d, PV_ETRUNC, (int64_t)ev.value_offset, "value cut short");
					break;
				}
				if (ev.swap > 1)
					for (uint32_t i = 0; i + ev.swap <= want; i += ev.swap)
						for (unsigned j = 0; j < ev.swap / 2; j++) {
							uint8_t t = peek[i + j];
							peek[i + j] = peek[i + ev.swap - 1 - j];
							peek[i + ev.swap - 1 - j] = t;
						}
				v = peek;
				shown = want;
			}
			rc = pv_buf_printf(&line, "(%04x,%04x) %s ", DCM_GROUP(ev.tag), DCM_ELEM(ev.tag),
			    ev.vr_unknown ? "??" : dcm_vr_name(ev.vr));
			if (rc == 0)
				rc = dcm_value_format(ev.vr, v, shown, &cs[depth],
				    dcm_vr_info(ev.vr)->kind == DCM_VRK_STRING ? 0 : o->max_values, &line);
			if (rc == 0 && cut && !(line.len >= 3 && memcmp(line.data + line.len - 3, "...", 3) == 0))
				rc = pv_buf_puts(&line, "...");
			if (rc == 0 && ev.tag == DCM_TAG_SPECIFIC_CHARSET && ev.value != NULL)
				(void)dcm_charset_parse(ev.value, ev.length, &cs[depth]);
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			if (rc == 0)
				rc = pv_buf_printf(&tail, "# %s, %u %s", lenbuf,
				    v == ev.value ? dcm_value_vm(ev.vr, v, shown) : 1, keyword_of(ev.tag));
			break;
		}
		case DCM_EV_SEQ_BEGIN:
			indent = 4 * depth;
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			rc = pv_buf_printf(&line, "(%04x,%04x) %s (%s)", DCM_GROUP(ev.tag), DCM_ELEM(ev.tag),
			    ev.encapsulated ? dcm_vr_name(ev.vr) : "SQ",
			    ev.encapsulated ? "PixelSequence" :
			    ev.length == DCM_UNDEFINED_LENGTH ? "Sequence with undefined length" :
			    "Sequence with explicit length");
			if (rc == 0)
				rc = pv_buf_printf(&tail, "# %s, 1 %s", lenbuf, keyword_of(ev.tag));
			break;
		case DCM_EV_SEQ_END:
			if (ev.defined_length)
				continue;
			indent = 4 * depth;
			rc = pv_buf_puts(&line, "(fffe,e0dd) na (SequenceDelimitationItem)");
			if (rc == 0)
				rc = pv_buf_puts(&tail, "#   0, 0 SequenceDelimitationItem");
			break;
		case DCM_EV_ITEM_BEGIN:
			if (depth < 129)
				cs[depth] = cs[depth - 1];
			indent = 4 * depth - 2;
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			rc = pv_buf_printf(&line, "(fffe,e000) na (Item with %s length)",
			    ev.defined_length ? "explicit" : "undefined");
			if (rc == 0)
				rc = pv_buf_printf(&tail, "# %s, 1 Item", lenbuf);
			break;
		case DCM_EV_ITEM_END:
			if (ev.defined_length)
				continue;
			indent = 4 * depth - 2;
			rc = pv_buf_puts(&line, "(fffe,e00d) na (ItemDelimitationItem)");
			if (rc == 0)
				rc = pv_buf_puts(&tail, "#   0, 0 ItemDelimitationItem");
			break;
		case DCM_EV_FRAGMENT: {
			uint32_t want = ev.length < 16 ? ev.length : 16;
			indent = 4 * depth - 2;
			rc = pv_buf_puts(&line, "(fffe,e000) pi ");
			if (rc == 0 && dcm_reader_pread(r, ev.value_offset, peek, want) != 0)
				rc = pv_diag_set(d, PV_ETRUNC, (int64_t)ev.value_offset, "fragment cut short");
			if (rc == 0)
				rc = dcm_value_format(DCM_VR_OB, peek, want, &cs[0], 0, &line);
			if (rc == 0 && want < ev.length)
				rc = pv_buf_puts(&line, "...");
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			if (rc == 0)
				rc = pv_buf_printf(&tail, "# %s, 1 Item", lenbuf);
			break;
		}
		default:
			continue;
		}
		if (rc != 0)
			break;
		if ((rc = put_line(out, indent, line.data, line.len, tail.data)) != 0)
			break;
	}
	drain_warnings(r, file);
	if (rc > 0)
		rc = 0;
	if (rc < 0 && d->code == 0)
		pv_diag_set(d, rc, -1, "%s", pv_strerror(rc));
	pv_buf_free(&line);
	pv_buf_free(&tail);
	return rc;
}

int
cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "partial", no_argument, NULL, 'p' },
		{ "no-meta", no_argument, NULL, 'n' },
		{ "max-values", required_argument, NULL, 'm' },
		{ "inline-max", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts o = { 0, 0, 0, 16, 256 };
	struct pv_buf out;
	int c, failed = 0;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = 1; break;
		case 'p': o.partial = 1; break;
		case 'n': o.no_meta = 1; break;
		case 'm':
			o.max_values = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.max_values > 1000000)
				return app_usage_error("dump", "--max-values wants a number up to 1000000");
			break;
		case 'i':
			o.inline_max = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.inline_max > (1u << 30))
				return app_usage_error("dump", "--inline-max wants a byte count up to 1 GiB");
			break;
		case 'h':
			fputs(dump_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("dump", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("dump", "no input files");
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	pv_buf_init(&out, (size_t)1 << 32);
	if (o.json && argc - optind > 1)
		fputs("[\n", stdout);
	for (int i = optind; i < argc; i++) {
		struct pv_diag d;
		struct dcm_reader *r = NULL;
		struct dcm_reader_opts ro;
		int rc;

		pv_diag_clear(&d);
		pv_buf_reset(&out);
		dcm_reader_opts_default(&ro);
		if (o.json)
			ro.inline_max = o.inline_max;
		rc = dcm_reader_open(argv[i], &ro, &r, &d);
		if (rc == 0) {
			if (o.json) {
				struct dcm_file *f = NULL;
				rc = dcm_file_read(r, &f, &d);
				r = NULL; /* owned by f now, or freed */
				if (rc == 0)
					rc = dcm_json_write_file(f, argv[i], o.inline_max, &out, &d);
				dcm_file_free(f);
			} else {
				if (argc - optind > 1)
					rc = pv_buf_printf(&out, "%s# File: %s\n", i > optind ? "\n" : "", argv[i]);
				if (rc == 0)
					rc = dump_text(r, argv[i], &o, &out, &d);
			}
		}
		dcm_reader_free(r);
		if (rc != 0) {
			failed = 1;
			app_report("dump", argv[i], &d);
			if (!o.partial || o.json)
				continue;
		}
		if (o.json && argc - optind > 1 && i > optind)
			fputs(",\n", stdout);
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	}
	if (o.json && argc - optind > 1)
		fputs("]\n", stdout);
	fflush(stdout);
	pv_buf_free(&out);
	return failed ? PV_EXIT_FAIL : PV_EXIT_OK;
}
