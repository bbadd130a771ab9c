/* cmd_scan.c: `pacsvault scan`: residual identifiers in files and folders. */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/png.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/deid/scan.h"
#include "pacsvault/dicom/dataset.h"

#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char scan_help[] =
"usage: pacsvault scan [OPTIONS] PATH...\n"
"\n"
"Looks for anything that could still identify a patient in DICOM files and\n"
"folders (all cores): values left in the identifying attributes of PS3.15\n"
"Table E.1-1 (the options a file declares are respected unless --strict),\n"
"national ID numbers (PRC resident ID with its check digit and birth date,\n"
"US SSN), phone numbers, e-mail addresses, dates, ages over 89, people's\n"
"names and institutions in any text value at any depth (English and\n"
"Chinese), free text the de-identification allow-list does not keep,\n"
"private elements that are not safe, UIDs not in the 2.25 form or with a\n"
"known organisation root, File Meta leaks, overlays and curves,\n"
"BurnedInAnnotation, and text-like regions in the pixels (5x7 bitmap fonts\n"
"and up, and words read by OCR, flagged when they match the file's own\n"
"name or IDs). OCR reads a frame only where text is likely: the detector\n"
"found text-like regions in it, or the image is of a kind that usually\n"
"carries text (US, XA, OT, SC, screen captures); CT and MR slices without\n"
"such regions are not read. File and folder names below the paths given\n"
"are checked like text (a folder named after a patient, a file named by\n"
"its original UID). Files in folders that are not DICOM at all\n"
"are skipped and counted. Each finding names the file, the tag path, the\n"
"kind and a masked excerpt, never the whole value.\n"
"\n"
"Options:\n"
"  --against PATH        also collect every identifying value of these\n"
"                        originals and search each file for them, element\n"
"                        by element and as raw bytes in UTF-8, the originals'\n"
"                        own encoding, Latin-1 and GB18030 (repeatable)\n"
"  --pattern NAME=REGEX  a site pattern (POSIX extended, case-insensitive)\n"
"                        searched in every text value (repeatable, up to 32)\n"
"  --strict              ignore the de-identification options a file declares\n"
"  --no-pixels           do not look for text in the pixels\n"
"  --no-ocr              look for text-like regions, but do not read them (OCR\n"
"                        runs Tesseract in the sandboxed helper pacsvault-ocr\n"
"                        on the first, middle and last frame)\n"
"  --json                one JSON object per file, then a summary object\n"
"  --html FILE           also a self-contained report page: findings by kind\n"
"                        and by file, text boxes drawn on a thumbnail of each\n"
"                        image where text was found\n"
"  -j, --jobs N          worker threads (default 0: one per CPU)\n"
"  -q, --quiet           no progress bar and no summary\n"
"  -h, --help            this text\n"
"\n"
"Exit status: 0 nothing found (every file read), 3 something identifying\n"
"found (also when some file could not be read), 1 nothing found but a file\n"
"could not be read, 2 bad usage.\n";

struct job {
	char *in;
	size_t rel;     /* in + rel: the names below what the user named (scanned like text) */
	int walked;     /* found in a folder: not DICOM means skipped */
	int rc;
	struct pv_diag d;
	struct scan_report rep;
};

struct run {
	struct scan_config cfg;
	struct job *jobs;
	size_t njobs;
	int progress;
	struct app_progress pg;
};

static void
scan_one(void *arg, size_t i, unsigned worker)
{
	struct run *r = arg;
	struct job *j = &r->jobs[i];
	struct dcm_file *f = NULL;
	struct scan_config cfg = r->cfg;
	unsigned char *raw = NULL;
	size_t rawlen = 0;

	(void)worker;
	pv_diag_clear(&j->d);
	j->rc = dcm_file_open(j->in, NULL, &f, &j->d);
	if (j->rc == 0 && cfg.against != NULL) {
		struct pv_diag rd;
		pv_diag_clear(&rd);
		if (pv_read_file(j->in, (size_t)1 << 31, &raw, &rawlen, &rd) == 0) {
			cfg.raw = raw;
			cfg.raw_len = rawlen;
		}
	}
	if (j->rc == 0)
		j->rc = scan_file(f, &cfg, &j->rep, &j->d);
	if (j->rc == 0)
		scan_names(j->in + j->rel, &cfg, &j->rep);
	free(raw);
	dcm_file_free(f);
	app_progress_tick(&r->pg, 0);
}

