/* cmd_deid.c: `pacsvault deid`: de-identify files and folders (PS3.15 Annex E). */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/crypto/cms.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/keyfile.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/gate.h"
#include "pacsvault/deid/pipeline.h"
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/deid/scan.h"
#include "pacsvault/deid/recipe.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/writer.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char deid_help[] =
"usage: pacsvault deid [OPTIONS] --key FILE INPUT... -o OUTDIR\n"
"\n"
"De-identifies DICOM files by the Application Level Confidentiality Profile\n"
"of PS3.15 Annex E (Table E.1-1, 2024c) at every depth of every sequence.\n"
"INPUT may be files or folders. Each output is named by its own pseudonymised\n"
"UIDs, OUTDIR/STUDY/SERIES/SOP.dcm (input file and folder names often carry\n"
"the patient's name or ID); --mirror names it by its input path instead.\n"
"UIDs and the patient's ID and name become pseudonyms keyed by the project\n"
"key: the same in every run. Private attributes are removed. Inputs are\n"
"never modified; each output is written atomically (complete or absent); a\n"
"file that cannot be read is reported and skipped, the rest of the batch\n"
"goes on; a file in a folder that is not DICOM at all (a README) is skipped\n"
"and counted. Pixel data is copied, not decoded, unless --clean-pixel-data\n"
"cleans the file. Before an output is written, deid checks it with the\n"
"scanner's detectors (national IDs,\n"
"phones, e-mail, names, institutions, ages over 89, dates in text, every\n"
"identifying value of the original, and text left in cleaned pixels): a\n"
"file with a finding is held back like one with burned-in text.\n"
"\n"
"Options:\n"
"  -o, --output DIR                  where to write (created; must not be inside an input)\n"
"  --mirror                          name outputs after the inputs' paths under OUTDIR\n"
"                                    (they may carry patients' names: check them)\n"
"  -k, --key FILE                    the project key (make one: pacsvault keygen -o FILE)\n"
"  --retain-safe-private             keep the safe private attributes of PS3.15 E.3.10-1\n"
"  --retain-uids                     keep UIDs\n"
"  --retain-device-identity          keep device names and serial numbers\n"
"  --retain-institution-identity     keep institution names and addresses\n"
"  --retain-patient-characteristics  keep sex, age, size, weight... (ages over 89: 090Y)\n"
"  --retain-full-dates               keep dates and times\n"
"  --retain-modified-dates           shift every date of a patient by one keyed offset\n"
"  --clean-descriptors               keep descriptions with identifiers redacted\n"
"  --clean-structured-content        keep SR content with identifiers redacted\n"
"  --clean-graphics                  keep graphic annotations and overlay planes, the\n"
"                                    text in them cleaned (a plane with text left goes)\n"
"  --clean-pixel-data                overwrite burned-in text in the stored pixels of\n"
"                                    every frame where a pixel rule says it is\n"
"                                    (uncompressed, RLE, JPEG lossless, JPEG baseline\n"
"                                    and extended 8/12-bit, JPEG-LS, JPEG 2000 in the\n"
"                                    file's own transfer syntax; HTJ2K written as JPEG\n"
"                                    2000 lossless); BurnedInAnnotation becomes NO\n"
"  --pixel-rules FILE                site pixel rules (format in docs/DEID.md), used\n"
"                                    with the built-in ones\n"
"  --no-builtin-rules                only the rules of --pixel-rules\n"
"                                    A file that may carry burned-in text and that\n"
"                                    no rule covers: the text the detector and OCR\n"
"                                    (pacsvault-ocr, Tesseract, sandboxed) find is\n"
"                                    blanked with a margin and they look again; it\n"
"                                    is written only when nothing is left\n"
"  --no-ocr                          no OCR: such files go to quarantine\n"
"  -j, --jobs N                      worker threads (default 0: one per CPU)\n"
"  --recipe FILE                     site overrides: keep, remove, empty or replace\n"
"                                    by tag, mask, keyword or private creator\n"
"                                    (format in docs/DEID.md); errors name the line\n"
"  --reid-cert CERT.pem              keep the original values of everything changed,\n"
"                                    encrypted for this certificate's key, in the\n"
"                                    Encrypted Attributes Sequence (PS3.15 E.1.2);\n"
"                                    'pacsvault reid' restores them\n"
"  --quarantine DIR                  where files that may carry burned-in text go\n"
"                                    (BurnedInAnnotation YES; US, XA, OT, SC; screen\n"
"                                    captures) when no pixel rule cleans them, or\n"
"                                    their compression cannot be cleaned, and files\n"
"                                    the output check holds back: header\n"
"                                    de-identified, never in OUTDIR\n"
"  --no-verify                       UNSAFE: no output check; an identifier the\n"
"                                    profile misses is written\n"
"  --report FILE                     one JSON line per file: the action on each\n"
"                                    tag path, counts, errors; never a value\n"
"  --sync                            make every output durable (one syncfs of the\n"
"                                    output's file system) before reporting success;\n"
"                                    without it outputs are left to the kernel's\n"
"                                    writeback, as cp leaves them\n"
"  -q, --quiet                       no progress bar and no summary\n"
"  -h, --help                        this text\n"
"\n"
"Exit status: 0 when every file was de-identified, 1 when any could not be\n"
"(each is reported with its byte offset and tag path) or was held back for\n"
"burned-in text or by the output check (the kind and tag path of what it\n"
"found, never the value), 2 on bad usage.\n";

