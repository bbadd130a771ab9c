/* cmd_dump.c: `pacsvault dump`: list the elements of DICOM files. */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/value.h"

#include <getopt.h>
#include <pthread.h>
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
"  --jobs N          read files on N threads (default 0: one per CPU); the\n"
"                    output is always in the order of the command line\n"
"  -h, --help        this text\n"
"\n"
"Exit status: 0 when every file was read, 1 when any could not be (each is\n"
"reported on stderr with its byte offset and tag path), 2 on bad usage.\n";

struct dump_opts {
	int json, partial, no_meta;
	unsigned max_values;
	uint32_t inline_max;
	unsigned jobs;          /* worker threads, 0 = one per CPU */
};

/*
 * The worker pool dumps the files; each is printed in the order of the
 * command line as soon as it and every file before it are done, by
 * whichever thread finishes the one that was holding the output back (no
 * barrier: printing overlaps the reading of later files).
 */
#define DUMP_OUT_MAX ((size_t)1 << 32)

struct dump_job {
	const char *path;
	int first;
	int rc;
	int done;               /* under ctx->lock */
	struct pv_diag d;
	struct pv_buf out, warn;
};

struct dump_ctx {
	const struct dump_opts *o;
	struct dump_job *jobs;
	size_t njobs;
	int multi;
	pthread_mutex_t lock;   /* done flags, the cursor, the output */
	size_t next;            /* the first job not printed yet */
	size_t emitted;
	int failed;
};

static void dump_emit(struct dump_ctx *ctx, struct dump_job *j);

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
	return de != NULL ? dcm_dict_keyword(de) : "UnknownTagData";
}

/* "(gggg,eeee) " in lower-case hex, as dcmdump prints tags; 12 bytes. */
static void
tag_text(char *s, uint32_t tag)
{
	static const char hex[] = "0123456789abcdef";
	s[0] = '(';
	for (int i = 0; i < 4; i++)
		s[1 + i] = hex[(tag >> (28 - 4 * i)) & 15];
	s[5] = ',';
	for (int i = 0; i < 4; i++)
		s[6 + i] = hex[(tag >> (12 - 4 * i)) & 15];
	s[10] = ')';
	s[11] = ' ';
}

static void
len_text(char *s, size_t n, uint32_t len)
{
	if (len == DCM_UNDEFINED_LENGTH)
		snprintf(s, n, "u/l");
	else
		snprintf(s, n, "%3u", len);
}