struct orig {
	struct run *r;
	struct app_inputs *in;
	struct scan_against *a;
	pthread_mutex_t lock;
	size_t failed;
};

static void
collect_one(void *arg, size_t i, unsigned worker)
{
	struct orig *o = arg;
	struct dcm_file *f = NULL;
	struct pv_diag d;

	(void)worker;
	pv_diag_clear(&d);
	if (dcm_file_open(o->in->v[i].in, NULL, &f, &d) != 0) {
		pthread_mutex_lock(&o->lock);
		o->failed++;
		pthread_mutex_unlock(&o->lock);
	} else {
		pthread_mutex_lock(&o->lock);
		if (scan_against_add_file(&o->a, f) != 0)
			o->failed++;
		pthread_mutex_unlock(&o->lock);
	}
	dcm_file_free(f);
	app_progress_tick(&o->r->pg, 0);
}

static void
print_text(const struct job *j)
{
	if (j->rc != 0) {
		app_report("scan", j->in, &j->d);
		return;
	}
	for (size_t k = 0; k < j->rep.n; k++) {
		const struct scan_finding *f = &j->rep.f[k];
		printf("%s: %s: %s: %s", j->in, scan_kind_name((enum scan_kind)f->kind), f->path, f->detail);
		if (f->kind == SCAN_BURNED_IN_TEXT)
			printf(": frame %u, box %u,%u %ux%u", f->frame + 1, f->box.x, f->box.y, f->box.w, f->box.h);
		if (f->excerpt[0] != '\0' && !(f->kind == SCAN_BURNED_IN_TEXT && f->detail[0] == 'a'))
			printf(": %s", f->excerpt);
		putchar('\n');
	}
	if (j->rep.dropped)
		printf("%s: and %zu findings more\n", j->in, j->rep.dropped);
}

static void
jw_uint(struct pv_jw *w, unsigned long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%llu", v);
	pv_jw_raw(w, b, (size_t)n);
}

static void
print_json(const struct job *j)
{
	struct pv_buf b;
	struct pv_jw w;

	pv_buf_init(&b, (size_t)1 << 26);
	pv_jw_init(&w, &b, 0);
	pv_jw_begin_object(&w);
	pv_jw_key(&w, "file", 4);
	pv_jw_string(&w, j->in, strlen(j->in));
	pv_jw_key(&w, "status", 6);
	{
		const char *st = j->rc != 0 ? "error" : j->rep.n ? "findings" : "clean";
		pv_jw_string(&w, st, strlen(st));
	}
	if (j->rc != 0) {
		char msg[1024];
		pv_diag_format(&j->d, NULL, msg, sizeof(msg));
		pv_jw_key(&w, "error", 5);
		pv_jw_string(&w, msg, strlen(msg));
	} else {
		pv_jw_key(&w, "findings", 8);
		pv_jw_begin_array(&w);
		for (size_t k = 0; k < j->rep.n; k++) {
			const struct scan_finding *f = &j->rep.f[k];
			const char *kn = scan_kind_name((enum scan_kind)f->kind);
			pv_jw_begin_object(&w);
			pv_jw_key(&w, "kind", 4);
			pv_jw_string(&w, kn, strlen(kn));
			pv_jw_key(&w, "path", 4);
			pv_jw_string(&w, f->path, strlen(f->path));
			pv_jw_key(&w, "detail", 6);
			pv_jw_string(&w, f->detail, strlen(f->detail));
			if (f->kind == SCAN_BURNED_IN_TEXT) {
				pv_jw_key(&w, "frame", 5);
				jw_uint(&w, f->frame);
				pv_jw_key(&w, "box", 3);
				pv_jw_begin_array(&w);
				jw_uint(&w, f->box.x);
				jw_uint(&w, f->box.y);
				jw_uint(&w, f->box.w);
				jw_uint(&w, f->box.h);
				pv_jw_end_array(&w);
			}
			pv_jw_key(&w, "excerpt", 7);
			pv_jw_string(&w, f->excerpt, strlen(f->excerpt));
			pv_jw_end_object(&w);
		}
		pv_jw_end_array(&w);
		pv_jw_key(&w, "more", 4);
		jw_uint(&w, j->rep.dropped);
		pv_jw_key(&w, "pixel_frames", 12);
		jw_uint(&w, j->rep.pixel_frames);
		pv_jw_key(&w, "ocr_frames", 10);
		jw_uint(&w, j->rep.ocr_frames);
		if (j->rep.pixel_note[0]) {
			pv_jw_key(&w, "pixel_note", 10);
			pv_jw_string(&w, j->rep.pixel_note, strlen(j->rep.pixel_note));
		}
	}
	pv_jw_end_object(&w);
	if (w.err == 0)
		printf("%s\n", b.data);
	pv_buf_free(&b);
}