struct job {
	char *in;        /* input path (or, from a vault, the name shown) */
	size_t index;    /* position in the source (deid_source) */
	struct pv_buf mem;  /* the decrypted input, when it comes from a vault */
	char *out;       /* output path */
	char *out_main;  /* the path under OUTDIR when out was moved to the quarantine (owned), or NULL */
	int rc;
	int quarantined; /* may carry burned-in text, or the output check found something: not under OUTDIR */
	int gated;       /* held back by the output check */
	int walked;      /* found in a folder: a file that is not DICOM is skipped */
	int not_dicom;   /* skipped: not a DICOM file (a README beside the images) */
	int dicomdir;    /* skipped: a DICOMDIR (Media Storage Directory) */
	int in_quarantine; /* out points into the quarantine folder */
	int named;       /* out was named by the output's UIDs */
	char reason[320];
	struct pv_diag d;
	struct deid_counts counts;
	struct pv_buf report;
	uint64_t bytes;
	const char *pix_rule;          /* the pixel rule that cleaned it, or NULL */
	uint64_t unused_bits;          /* samples whose unused bits were cleared */
	struct pixclean_result pix;
};

struct run {
	struct deid_config cfg;
	const char *quarantine;  /* folder for files pixel cleaning would need, or NULL */
	int clean_pixels;        /* --clean-pixel-data */
	int no_ocr;              /* --no-ocr: no rule, no cleaning */
	int no_verify;           /* --no-verify: no output check (unsafe) */
	int mirror;              /* --mirror: outputs named after the inputs' paths, not their UIDs */
	pthread_mutex_t names_lock;
	uint64_t *names;         /* hashes of the UID-named outputs of this run (open addressing) */
	size_t nnames, capnames;
	const struct pixrules *rules;
	size_t out_prefix;       /* length of the resolved OUTDIR in job->out */
	char out_root[PATH_MAX]; /* the resolved OUTDIR: every output folder lies under it */
	struct job *jobs;
	size_t njobs;
	int want_report;
	struct app_progress pg;
	const struct deid_source *src;   /* inputs from a vault, or NULL: files */
	char *made[256];                 /* per worker: the output folder made last */
};

/*
 * Makes dir (and its parents) unless this worker made it last, and checks
 * that it lies under root once links are resolved: a symbolic link planted
 * inside the output folder must not send outputs elsewhere (issue #15).
 */
static int
make_out_dir(struct run *r, unsigned worker, const char *dir, const char *root)
{
	char **last = worker < sizeof(r->made) / sizeof(r->made[0]) ? &r->made[worker] : NULL;
	char part[PATH_MAX];
	size_t rl = strlen(root), n = strlen(dir);

	if (last != NULL && *last != NULL && strcmp(*last, dir) == 0)
		return 0;
	if (pv_mkdir_p(dir, 0755) != 0)
		return PV_EIO;
	/* root is a resolved path: no component below it may be a symbolic link
	 * (one lstat per component, cheaper than resolving the whole path) */
	if (strncmp(dir, root, rl) != 0 || (dir[rl] != '\0' && dir[rl] != '/') || n >= sizeof(part))
		return PV_EINVAL;
	memcpy(part, dir, n + 1);
	for (size_t k = rl + 1; k <= n; k++) {
		struct stat st;
		if (k < n && part[k] != '/')
			continue;
		part[k] = '\0';
		if (lstat(part, &st) != 0 || !S_ISDIR(st.st_mode))
			return PV_EINVAL;
		if (k < n)
			part[k] = '/';
	}
	if (last != NULL) {
		free(*last);
		*last = pv_strdup(dir);  /* NULL on no memory: made again next time */
	}
	return 0;
}