/* The comment column: "# LEN, VM Keyword", without printf on the hot path. */
static int
put_tail(struct pv_buf *tail, uint32_t len, unsigned vm, const char *keyword)
{
	char b[32];
	int k = 0, rc;
	uint32_t v = len;

	if (len == DCM_UNDEFINED_LENGTH) {
		rc = pv_buf_puts(tail, "# u/l, ");
	} else {
		do {
			b[sizeof(b) - 1 - k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		while (k < 3)
			b[sizeof(b) - 1 - k++] = ' ';
		rc = pv_buf_append(tail, "# ", 2);
		if (rc == 0)
			rc = pv_buf_append(tail, b + sizeof(b) - k, (size_t)k);
		if (rc == 0)
			rc = pv_buf_append(tail, ", ", 2);
	}
	k = 0;
	do {
		b[sizeof(b) - 1 - k++] = (char)('0' + vm % 10);
		vm /= 10;
	} while (vm != 0);
	if (rc == 0)
		rc = pv_buf_append(tail, b + sizeof(b) - k, (size_t)k);
	if (rc == 0)
		rc = pv_buf_putc(tail, ' ');
	if (rc == 0)
		rc = pv_buf_puts(tail, keyword);
	return rc;
}

/* Dumps one file as text into out. Returns 0 or the reader's error. */
/* Collects the reader's pending warnings (tags and offsets, never values). */
static void
drain_warnings(struct dcm_reader *r, const char *file, struct pv_buf *warn)
{
	struct pv_diag w;
	char line[1024];

	while (dcm_reader_take_warning(r, &w)) {
		pv_diag_format(&w, file, line, sizeof(line));
		if (pv_buf_printf(warn, "pacsvault: dump: warning: %s\n", line) != 0)
			return;
	}
}

/* Starts a line: the indentation; returns where the line starts. */
static size_t
line_begin(struct pv_buf *out, unsigned indent, int *rc)
{
	size_t start = out->len;
	if (*rc == 0)
		*rc = pv_buf_fill(out, ' ', indent);
	return start;
}

/* Pads the line that began at start to the comment column (at least one space). */
static int
line_pad(struct pv_buf *out, size_t start, unsigned indent)
{
	size_t col = out->len - start, want = VALUE_COLUMN + indent;
	return pv_buf_fill(out, ' ', col + 1 < want ? want - col : 1);
}

/*
 * Dumps one file as text into out, writing each line in place: head, padding
 * to the comment column, "# length, VM keyword". Returns 0 or the error.
 */
static int
dump_text(struct dcm_reader *r, const char *file, const struct dump_opts *o, struct pv_buf *out,
    struct pv_buf *warn, struct pv_diag *d)
{
	struct dcm_event ev;
	struct dcm_charset cs[130];
	uint8_t peek[16 * 8];
	char lenbuf[16];
	int rc, in_meta_hdr = 0, data_hdr = 0;

	dcm_charset_default(&cs[0]);
	while ((rc = dcm_reader_next(r, &ev, d)) == 1) {
		unsigned depth = ev.depth < 128 ? ev.depth : 127;
		unsigned indent;
		size_t start;
		rc = 0;
		if (dcm_reader_warnings(r) > 0)
			drain_warnings(r, file, warn);
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
			char h[15];
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
			start = line_begin(out, indent, &rc);
			tag_text(h, ev.tag);
			memcpy(h + 12, ev.vr_unknown ? "??" : dcm_vr_name(ev.vr), 2);
			h[14] = ' ';
			if (rc == 0)
				rc = pv_buf_append(out, h, sizeof(h));
			if (rc == 0)
				rc = dcm_value_format(ev.vr, v, shown, &cs[depth],
				    dcm_vr_info(ev.vr)->kind == DCM_VRK_STRING ? 0 : o->max_values, out);
			if (rc == 0 && cut && !(out->len >= 3 && memcmp(out->data + out->len - 3, "...", 3) == 0))
				rc = pv_buf_puts(out, "...");
			if (rc == 0 && ev.tag == DCM_TAG_SPECIFIC_CHARSET && ev.value != NULL)
				(void)dcm_charset_parse(ev.value, ev.length, &cs[depth]);
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = put_tail(out, ev.length,
				    v == ev.value ? dcm_value_vm(ev.vr, v, shown) : 1, keyword_of(ev.tag));
			break;
		}
		case DCM_EV_SEQ_BEGIN:
			indent = 4 * depth;
			start = line_begin(out, indent, &rc);
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			if (rc == 0) {
				char h[15];
				tag_text(h, ev.tag);
				memcpy(h + 12, ev.encapsulated ? dcm_vr_name(ev.vr) : "SQ", 2);
				h[14] = ' ';
				rc = pv_buf_append(out, h, sizeof(h));
			}
			if (rc == 0)
				rc = pv_buf_puts(out, ev.encapsulated ? "(PixelSequence)" :
				    ev.length == DCM_UNDEFINED_LENGTH ? "(Sequence with undefined length)" :
				    "(Sequence with explicit length)");
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = put_tail(out, ev.length, 1, keyword_of(ev.tag));
			break;
		case DCM_EV_SEQ_END:
			if (ev.defined_length)
				continue;
			indent = 4 * depth;
			start = line_begin(out, indent, &rc);
			if (rc == 0)
				rc = pv_buf_puts(out, "(fffe,e0dd) na (SequenceDelimitationItem)");
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = pv_buf_puts(out, "#   0, 0 SequenceDelimitationItem");
			break;
		case DCM_EV_ITEM_BEGIN:
			if (depth < 129)
				cs[depth] = cs[depth - 1];
			indent = 4 * depth - 2;
			start = line_begin(out, indent, &rc);
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			if (rc == 0)
				rc = pv_buf_puts(out, ev.defined_length ? "(fffe,e000) na (Item with explicit length)" :
				    "(fffe,e000) na (Item with undefined length)");
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = put_tail(out, ev.length, 1, "Item");
			break;
		case DCM_EV_ITEM_END:
			if (ev.defined_length)
				continue;
			indent = 4 * depth - 2;
			start = line_begin(out, indent, &rc);
			if (rc == 0)
				rc = pv_buf_puts(out, "(fffe,e00d) na (ItemDelimitationItem)");
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = pv_buf_puts(out, "#   0, 0 ItemDelimitationItem");
			break;
		case DCM_EV_FRAGMENT: {
			uint32_t want = ev.length < 16 ? ev.length : 16;
			indent = 4 * depth - 2;
			start = line_begin(out, indent, &rc);
			if (rc == 0)
				rc = pv_buf_puts(out, "(fffe,e000) pi ");
			if (rc == 0 && dcm_reader_pread(r, ev.value_offset, peek, want) != 0)
				rc = pv_diag_set(d, PV_ETRUNC, (int64_t)ev.value_offset, "fragment cut short");
			if (rc == 0)
				rc = dcm_value_format(DCM_VR_OB, peek, want, &cs[0], 0, out);
			if (rc == 0 && want < ev.length)
				rc = pv_buf_puts(out, "...");
			len_text(lenbuf, sizeof(lenbuf), ev.length);
			if (rc == 0)
				rc = line_pad(out, start, indent);
			if (rc == 0)
				rc = pv_buf_printf(out, "# %s, 1 Item", lenbuf);
			break;
		}
		default:
			continue;
		}
		if (rc == 0)
			rc = pv_buf_putc(out, '\n');
		if (rc != 0)
			break;
	}
	drain_warnings(r, file, warn);
	if (rc > 0)
		rc = 0;
	if (rc < 0 && d->code == 0)
		pv_diag_set(d, rc, -1, "%s", pv_strerror(rc));
	return rc;
}