/*
 * The file's path for a report that may be passed around: what the user
 * named as it is, and below it each folder or file name that carries an
 * identifier (a patient's name, an ID, an original UID) masked as values are.
 */
static void
html_path(FILE *f, const struct job *j)
{
	const char *rel = j->in + j->rel;
	size_t a = 0, n = strlen(rel), k = 0;
	char pre[PATH_MAX], comp[256], masked[256];

	snprintf(pre, sizeof(pre), "%.*s", (int)(j->rel < sizeof(pre) ? j->rel : sizeof(pre) - 1), j->in);
	html_escape(f, pre);
	for (size_t b = 0; b <= n; b++) {
		if (b < n && rel[b] != '/')
			continue;
		snprintf(comp, sizeof(comp), "%.*s", (int)(b - a < sizeof(comp) ? b - a : sizeof(comp) - 1), rel + a);
		if (k < 64 && (j->rep.name_flagged >> k & 1)) {
			scan_mask(comp, strlen(comp), masked, sizeof(masked));
			html_escape(f, masked);
		} else {
			html_escape(f, comp);
		}
		if (b < n)
			fputc('/', f);
		k++;
		a = b + 1;
	}
}

static int
write_html(const char *path, const struct run *r, const size_t *counts, size_t with, size_t total, size_t errors)
{
	FILE *f = fopen(path, "w");
	size_t thumbs = 0;

	if (f == NULL)
		return -1;
	html_head(f, "pacsvault scan report");
	fprintf(f, "<p><b>%zu</b> files, <b class=\"%s\">%zu</b> with findings, <b>%zu</b> findings, %zu unreadable.</p>\n",
	    r->njobs, with ? "bad" : "ok", with, total, errors);
	fputs("<h2>Findings by kind</h2>\n<table><tr><th>kind</th><th>findings</th><th>files</th></tr>\n", f);
	for (int k = 0; k < SCAN_KIND_COUNT; k++) {
		size_t files = 0;
		if (!counts[k])
			continue;
		for (size_t i = 0; i < r->njobs; i++) {
			int has = 0;
			for (size_t n = 0; n < r->jobs[i].rep.n && !has; n++)
				has = r->jobs[i].rep.f[n].kind == k;
			files += (size_t)has;
		}
		fprintf(f, "<tr><td><code>%s</code></td><td>%zu</td><td>%zu</td></tr>\n", scan_kind_name((enum scan_kind)k),
		    counts[k], files);
	}
	fputs("</table>\n<h2>Files</h2>\n<p class=\"muted\">Files with text in their pixels first.</p>\n", f);
	for (size_t pass = 0, i = 0; pass < 2; i = i + 1 < r->njobs ? i + 1 : (pass++, 0)) {
		const struct job *j = &r->jobs[i];
		if (r->njobs == 0)
			break;
		if (j->rc == 0 && j->rep.n == 0)
			continue;
		if ((pass == 0) != (j->rc == 0 && j->rep.thumb != NULL))
			continue;
		fputs("<div class=\"file\"><h3><code>", f);
		html_path(f, j);
		fputs("</code></h3>\n", f);
		if (j->rc != 0) {
			char msg[1024];
			pv_diag_format(&j->d, NULL, msg, sizeof(msg));
			fputs("<p class=\"bad\">unreadable: ", f);
			html_escape(f, msg);
			fputs("</p></div>\n", f);
			continue;
		}
		if (j->rep.thumb != NULL && thumbs < 500) {
			struct pv_buf png, b64;
			pv_buf_init(&png, (size_t)1 << 22);
			pv_buf_init(&b64, (size_t)1 << 23);
			/* The text areas are covered in the thumbnail: the report itself must not
			 * carry the burned-in identifiers (the red outlines show where they are). */
			for (size_t n = 0; n < j->rep.n; n++) {
				const struct scan_finding *sf = &j->rep.f[n];
				if (sf->kind != SCAN_BURNED_IN_TEXT || sf->frame != j->rep.thumb_frame || j->rep.img_w == 0)
					continue;
				uint32_t x0 = (uint32_t)((uint64_t)sf->box.x * j->rep.thumb_w / j->rep.img_w);
				uint32_t y0 = (uint32_t)((uint64_t)sf->box.y * j->rep.thumb_h / j->rep.img_h);
				uint32_t x1 = (uint32_t)(((uint64_t)sf->box.x + sf->box.w) * j->rep.thumb_w / j->rep.img_w + 1);
				uint32_t y1 = (uint32_t)(((uint64_t)sf->box.y + sf->box.h) * j->rep.thumb_h / j->rep.img_h + 1);
				for (uint32_t y = y0; y < y1 && y < j->rep.thumb_h; y++)
					for (uint32_t x = x0; x < x1 && x < j->rep.thumb_w; x++)
						j->rep.thumb[(size_t)y * j->rep.thumb_w + x] = (uint8_t)(((x + y) & 4) ? 96 : 160);
			}
			if (pv_png_grey(j->rep.thumb, j->rep.thumb_w, j->rep.thumb_h, &png) == 0 &&
			    pv_base64((const uint8_t *)png.data, png.len, &b64) == 0) {
				fprintf(f, "<div class=\"thumb\" style=\"width:%upx;height:%upx\"><img alt=\"frame %u\" width=\"%u\" "
				    "height=\"%u\" src=\"data:image/png;base64,%s\"><svg viewBox=\"0 0 %u %u\" "
				    "preserveAspectRatio=\"none\">", j->rep.thumb_w * 2, j->rep.thumb_h * 2, j->rep.thumb_frame + 1,
				    j->rep.thumb_w * 2, j->rep.thumb_h * 2, b64.data, j->rep.img_w, j->rep.img_h);
				for (size_t n = 0; n < j->rep.n; n++) {
					const struct scan_finding *sf = &j->rep.f[n];
					if (sf->kind == SCAN_BURNED_IN_TEXT && sf->frame == j->rep.thumb_frame)
						fprintf(f, "<rect class=\"box\" x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\"/>", sf->box.x,
						    sf->box.y, sf->box.w, sf->box.h);
				}
				fprintf(f, "</svg></div><p class=\"muted\">frame %u: text found (red boxes, covered here so that this "
				    "page holds no identifier)</p>\n",
				    j->rep.thumb_frame + 1);
				thumbs++;
			}
			pv_buf_free(&png);
			pv_buf_free(&b64);
		}
		fputs("<table><tr><th>kind</th><th>where</th><th>what</th><th>excerpt</th></tr>\n", f);
		for (size_t n = 0; n < j->rep.n; n++) {
			const struct scan_finding *sf = &j->rep.f[n];
			fprintf(f, "<tr><td><code>%s</code></td><td><code>", scan_kind_name((enum scan_kind)sf->kind));
			html_escape(f, sf->path);
			if (sf->kind == SCAN_BURNED_IN_TEXT)
				fprintf(f, " frame %u, %u,%u %ux%u", sf->frame + 1, sf->box.x, sf->box.y, sf->box.w, sf->box.h);
			fputs("</code></td><td>", f);
			html_escape(f, sf->detail);
			fputs("</td><td><code>", f);
			html_escape(f, sf->excerpt);
			fputs("</code></td></tr>\n", f);
		}
		fputs("</table>", f);
		if (j->rep.dropped)
			fprintf(f, "<p>and %zu findings more</p>", j->rep.dropped);
		fputs("</div>\n", f);
	}
	html_tail(f);
	return fclose(f) == 0 ? 0 : -1;
}