/* A Media Storage Directory (DICOMDIR, PS3.10 7.2): by its SOP class in the meta or the data set. */
static int
is_dicomdir(struct dcm_file *f)
{
	static const char dicomdir[] = "1.2.840.10008.1.3.10";
	char v[72];

	return (dcm_ds_get_str(f, &f->meta, DCM_TAG_MEDIA_SOP_CLASS, v, sizeof(v)) == 0 && strcmp(v, dicomdir) == 0) ||
	    (dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_CLASS_UID, v, sizeof(v)) == 0 && strcmp(v, dicomdir) == 0) ||
	    dcm_ds_find(&f->ds, 0x00041220u) != NULL;  /* Directory Record Sequence */
}

/* What the user can do about a held-back file (issue #15): the option that would handle it. */
static const char *
next_step(const struct run *r, const struct job *j)
{
	if (j->gated && strstr(j->reason, "burned-in-text") != NULL)
		return r->quarantine != NULL ? " (text the pixel rule missed: widen its rectangles)" :
		    " (text the pixel rule missed: widen its rectangles; --quarantine DIR keeps it for review)";
	if (j->gated)
		return r->quarantine != NULL ? " (review it there; a recipe can remove what was found)" :
		    " (--quarantine DIR keeps it for review; a recipe can remove what was found)";
	if (strstr(j->reason, "cannot be checked for comment") != NULL)
		return r->quarantine != NULL ? "" : " (--quarantine DIR keeps it for review)";
	if (!r->clean_pixels)
		return r->quarantine != NULL ? " (--clean-pixel-data cleans burned-in text)" :
		    " (--clean-pixel-data cleans burned-in text; --quarantine DIR keeps it for review)";
	if (strstr(j->reason, "no pixel rule matches") != NULL)
		return " (a rule for this kind of image in --pixel-rules FILE would clean it)";
	return r->quarantine != NULL ? "" : " (--quarantine DIR keeps it for review)";
}

/* 1 when u is a UID that can be a file name: digits and dots only, 1 to 64 characters. */
static int
uid_component(const char *u)
{
	size_t n = strlen(u);
	return n > 0 && n <= 64 && strspn(u, "0123456789.") == n && u[0] != '.';
}

/* Records an output name of this run; 0 when it was taken already. */
static int
name_claim(struct run *r, const char *path)
{
	uint64_t h = 1469598103934665603ull;
	int fresh = 1;

	for (const char *p = path; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	if (h == 0)
		h = 1;
	pthread_mutex_lock(&r->names_lock);
	if (r->nnames * 2 >= r->capnames) {
		size_t nc = r->capnames ? r->capnames * 2 : 1024;
		uint64_t *nn = pv_calloc(nc, sizeof(*nn));
		if (nn != NULL) {
			for (size_t i = 0; i < r->capnames; i++)
				if (r->names[i] != 0) {
					size_t k = r->names[i] & (nc - 1);
					while (nn[k] != 0)
						k = (k + 1) & (nc - 1);
					nn[k] = r->names[i];
				}
			free(r->names);
			r->names = nn;
			r->capnames = nc;
		}
	}
	if (r->capnames > 0) {
		size_t k = h & (r->capnames - 1);
		while (r->names[k] != 0 && r->names[k] != h)
			k = (k + 1) & (r->capnames - 1);
		if (r->names[k] == h) {
			fresh = 0;
		} else {
			r->names[k] = h;
			r->nnames++;
		}
	}
	pthread_mutex_unlock(&r->names_lock);
	return fresh;
}

/*
 * Names the output by its own (pseudonymised) UIDs, OUTDIR/STUDY/SERIES/
 * SOP.dcm, as export --deid does: input paths are often named after the
 * patient (a folder "Doe^John_12345", a file named by the original SOP
 * Instance UID) and must not reach the output (issue #15). --mirror keeps
 * the input's path instead.
 */
static void
name_by_uids(struct run *r, struct job *j, struct dcm_file *f)
{
	char st[72], se[72], so[72];
	char *main_path, *q;
	size_t n;

	/* A file without them (Type 1, but broken files exist) is still named
	 * without its path: the missing levels by a fixed word, a missing SOP
	 * Instance UID by a keyed hash of the input's path (nothing of it shows). */
	if (dcm_ds_get_str(f, &f->ds, 0x0020000du, st, sizeof(st)) != 0 || !uid_component(st))
		snprintf(st, sizeof(st), "no-study");
	if (dcm_ds_get_str(f, &f->ds, 0x0020000eu, se, sizeof(se)) != 0 || !uid_component(se))
		snprintf(se, sizeof(se), "no-series");
	if (dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_INSTANCE_UID, so, sizeof(so)) != 0 || !uid_component(so)) {
		uint8_t h[PV_SHA256_LEN];
		static const char hexd[] = "0123456789abcdef";
		if (pv_hmac_sha256_2(r->cfg.key, sizeof(r->cfg.key), "output-name", 11, j->in, strlen(j->in), h) != 0) {
			j->rc = pv_diag_set(&j->d, PV_EINTERNAL, -1, "cannot name the output");
			return;
		}
		memcpy(so, "no-uid-", 7);
		for (int k = 0; k < 16; k++) {
			so[7 + 2 * k] = hexd[h[k] >> 4];
			so[8 + 2 * k] = hexd[h[k] & 15];
		}
		so[39] = '\0';
	}
	n = strlen(r->out_root) + strlen(st) + strlen(se) + strlen(so) + 8;
	if ((main_path = malloc(n)) == NULL) {
		j->rc = pv_diag_set(&j->d, PV_ENOMEM, -1, "out of memory");
		return;
	}
	snprintf(main_path, n, "%s/%s/%s/%s.dcm", r->out_root, st, se, so);
	if (!name_claim(r, main_path)) {
		free(main_path);
		j->rc = pv_diag_set(&j->d, PV_EEXIST, -1, "another input of this run has the same SOP Instance UID: "
		    "not written");
		return;
	}
	j->named = 1;
	if (!j->in_quarantine) {
		free(j->out);
		j->out = main_path;
		return;
	}
	n = strlen(r->quarantine) + strlen(st) + strlen(se) + strlen(so) + 8;
	if ((q = malloc(n)) == NULL) {
		free(main_path);
		j->rc = pv_diag_set(&j->d, PV_ENOMEM, -1, "out of memory");
		return;
	}
	snprintf(q, n, "%s/%s/%s/%s.dcm", r->quarantine, st, se, so);
	free(j->out);
	j->out = q;
	free(j->out_main);
	j->out_main = main_path;  /* its name under OUTDIR: an earlier run's file there goes */
}