static void
dump_one(void *arg, size_t k, unsigned worker)
{
	struct dump_ctx *ctx = arg;
	const struct dump_opts *o = ctx->o;
	struct dump_job *j = &ctx->jobs[k];
	struct dcm_reader *r = NULL;
	struct dcm_reader_opts ro;
	int rc;

	(void)worker;
	pv_diag_clear(&j->d);
	pv_buf_init(&j->out, DUMP_OUT_MAX);
	pv_buf_init(&j->warn, 1 << 20);
	dcm_reader_opts_default(&ro);
	if (o->json)
		ro.inline_max = o->inline_max;
	rc = dcm_reader_open(j->path, &ro, &r, &j->d);
	if (rc == 0) {
		if (o->json) {
			struct dcm_file *f = NULL;
			rc = dcm_file_read(r, &f, &j->d);
			r = NULL; /* owned by f now, or freed */
			if (rc == 0)
				rc = dcm_json_write_file(f, j->path, o->inline_max, &j->out, &j->d);
			dcm_file_free(f);
		} else {
			if (ctx->multi)
				rc = pv_buf_printf(&j->out, "%s# File: %s\n", j->first ? "" : "\n", j->path);
			if (rc == 0)
				rc = dump_text(r, j->path, o, &j->out, &j->warn, &j->d);
		}
	}
	dcm_reader_free(r);
	j->rc = rc;
	pthread_mutex_lock(&ctx->lock);
	j->done = 1;
	while (ctx->next < ctx->njobs && ctx->jobs[ctx->next].done)
		dump_emit(ctx, &ctx->jobs[ctx->next++]);
	pthread_mutex_unlock(&ctx->lock);
}

/* Prints one finished job (under ctx->lock) and frees its buffers. */
static void
dump_emit(struct dump_ctx *ctx, struct dump_job *j)
{
	const struct dump_opts *o = ctx->o;

	if (j->warn.len > 0 || j->rc != 0)
		fflush(stdout); /* keep stdout and stderr in order */
	if (j->warn.len > 0)
		fwrite(j->warn.data, 1, j->warn.len, stderr);
	if (j->rc != 0) {
		ctx->failed = 1;
		app_report("dump", j->path, &j->d);
	}
	if (j->rc == 0 || (o->partial && !o->json)) {
		if (o->json && ctx->multi && ctx->emitted > 0)
			fputs(",\n", stdout);
		fwrite(j->out.data ? j->out.data : "", 1, j->out.len, stdout);
		ctx->emitted++;
	}
	pv_buf_free(&j->out);
	pv_buf_free(&j->warn);
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
		{ "jobs", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts o = { 0, 0, 0, 16, 256, 0 };
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
		case 'J':
			o.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.jobs > 256)
				return app_usage_error("dump", "--jobs wants a number of threads up to 256 (0 = all CPUs)");
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
	{
		/* glibc ignores the size when it allocates the buffer itself (it
		 * takes st_blksize, 4 KiB for a pipe or /dev/null): give it one. */
		static char outbuf[1 << 20];
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	}
	{
		struct dump_ctx ctx;
		size_t nfiles = (size_t)(argc - optind);

		memset(&ctx, 0, sizeof(ctx));
		ctx.o = &o;
		ctx.multi = nfiles > 1;
		ctx.njobs = nfiles;
		ctx.jobs = pv_calloc(nfiles, sizeof(*ctx.jobs));
		if (ctx.jobs == NULL || pthread_mutex_init(&ctx.lock, NULL) != 0) {
			free(ctx.jobs);
			fprintf(stderr, "pacsvault: dump: out of memory\n");
			return PV_EXIT_INTERNAL;
		}
		for (size_t k = 0; k < nfiles; k++) {
			ctx.jobs[k].path = argv[optind + (int)k];
			ctx.jobs[k].first = k == 0;
		}
		if (o.json && ctx.multi)
			fputs("[\n", stdout);
		if (pv_pool_for(o.jobs, nfiles, dump_one, &ctx) != 0) {
			fprintf(stderr, "pacsvault: dump: cannot start workers\n");
			return PV_EXIT_INTERNAL;
		}
		failed = ctx.failed;
		pthread_mutex_destroy(&ctx.lock);
		free(ctx.jobs);
	}
	if (o.json && argc - optind > 1)
		fputs("]\n", stdout);
	fflush(stdout);
	return failed ? PV_EXIT_FAIL : PV_EXIT_OK;
}