int
cmd_scan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "against", required_argument, NULL, 'A' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "strict", no_argument, NULL, 'S' },
		{ "no-pixels", no_argument, NULL, 'N' },
		{ "no-ocr", no_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'J' },
		{ "html", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r;
	struct scan_patterns *patterns = NULL;
	struct scan_against *against = NULL;
	char **against_paths = NULL;
	int nagainst = 0, json = 0, quiet = 0, c, failed = 0, rc = PV_EXIT_OK;
	const char *html_path = NULL;
	unsigned jobs = 0;
	struct pv_diag d;
	char *end;
	size_t counts[SCAN_KIND_COUNT] = { 0 }, with = 0, errors = 0, total = 0, not_dicom = 0;

	memset(&r, 0, sizeof(r));
	r.cfg.pixels = 1;
	r.cfg.ocr = 1;
	optind = 1;
	if ((against_paths = pv_calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return PV_EXIT_INTERNAL;
	while ((c = getopt_long(argc, argv, "j:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'A': against_paths[nagainst++] = optarg; break;
		case 'P':
			pv_diag_clear(&d);
			if (scan_patterns_add(&patterns, optarg, &d) != 0) {
				rc = app_usage_error("scan", "--pattern %s: %s", optarg, d.msg);
				goto done;
			}
			break;
		case 'S': r.cfg.strict = 1; break;
		case 'N': r.cfg.pixels = 0; break;
		case 'O': r.cfg.ocr = 0; break;
		case 'J': json = 1; break;
		case 'H': html_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'j':
			jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || jobs > 256) {
				rc = app_usage_error("scan", "--jobs wants a number up to 256 (0 = all CPUs)");
				goto done;
			}
			break;
		case 'h':
			fputs(scan_help, stdout);
			goto done;
		default:
			rc = app_usage_error("scan", "unknown option");
			goto done;
		}
	}
	if (optind >= argc) {
		rc = app_usage_error("scan", "no inputs");
		goto done;
	}
	r.cfg.patterns = patterns;
	r.cfg.thumbs = html_path != NULL;
	r.progress = !quiet && isatty(2);
	if (nagainst > 0) {
		struct app_inputs ins = { NULL, 0, 0 };
		struct orig o;
		int ofailed = 0;
		if ((rc = app_inputs_collect(&ins, "scan", against_paths, nagainst, NULL, &ofailed)) != PV_EXIT_OK ||
		    ofailed) {
			app_inputs_free(&ins);
			rc = rc == PV_EXIT_OK ? PV_EXIT_FAIL : rc;
			goto done;
		}
		memset(&o, 0, sizeof(o));
		o.r = &r;
		app_progress_start(&r.pg, r.progress, "originals", ins.n);
		o.in = &ins;
		pthread_mutex_init(&o.lock, NULL);
		if (pv_pool_for(jobs, ins.n, collect_one, &o) != 0 || scan_against_finish(o.a) != 0) {
			scan_against_free(o.a);
			app_inputs_free(&ins);
			rc = PV_EXIT_INTERNAL;
			goto done;
		}
		app_progress_end(&r.pg);
		if (!quiet)
			fprintf(stderr, "pacsvault: scan: %zu identifying values from %zu originals (%zu unreadable)\n",
			    scan_against_count(o.a), ins.n, o.failed);
		against = o.a;
		r.cfg.against = against;
		app_inputs_free(&ins);
	}
	{
		struct app_inputs ins = { NULL, 0, 0 };
		if ((rc = app_inputs_collect(&ins, "scan", argv + optind, argc - optind, NULL, &failed)) != PV_EXIT_OK) {
			app_inputs_free(&ins);
			goto done;
		}
		if (ins.n > 0 && (r.jobs = pv_calloc(ins.n, sizeof(*r.jobs))) == NULL) {
			app_inputs_free(&ins);
			rc = PV_EXIT_INTERNAL;
			goto done;
		}
		for (size_t i = 0; i < ins.n; i++) {
			r.jobs[i].in = ins.v[i].in;
			r.jobs[i].walked = ins.v[i].walked;
			r.jobs[i].rel = ins.v[i].rel;
			ins.v[i].in = NULL;
		}
		r.njobs = ins.n;
		app_inputs_free(&ins);
	}
	app_progress_start(&r.pg, r.progress, "scan", r.njobs);
	if (pv_pool_for(jobs, r.njobs, scan_one, &r) != 0) {
		rc = PV_EXIT_INTERNAL;
		goto done;
	}
	app_progress_end(&r.pg);
	for (size_t i = 0; i < r.njobs; i++) {
		struct job *j = &r.jobs[i];
		if (j->rc == PV_ENOTDICOM && j->walked) {
			not_dicom++;  /* a README or index beside the images: counted, not an error */
			continue;
		}
		if (json)
			print_json(j);
		else
			print_text(j);
		if (j->rc != 0) {
			errors++;
			continue;
		}
		if (j->rep.n)
			with++;
		total += j->rep.n + j->rep.dropped;
		for (size_t k = 0; k < j->rep.n; k++)
			counts[j->rep.f[k].kind]++;
	}
	if (json) {
		printf("{\"summary\":{\"files\":%zu,\"with_findings\":%zu,\"errors\":%zu,\"not_dicom\":%zu,"
		    "\"findings\":%zu,\"by_kind\":{", r.njobs - not_dicom, with, errors, not_dicom, total);
		for (int k = 0, first = 1; k < SCAN_KIND_COUNT; k++)
			if (counts[k]) {
				printf("%s\"%s\":%zu", first ? "" : ",", scan_kind_name((enum scan_kind)k), counts[k]);
				first = 0;
			}
		printf("}}}\n");
	}
	if (!quiet) {
		double t = app_progress_seconds(&r.pg);
		fprintf(stderr, "pacsvault: scan: %zu files, %zu with findings, %zu findings, %zu unreadable, "
		    "%zu not DICOM (skipped), %.2f s", r.njobs - not_dicom, with, total, errors + (size_t)failed, not_dicom, t);
		for (int k = 0; k < SCAN_KIND_COUNT; k++)
			if (counts[k])
				fprintf(stderr, "%s %s %zu", k ? "," : ";", scan_kind_name((enum scan_kind)k), counts[k]);
		fputc('\n', stderr);
	}
	if (html_path != NULL && write_html(html_path, &r, counts, with, total, errors) != 0) {
		fprintf(stderr, "pacsvault: scan: %s: cannot write the report\n", html_path);
		errors++;
	}
	/* a finding is the verdict that matters most; else a file that could not be read */
	rc = with ? PV_EXIT_FOUND : errors || failed ? PV_EXIT_FAIL : PV_EXIT_OK;
done:
	for (size_t i = 0; i < r.njobs; i++) {
		free(r.jobs[i].in);
		scan_report_free(&r.jobs[i].rep);
	}
	free(r.jobs);
	free(against_paths);
	scan_patterns_free(patterns);
	scan_against_free(against);
	return rc;
}