/*
 * A file held back (burned-in text no rule cleaned, or the output check
 * found something): never written under OUTDIR. With --quarantine its
 * de-identified header goes there instead, for a person to check.
 */
static void
quarantine_path(struct run *r, struct job *j)
{
	char *q;

	if (r->quarantine == NULL || j->in_quarantine)
		return;
	if ((q = malloc(strlen(r->quarantine) + strlen(j->out) + 2)) == NULL) {
		j->rc = pv_diag_set(&j->d, PV_ENOMEM, -1, "out of memory");
		return;
	}
	sprintf(q, "%s%s", r->quarantine, j->out + r->out_prefix);
	j->out_main = j->out;  /* its name under OUTDIR: an earlier run's file there goes */
	j->out = q;
	j->in_quarantine = 1;
}

static void
deid_one(void *arg, size_t i, unsigned worker)
{
	struct run *r = arg;
	struct job *j = &r->jobs[i];
	struct dcm_file *f = NULL;
	char *slash;

	pv_diag_clear(&j->d);
	pv_buf_init(&j->report, 1 << 24);
	if (r->src != NULL) {
		/* From the vault: decrypted into memory, never to a clear file. */
		struct dcm_reader *rd = NULL;

		pv_buf_init(&j->mem, (size_t)1 << 40);
		j->rc = r->src->load(r->src->ctx, j->index, &j->mem, &j->d);
		j->bytes = j->mem.len;
		if (j->rc == 0 && (j->rc = dcm_reader_open_mem(j->mem.data, j->mem.len, NULL, &rd, &j->d)) == 0)
			j->rc = dcm_file_read(rd, &f, &j->d);
	} else {
		j->rc = dcm_file_open(j->in, NULL, &f, &j->d);
		if (j->rc == 0)
			j->bytes = dcm_reader_size(f->src);
		if (j->rc == PV_ENOTDICOM && j->walked) {
			/* a README or index beside the images: no output, not a failure */
			j->rc = 0;
			j->not_dicom = 1;
			app_progress_tick(&r->pg, 0);
			return;
		}
		if (j->rc == 0 && is_dicomdir(f)) {
			/* A DICOMDIR's records name the original files, folders and patients;
			 * one for the output would have to be rebuilt from the outputs: skipped
			 * with a notice, never copied (issue #15). */
			j->dicomdir = 1;
			dcm_file_free(f);
			app_progress_tick(&r->pg, j->bytes);
			return;
		}
	}
	if (j->rc == 0) {
		/* The pipeline every way out shares (deid/pipeline.h). */
		struct deid_pipeline pl = { &r->cfg, r->rules, r->clean_pixels, r->no_ocr, r->no_verify };
		struct deid_outcome oc;

		j->rc = deid_process(&pl, f, &oc, r->want_report ? &j->report : NULL, &j->d);
		if (j->rc == 0) {
			j->counts = oc.counts;
			j->pix_rule = oc.pix_rule;
			j->pix = oc.pix;
			j->quarantined = oc.held;
			j->gated = oc.gated;
			snprintf(j->reason, sizeof(j->reason), "%s", oc.reason);
			if (j->quarantined)
				quarantine_path(r, j);
		}
	}
	if (j->rc == 0 && !r->mirror && r->src == NULL)
		name_by_uids(r, j, f);
	if (j->rc == 0 && j->quarantined && r->quarantine == NULL) {
		dcm_file_free(f);
		pv_buf_free_scrub(&j->mem);
		app_progress_tick(&r->pg, j->bytes);
		return;
	}
	if (j->rc == 0 && (slash = strrchr(j->out, '/')) != NULL) {
		*slash = '\0';
		int mrc = make_out_dir(r, worker, j->out, j->in_quarantine ? r->quarantine : r->out_root);
		if (mrc == PV_EINVAL)
			j->rc = pv_diag_set(&j->d, PV_EINVAL, -1, "a symbolic link in the output folder leads out of it: "
			    "not followed, nothing written");
		else if (mrc != 0)
			j->rc = pv_diag_set(&j->d, PV_EIO, -1, "cannot create the output folder");
		*slash = '/';
	}
	if (j->rc == 0)
		j->rc = dcm_write_path(f, NULL, j->out, 0644, 0, &j->d);
	if (j->rc == 0)
		j->unused_bits = f->pixfix.changed;
	dcm_file_free(f);
	pv_buf_free_scrub(&j->mem);
	app_progress_tick(&r->pg, j->bytes);
}

static int
load_rules(const char *path, int no_builtin, struct pixrules **out)
{
	struct pixrules *all = NULL, *site = NULL;
	struct pv_diag d;
	unsigned char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (no_builtin ? pixrules_parse("", 0, "none", &all, &d) != 0 : pixrules_builtin(&all) != 0)
		return PV_EXIT_INTERNAL;
	if (path == NULL) {
		*out = all;
		return PV_EXIT_OK;
	}
	pv_diag_clear(&d);
	if (pv_read_file(path, PIXRULES_MAX_TEXT, &text, &len, &d) != 0) {
		fprintf(stderr, "pacsvault: deid: %s: cannot read the pixel rules (at most %u bytes)\n", path,
		    PIXRULES_MAX_TEXT);
		rc = PV_EXIT_FAIL;
	} else if (pixrules_parse(text ? (const char *)text : "", len, path, &site, &d) != 0) {
		char msg[1024];
		pv_diag_format(&d, NULL, msg, sizeof(msg));
		fprintf(stderr, "pacsvault: deid: %s\n", msg);
		rc = PV_EXIT_FAIL;
	} else if (pixrules_merge(all, site) != 0) {
		rc = PV_EXIT_INTERNAL;
	} else {
		rc = PV_EXIT_OK;
	}
	free(text);
	pixrules_free(site);
	if (rc != PV_EXIT_OK) {
		pixrules_free(all);
		return rc;
	}
	*out = all;
	return PV_EXIT_OK;
}

int
cmd_deid(int argc, char **argv)
{
	return app_deid_run(argc, argv, NULL);
}

int
app_deid_run(int argc, char **argv, const struct deid_source *src)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "report", required_argument, NULL, 'R' },
		{ "recipe", required_argument, NULL, 'P' },
		{ "reid-cert", required_argument, NULL, 'C' },
		{ "quarantine", required_argument, NULL, 'Q' },
		{ "clean-pixel-data", no_argument, NULL, 'X' },
		{ "pixel-rules", required_argument, NULL, 'Y' },
		{ "no-builtin-rules", no_argument, NULL, 'Z' },
		{ "no-ocr", no_argument, NULL, 'W' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sync", no_argument, NULL, 'S' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "mirror", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		APP_DEID_PROFILE_OPTIONS
		{ NULL, 0, NULL, 0 },
	};
	const char *outdir = NULL, *keypath = NULL, *report_path = NULL, *recipe_path = NULL;
	const char *cert_path = NULL, *quarantine = NULL, *rules_path = NULL;
	struct pixrules *rules = NULL;
	int no_builtin = 0;
	char q_real[PATH_MAX];
	struct pv_cms_recipient *cert = NULL;
	struct deid_recipe recipe = { NULL, 0 };
	char out_real[PATH_MAX];
	unsigned jobs = 0;
	int c, quiet = 0, failed = 0, rc;
	size_t walk_failed = 0;
	int sync_out = 0;
	struct run r;
	struct pv_key key;
	struct pv_diag d;
	FILE *rep = NULL;
	char *end;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.names_lock, NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:k:j:qh", longopts, NULL)) != -1) {
		if (c >= 1000 && c < 1000 + DEID_OPT_COUNT) {
			r.cfg.opts |= DEID_OPT_BIT(c - 1000);
			continue;
		}
		switch (c) {
		case 'o': outdir = optarg; break;
		case 'k': keypath = optarg; break;
		case 'R': report_path = optarg; break;
		case 'P': recipe_path = optarg; break;
		case 'C': cert_path = optarg; break;
		case 'Q': quarantine = optarg; break;
		case 'X': r.clean_pixels = 1; break;
		case 'Y': rules_path = optarg; break;
		case 'Z': no_builtin = 1; break;
		case 'W': r.no_ocr = 1; break;
		case 'q': quiet = 1; break;
		case 'S': sync_out = 1; break;
		case 'V': r.no_verify = 1; break;
		case 'm': r.mirror = 1; break;
		case 'j':
			jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || jobs > 256)
				return app_usage_error("deid", "--jobs wants a number up to 256 (0 = all CPUs)");
			break;
		case 'h':
			fputs(deid_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("deid", "unknown option");
		}
	}
	if (outdir == NULL)
		return app_usage_error("deid", "-o OUTDIR is required");
	if (keypath == NULL)
		return app_usage_error("deid", "--key FILE is required (make one with: pacsvault keygen -o FILE)");
	if (src == NULL && optind >= argc)
		return app_usage_error("deid", "no inputs");
	if (src != NULL && optind != argc)
		return app_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if ((r.cfg.opts & DEID_OPT_BIT(DEID_OPT_FULL_DATES)) && (r.cfg.opts & DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)))
		return app_usage_error("deid", "--retain-full-dates and --retain-modified-dates exclude each other");
	if ((rules_path != NULL || no_builtin) && !r.clean_pixels)
		return app_usage_error("deid", "--pixel-rules and --no-builtin-rules go with --clean-pixel-data");
	if (r.clean_pixels) {
		/* libjpeg is loaded here, not for every deid (pacsvault/base/dynlib.h). */
		jpeg_load();
		if ((rc = load_rules(rules_path, no_builtin, &rules)) != PV_EXIT_OK)
			return rc;
		r.rules = rules;
	}
	pv_diag_clear(&d);
	if (pv_key_read(keypath, PV_KEY_PROJECT, &key, &d) != 0) {
		pixrules_free(rules);
		app_report("deid", keypath, &d);
		return PV_EXIT_FAIL;
	}
	memcpy(r.cfg.key, key.key, sizeof(r.cfg.key));
	pv_key_clear(&key);
	if (recipe_path != NULL) {
		pv_diag_clear(&d);
		if (deid_recipe_load(recipe_path, &recipe, &d) != 0) {
			char msg[1024];
			/* parse errors name "FILE:LINE:" already; others (a missing file) get the name here */
			pv_diag_format(&d, strncmp(d.msg, recipe_path, strlen(recipe_path)) == 0 ? NULL : recipe_path, msg,
			    sizeof(msg));
			fprintf(stderr, "pacsvault: deid: %s\n", msg);
			pv_cleanse(r.cfg.key, sizeof(r.cfg.key));
			return PV_EXIT_FAIL;
		}
		r.cfg.recipe = &recipe;
	}
	if (cert_path != NULL) {
		pv_diag_clear(&d);
		if (pv_cms_recipient_load(cert_path, &cert, &d) != 0) {
			app_report("deid", cert_path, &d);
			deid_recipe_free(&recipe);
			pv_cleanse(r.cfg.key, sizeof(r.cfg.key));
			return PV_EXIT_FAIL;
		}
		r.cfg.reid = cert;
	}
	r.src = src;
	if (src != NULL) {
		/* From a vault: named by the caller, under OUTDIR. */
		if (pv_mkdir_p(outdir, 0755) != 0 || realpath(outdir, out_real) == NULL) {
			fprintf(stderr, "pacsvault: export: %s: cannot create the output folder\n", outdir);
			rc = PV_EXIT_FAIL;
			goto done;
		}
		r.out_prefix = strlen(out_real);
		memcpy(r.out_root, out_real, r.out_prefix + 1);
		if (src->n > 0 && (r.jobs = pv_calloc(src->n, sizeof(*r.jobs))) == NULL) {
			rc = PV_EXIT_INTERNAL;
			goto done;
		}
		for (size_t i = 0; i < src->n; i++) {
			struct job *j = &r.jobs[i];

			j->index = i;
			j->in = strdup(src->names[i]);
			j->out = malloc(strlen(out_real) + strlen(src->names[i]) + 2);
			r.njobs = i + 1;
			if (j->in == NULL || j->out == NULL) {
				rc = PV_EXIT_INTERNAL;
				goto done;
			}
			sprintf(j->out, "%s/%s", out_real, src->names[i]);
		}
	} else {
		struct app_inputs ins = { NULL, 0, 0 };
		rc = app_inputs_collect(&ins, "deid", argv + optind, argc - optind, outdir, &failed);
		walk_failed = (size_t)failed;  /* inputs and folders that could not be read */
		/* The jobs take the listed paths over (no second copy). */
		if (rc == PV_EXIT_OK && ins.n > 0 && (r.jobs = pv_calloc(ins.n, sizeof(*r.jobs))) == NULL)
			rc = PV_EXIT_INTERNAL;
		for (size_t i = 0; rc == PV_EXIT_OK && i < ins.n; i++) {
			r.jobs[i].in = ins.v[i].in;
			r.jobs[i].out = ins.v[i].out;
			r.jobs[i].walked = ins.v[i].walked;
			ins.v[i].in = ins.v[i].out = NULL;
			r.njobs = i + 1;
		}
		app_inputs_free(&ins);
		if (rc != PV_EXIT_OK)
			goto done;
		if (realpath(outdir, out_real) == NULL) {
			rc = PV_EXIT_FAIL;
			goto done;
		}
		r.out_prefix = strlen(out_real);
		memcpy(r.out_root, out_real, r.out_prefix + 1);
	}
	if (quarantine != NULL) {
		size_t n;
		if (pv_mkdir_p(quarantine, 0700) != 0 || realpath(quarantine, q_real) == NULL) {
			fprintf(stderr, "pacsvault: deid: %s: cannot create the quarantine folder\n", quarantine);
			rc = PV_EXIT_FAIL;
			goto done;
		}
		n = strlen(out_real);
		if (strncmp(q_real, out_real, n) == 0 && (q_real[n] == '/' || q_real[n] == '\0')) {
			rc = app_usage_error("deid", "the quarantine must be outside the output folder");
			goto done;
		}
		r.quarantine = q_real;
	}
	if (report_path != NULL) {
		r.want_report = 1;
		if ((rep = fopen(report_path, "w")) == NULL) {
			fprintf(stderr, "pacsvault: deid: %s: cannot write the report\n", report_path);
			rc = PV_EXIT_FAIL;
			goto done;
		}
	}
	app_progress_start(&r.pg, !quiet && isatty(2), "deid", r.njobs);
	if (pv_pool_for(jobs, r.njobs, deid_one, &r) != 0) {
		rc = PV_EXIT_INTERNAL;
		goto done;
	}
	app_progress_end(&r.pg);
	/* Outputs were renamed into place without a per-file fsync. With
	 * --sync one syncfs makes them all durable before success is
	 * reported. Without it a crash before the kernel's writeback may leave
	 * outputs missing, empty or short; the inputs are untouched and a new
	 * run with the same key rewrites the same bytes (docs/DEID.md,
	 * "Durability"). */
	if (sync_out && pv_sync_fs(out_real) != 0) {
		fprintf(stderr, "pacsvault: deid: %s: cannot sync the output to disk\n", outdir);
		failed = 1;
	}
	{
		size_t ok = 0, nquar = 0, nskip = 0;
		for (size_t i = 0; i < r.njobs; i++) {
			struct job *j = &r.jobs[i];
			const char *mine = j->out_main != NULL ? j->out_main : j->out;
			struct stat ost;
			/* Held back, failed or skipped: no output of its name may stay under
			 * OUTDIR, such as an earlier run's (with other options) (issue #15). */
			if ((j->rc != 0 || j->quarantined || j->not_dicom || j->dicomdir) && mine != NULL && r.src == NULL &&
			    (r.mirror || j->named) &&
			    lstat(mine, &ost) == 0 && S_ISREG(ost.st_mode)) {
				if (unlink(mine) == 0)
					fprintf(stderr, "pacsvault: deid: %s: the output of an earlier run removed\n", mine);
				else
					fprintf(stderr, "pacsvault: deid: %s: an earlier run's output cannot be removed: %s\n",
					    mine, strerror(errno));
			}
			if (j->dicomdir)
				fprintf(stderr, "pacsvault: deid: %s: a DICOMDIR: not copied (its records name the original "
				    "files and patients); make one for the output with a DICOMDIR tool (dcmmkdir)\n", j->in);
			if (j->dicomdir || j->not_dicom)
				nskip++;
			else if (j->rc != 0) {
				failed = 1;
				app_report("deid", j->in, &j->d);
			} else if (j->quarantined) {
				failed = 1;
				nquar++;
				fprintf(stderr, "pacsvault: deid: %s: %s: %s%s\n", j->in,
				    r.quarantine ? "quarantined" : "not written", j->reason, next_step(&r, j));
			} else {
				ok++;
			}
			if (rep != NULL) {
				struct pv_buf line;
				struct pv_jw w;
				pv_buf_init(&line, (size_t)1 << 26);
				pv_jw_init(&w, &line, 0);
				pv_jw_begin_object(&w);
				pv_jw_key(&w, "file", 4);
				pv_jw_string(&w, j->in, strlen(j->in));
				pv_jw_key(&w, "status", 6);
				{
					const char *st = j->not_dicom ? "not-dicom" : j->dicomdir ? "dicomdir" : j->rc != 0 ?
					    "error" : j->quarantined ? (r.quarantine ? "quarantined" : "not-written") : "ok";
					pv_jw_string(&w, st, strlen(st));
				}
				if (j->rc == 0 && j->quarantined) {
					pv_jw_key(&w, "reason", 6);
					pv_jw_string(&w, j->reason, strlen(j->reason));
				}
				if (j->rc == 0 && !j->not_dicom && !j->dicomdir && j->out != NULL &&
				    (!j->quarantined || r.quarantine != NULL)) {
					/* where it went: named by its pseudonymised UIDs (or, --mirror, its path) */
					pv_jw_key(&w, "output", 6);
					pv_jw_string(&w, j->out, strlen(j->out));
				}
				if (j->not_dicom || j->dicomdir) {
					/* skipped: nothing was done to it */
				} else if (j->rc != 0) {
					char msg[1024];
					pv_diag_format(&j->d, NULL, msg, sizeof(msg));
					pv_jw_key(&w, "error", 5);
					pv_jw_string(&w, msg, strlen(msg));
				} else {
					char counts[320];
					int n = snprintf(counts, sizeof(counts),
					    "{\"removed\":%u,\"emptied\":%u,\"dummy\":%u,\"uids\":%u,\"cleaned\":%u,"
					    "\"shifted\":%u,\"kept_private\":%u,\"recipe\":%u,\"unused_bits\":%llu}",
					    j->counts.removed, j->counts.emptied, j->counts.dummied, j->counts.uids,
					    j->counts.cleaned, j->counts.shifted, j->counts.kept_private, j->counts.recipe,
					    (unsigned long long)j->unused_bits);
					pv_jw_key(&w, "counts", 6);
					pv_jw_raw(&w, counts, (size_t)n);
					if (j->pix_rule != NULL) {
						char px[256];
						int m = snprintf(px, sizeof(px),
						    "{\"rule\":\"%s\",\"codec\":\"%s\",\"frames\":%u,\"changed\":%llu}",
						    j->pix_rule, pix_codec_name(j->pix.codec), (unsigned)j->pix.frames,
						    (unsigned long long)j->pix.changed);
						pv_jw_key(&w, "pixels", 6);
						pv_jw_raw(&w, px, (size_t)m);
					}
					pv_jw_key(&w, "actions", 7);
					pv_jw_raw(&w, j->report.data ? j->report.data : "{}", j->report.data ? j->report.len : 2);
				}
				pv_jw_end_object(&w);
				if (w.err == 0)
					fprintf(rep, "%s\n", line.data);
				pv_buf_free(&line);
			}
		}
		if (!quiet) {
			double t = app_progress_seconds(&r.pg);
			fprintf(stderr, "pacsvault: deid: %zu of %zu files de-identified, %zu held back for"
			    " burned-in text or by the output check, %zu failed, %zu not DICOM or DICOMDIR (skipped),"
			    " %.1f MB in %.2f s (%.0f files/s)\n",
			    ok, r.njobs - nskip, nquar, r.njobs - ok - nquar - nskip + walk_failed, nskip,
			    (double)atomic_load(&r.pg.bytes) / 1048576.0, t,
			    t > 0 ? (double)r.njobs / t : 0.0);
		}
	}
	rc = failed ? PV_EXIT_FAIL : PV_EXIT_OK;
done:
	if (rep != NULL && fclose(rep) != 0)
		rc = PV_EXIT_FAIL;
	for (size_t i = 0; i < r.njobs; i++) {
		free(r.jobs[i].in);
		free(r.jobs[i].out);
		free(r.jobs[i].out_main);
		pv_buf_free(&r.jobs[i].report);
		pv_buf_free_scrub(&r.jobs[i].mem);
	}
	free(r.jobs);
	free(r.names);
	pthread_mutex_destroy(&r.names_lock);
	for (size_t i = 0; i < sizeof(r.made) / sizeof(r.made[0]); i++)
		free(r.made[i]);
	deid_recipe_free(&recipe);
	pv_cms_recipient_free(cert);
	pixrules_free(rules);
	pv_cleanse(r.cfg.key, sizeof(r.cfg.key));
	return rc;
}

