/*
 * cmd_vault.c: the vault commands: `vault init | rotate-key | fsck |
 * quarantine`, `import`, `find`, `get`, `rm` (docs/pacsvault.1).
 */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/store/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char vault_common_help[] =
"Common options:\n"
"  --vault DIR          the vault (default: $PACSVAULT_DIR, else ./vault)\n"
"  --master-key FILE    the master key when kept outside the vault\n"
"                       (default: $PACSVAULT_MASTER_KEY, else DIR/master.key)\n";

static const char vault_help[] =
"usage: pacsvault vault init [DIR] [--master-key FILE]\n"
"       pacsvault vault rotate-key [--new-master-key FILE]\n"
"       pacsvault vault fsck [--repair] [--json]\n"
"       pacsvault vault quarantine [--json]\n"
"\n"
"The encrypted vault (docs/FORMATS.md \"Vault\"): every instance sealed under\n"
"its own data key (AES-256-GCM, 64 KiB chunks), data keys wrapped by the\n"
"master key, an SQLite index whose patient values are sealed or keyed\n"
"hashes. A copied vault folder is unreadable without the master key.\n"
"\n"
"  init        create a vault: folders, a master key (inside as master.key,\n"
"              0600, or the file of --master-key: keep it elsewhere, the\n"
"              recommended setup; make one with 'pacsvault keygen --type\n"
"              master'), the sealed index key, the index, and an audit\n"
"              ledger with its signing key in DIR/ledger. Never overwrites.\n"
"  rotate-key  wrap every data key (and the index key) under a new master\n"
"              key, then drop the old wraps; no object body is rewritten.\n"
"              Resumable: after a crash run it again with the same\n"
"              arguments. Inside keys: the new key replaces master.key.\n"
"  fsck        open every object (every chunk, the content MAC), check the\n"
"              index, cross-check objects and index; lists orphans, missing\n"
"              and damaged objects and leftovers. --repair removes orphans\n"
"              (shredded), leftovers, rows of missing or shredded objects.\n"
"  quarantine  list the quarantined files with their reasons and paths.\n"
"\n"
"Exit status: 0 success (fsck: nothing wrong), 1 failure or problems found,\n"
"2 bad usage.\n";

static const char import_help[] =
"usage: pacsvault import [OPTIONS] PATH...\n"
"\n"
"Seals DICOM files (PATH: files or folders) into the vault. Each instance\n"
"is acknowledged only when its object and index row are on disk (one\n"
"syncfs and one index commit per batch). Same SOP Instance UID and same\n"
"bytes: stored once. Same UID, other bytes: a conflict, reported, the\n"
"stored one kept. Files that are not readable instances are sealed into\n"
"the quarantine with the reason ('pacsvault vault quarantine').\n"
"\n"
"Options:\n"
"  -j, --jobs N     worker threads (default 0: one per CPU)\n"
"  --batch N        files per durable batch (default 128)\n"
"  -v, --verbose    one line per file once it is durable: STATUS<TAB>PATH\n"
"  --json           the summary as JSON\n"
"  -q, --quiet      no progress bar and no summary\n"
"  -h, --help       this text\n"
"\n"
"Exit status: 0 all stored (or already there), 1 any conflict, quarantine\n"
"or failure, 2 bad usage.\n";

static const char find_help[] =
"usage: pacsvault find [OPTIONS] [KEY=VALUE]...\n"
"\n"
"C-FIND semantics (PS3.4 C.2.2.2) on the vault's index. KEY is a keyword\n"
"or GGGGEEEE. VALUE: empty (universal: return it), exact (PN ignores case\n"
"and trailing empty components), with * and ? wildcards, a UID list\n"
"(A\\B\\C), a date/time range (20200101-20201231, 0800-1200, -20200101).\n"
"Keys: PatientName PatientID IssuerOfPatientID PatientBirthDate PatientSex\n"
"NumberOfPatientRelatedStudies | StudyInstanceUID StudyDate StudyTime\n"
"AccessionNumber StudyID StudyDescription ReferringPhysicianName\n"
"ModalitiesInStudy NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances\n"
"| SeriesInstanceUID Modality SeriesNumber SeriesDescription SeriesDate\n"
"BodyPartExamined NumberOfSeriesRelatedInstances | SOPInstanceUID\n"
"SOPClassUID InstanceNumber. Exact PatientID, AccessionNumber and UIDs are\n"
"found through keyed blind indexes; the rest is matched on the opened\n"
"candidates.\n"
"\n"
"Options:\n"
"  -L, --level L    PATIENT, STUDY (default), SERIES or IMAGE\n"
"  --json           an array of objects, keyword: value\n"
"  -h, --help       this text\n"
"\n"
"Prints the keys given and the level's unique key, one row per match.\n"
"Exit status: 0 (also for no match), 1 failure, 2 bad usage.\n";

static const char get_help[] =
"usage: pacsvault get [OPTIONS] UID -o PATH\n"
"\n"
"Writes the exact bytes that were imported. UID is an instance (PATH is\n"
"the file), a series or a study (PATH is a folder: one SOPInstanceUID.dcm\n"
"per instance). Every chunk and the content MAC are checked; a file is\n"
"written atomically and only when all of it verified.\n"
"\n"
"Options:\n"
"  -o, --output PATH  where to write (required; '-' for standard output,\n"
"                     instances only, written after a full verification)\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 written, 1 not found or an integrity error, 2 bad usage.\n";

static const char rm_help[] =
"usage: pacsvault rm [OPTIONS] UID...\n"
"\n"
"Crypto-shreds instances (UID: an instance, a series or a study): each\n"
"object's wrapped data key is overwritten and synced, then its index rows\n"
"go, then the object file. Nothing can open the object afterwards, with\n"
"any key.\n"
"\n"
"Options:\n"
"  -h, --help       this text\n"
"\n"
"Exit status: 0 removed, 1 not found or failed, 2 bad usage.\n";

/* The vault folder and master key of the common options. */
struct vopts {
	const char *dir;
	const char *master;
};

static void
vopts_default(struct vopts *o)
{
	o->dir = getenv("PACSVAULT_DIR");
	if (o->dir == NULL || o->dir[0] == '\0')
		o->dir = "vault";
	o->master = getenv("PACSVAULT_MASTER_KEY");
	if (o->master != NULL && o->master[0] == '\0')
		o->master = NULL;
}

static int
open_vault(const char *cmd, const struct vopts *o, int writer, struct vault **v)
{
	struct pv_diag d;

	pv_diag_clear(&d);
	if (vault_open(o->dir, o->master, writer, v, &d) != 0) {
		app_report(cmd, o->dir, &d);
		return PV_EXIT_FAIL;
	}
	return PV_EXIT_OK;
}

/* ---- vault init / rotate-key / fsck / quarantine ---- */

static int
vault_init_cmd(const struct vopts *o, const char *dir)
{
	struct pv_diag d;
	struct lg_log *l = NULL;
	struct pv_buf vk;
	char id[9], ledger[PATH_MAX], origin[64];

	pv_diag_clear(&d);
	if (vault_create(dir, o->master, id, &d) != 0) {
		app_report("vault init", dir, &d);
		return PV_EXIT_FAIL;
	}
	snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
	snprintf(origin, sizeof(origin), "pacsvault.local/vault-%s", id);
	pv_buf_init(&vk, 4096);
	if (lg_log_create(ledger, origin, &d) != 0 || lg_log_open(ledger, &l, &d) != 0 || lg_log_vkey(l, &vk) != 0) {
		app_report("vault init", ledger, &d);
		lg_log_close(l);
		pv_buf_free(&vk);
		return PV_EXIT_FAIL;
	}
	lg_log_close(l);
	printf("created vault %s\n", dir);
	printf("master key %s: %s\n", id, o->master != NULL ? o->master : "inside (master.key, 0600); keep a "
	    "copy elsewhere, or use --master-key FILE");
	printf("ledger %s, verifier key: %.*s\n", ledger, (int)vk.len, vk.data);
	pv_buf_free(&vk);
	return PV_EXIT_OK;
}

struct rot_progress {
	struct app_progress pg;
	uint64_t last;
};

static void
rot_tick(void *ctx, uint64_t done, uint64_t total)
{
	struct rot_progress *p = ctx;

	if (p->pg.total == 0)
		p->pg.total = (size_t)total;
	(void)done;
	app_progress_tick(&p->pg, 0);
}

static int
vault_rotate_cmd(const struct vopts *o, const char *newkey)
{
	struct pv_diag d;
	struct rot_progress p;
	char id[9] = "";
	uint64_t n = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	app_progress_start(&p.pg, isatty(2), "rotate-key", 0);
	pv_diag_clear(&d);
	rc = vault_rotate_key(o->dir, o->master, newkey, rot_tick, &p, id, &n, &d);
	app_progress_end(&p.pg);
	if (rc != 0) {
		app_report("vault rotate-key", o->dir, &d);
		return PV_EXIT_FAIL;
	}
	printf("master key is now %s: %llu objects re-wrapped, old wraps dropped\n", id, (unsigned long long)n);
	return PV_EXIT_OK;
}

struct fsck_print {
	int json;
	struct pv_jw *w;
	uint64_t problems;
};

static void
fsck_report(void *ctx, const char *what, const char *objid, const struct pv_diag *d)
{
	struct fsck_print *p = ctx;

	p->problems++;
	if (p->json) {
		pv_jw_begin_object(p->w);
		pv_jw_key(p->w, "problem", 7);
		pv_jw_string(p->w, what, strlen(what));
		pv_jw_key(p->w, "object", 6);
		pv_jw_string(p->w, objid, strlen(objid));
		pv_jw_key(p->w, "error", 5);
		pv_jw_string(p->w, d->msg, strlen(d->msg));
		pv_jw_end_object(p->w);
		return;
	}
	printf("%s\t%s\t%s\n", what, objid, d->msg);
}

static int
vault_fsck_cmd(const struct vopts *o, int repair, int json)
{
	struct vault *v = NULL;
	struct vault_fsck r;
	struct fsck_print p;
	struct pv_buf out;
	struct pv_jw w;
	struct pv_diag d;
	int rc, ret;

	if ((rc = open_vault("vault fsck", o, repair, &v)) != PV_EXIT_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	pv_buf_init(&out, (size_t)1 << 30);
	pv_jw_init(&w, &out, 0);
	p.json = json;
	p.w = &w;
	if (json) {
		pv_jw_begin_object(&w);
		pv_jw_key(&w, "problems", 8);
		pv_jw_begin_array(&w);
	}
	pv_diag_clear(&d);
	rc = vault_fsck(v, repair, fsck_report, &p, &r, &d);
	vault_close(v);
	if (rc != 0) {
		pv_buf_free(&out);
		app_report("vault fsck", o->dir, &d);
		return PV_EXIT_FAIL;
	}
	ret = p.problems == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
	if (json) {
		char num[32];
		const struct { const char *k; uint64_t v; } f[] = {
			{ "instances", r.instances }, { "objects_ok", r.objects_ok }, { "bad", r.bad },
			{ "missing", r.missing }, { "orphans", r.orphans }, { "quarantined", r.quarantined },
			{ "temporaries", r.temporaries }, { "pruned_rows", r.pruned },
		};

		pv_jw_end_array(&w);
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			pv_jw_key(&w, f[i].k, strlen(f[i].k));
			snprintf(num, sizeof(num), "%llu", (unsigned long long)f[i].v);
			pv_jw_raw(&w, num, strlen(num));
		}
		pv_jw_key(&w, "repaired", 8);
		pv_jw_raw(&w, repair ? "true" : "false", repair ? 4 : 5);
		pv_jw_end_object(&w);
		fwrite(out.data, 1, out.len, stdout);
		putchar('\n');
	} else {
		printf("fsck: %llu instances, %llu objects verified, %llu damaged, %llu missing, %llu orphans, "
		    "%llu quarantined, %llu temporaries%s\n", (unsigned long long)r.instances,
		    (unsigned long long)r.objects_ok, (unsigned long long)r.bad, (unsigned long long)r.missing,
		    (unsigned long long)r.orphans, (unsigned long long)r.quarantined,
		    (unsigned long long)r.temporaries, repair ? " (repaired what could be)" : "");
	}
	pv_buf_free(&out);
	return ret;
}

struct qprint {
	int json;
	struct pv_jw *w;
	size_t n;
};

static int
qlist_print(void *ctx, const char *objid, uint64_t size, const char *reason, const char *path)
{
	struct qprint *p = ctx;

	p->n++;
	if (p->json) {
		char num[32];

		pv_jw_begin_object(p->w);
		pv_jw_key(p->w, "object", 6);
		pv_jw_string(p->w, objid, strlen(objid));
		pv_jw_key(p->w, "size", 4);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pv_jw_raw(p->w, num, strlen(num));
		pv_jw_key(p->w, "reason", 6);
		pv_jw_string(p->w, reason, strlen(reason));
		pv_jw_key(p->w, "path", 4);
		pv_jw_string(p->w, path, strlen(path));
		pv_jw_end_object(p->w);
	} else {
		printf("%s\t%llu\t%s\t%s\n", objid, (unsigned long long)size, path, reason);
	}
	return 0;
}

static int
vault_quarantine_cmd(const struct vopts *o, int json)
{
	struct vault *v = NULL;
	struct qprint p;
	struct pv_buf out;
	struct pv_jw w;
	struct pv_diag d;
	int rc;

	if ((rc = open_vault("vault quarantine", o, 0, &v)) != PV_EXIT_OK)
		return rc;
	pv_buf_init(&out, (size_t)1 << 30);
	pv_jw_init(&w, &out, 0);
	memset(&p, 0, sizeof(p));
	p.json = json;
	p.w = &w;
	if (json)
		pv_jw_begin_array(&w);
	pv_diag_clear(&d);
	rc = vault_quarantine_list(v, qlist_print, &p, &d);
	vault_close(v);
	if (rc != 0) {
		pv_buf_free(&out);
		app_report("vault quarantine", o->dir, &d);
		return PV_EXIT_FAIL;
	}
	if (json) {
		pv_jw_end_array(&w);
		fwrite(out.data, 1, out.len, stdout);
		putchar('\n');
	}
	pv_buf_free(&out);
	return PV_EXIT_OK;
}

int
cmd_vault(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "new-master-key", required_argument, NULL, 'N' },
		{ "repair", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	const char *sub, *newkey = NULL;
	int c, repair = 0, json = 0;

	vopts_default(&o);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(vault_help, argc < 2 ? stderr : stdout);
		fputs(vault_common_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'N': newkey = optarg; break;
		case 'R': repair = 1; break;
		case 'J': json = 1; break;
		case 'h':
			fputs(vault_help, stdout);
			fputs(vault_common_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("vault", "unknown option (see 'pacsvault vault --help')");
		}
	}
	if (strcmp(sub, "init") == 0) {
		if (argc - optind > 1)
			return app_usage_error("vault init", "one folder at most");
		return vault_init_cmd(&o, optind < argc ? argv[optind] : o.dir);
	}
	if (optind != argc)
		return app_usage_error("vault", "unexpected argument '%s'", argv[optind]);
	if (strcmp(sub, "rotate-key") == 0)
		return vault_rotate_cmd(&o, newkey);
	if (strcmp(sub, "fsck") == 0)
		return vault_fsck_cmd(&o, repair, json);
	if (strcmp(sub, "quarantine") == 0)
		return vault_quarantine_cmd(&o, json);
	return app_usage_error("vault", "unknown subcommand '%s' (init, rotate-key, fsck, quarantine)", sub);
}

/* ---- import ---- */

struct imp_job {
	char *path;
	int status;
	int acked;
	int rc;
	char reason[320];
	uint64_t bytes;
};

struct imp_run {
	struct vault *v;
	struct imp_job *jobs;
	size_t njobs;
	int verbose;
	struct app_progress pg;
};

static void
imp_ack(void *ctx, void *cookie, int status)
{
	struct imp_run *r = ctx;
	struct imp_job *j = cookie;

	j->acked = 1;
	if (r->verbose) {
		printf("%s\t%s\n", vault_status_name(status), j->path);
		fflush(stdout);
	}
}

static void
imp_one(void *arg, size_t i, unsigned worker)
{
	struct imp_run *r = arg;
	struct imp_job *j = &r->jobs[i];
	int st;

	(void)worker;
	j->rc = vault_import_file(r->v, j->path, j, &st, j->reason, sizeof(j->reason), &j->bytes);
	j->status = st;
	if (r->verbose && (st == VAULT_DUPLICATE || st == VAULT_CONFLICT || st == VAULT_FAILED)) {
		printf("%s\t%s\n", vault_status_name(st), j->path);
		fflush(stdout);
	}
	app_progress_tick(&r->pg, j->bytes);
}

int
cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "batch", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct imp_run r;
	struct app_inputs ins = { NULL, 0, 0 };
	struct pv_diag d;
	unsigned jobs = 0;
	size_t batch = 128, counts[5] = { 0 };
	int c, quiet = 0, json = 0, failed = 0, rc;
	uint64_t bytes = 0;
	char *end;

	vopts_default(&o);
	memset(&r, 0, sizeof(r));
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'v': r.verbose = 1; break;
		case 'J': json = 1; break;
		case 'q': quiet = 1; break;
		case 'j':
			jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || jobs > 256)
				return app_usage_error("import", "--jobs wants a number up to 256 (0 = all CPUs)");
			break;
		case 'B':
			batch = strtoul(optarg, &end, 10);
			if (*end != '\0' || batch == 0 || batch > 100000)
				return app_usage_error("import", "--batch wants 1 to 100000");
			break;
		case 'h':
			fputs(import_help, stdout);
			fputs(vault_common_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("import", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("import", "no inputs");
	if ((rc = app_inputs_collect(&ins, "import", argv + optind, argc - optind, NULL, &failed)) != PV_EXIT_OK) {
		app_inputs_free(&ins);
		return rc;
	}
	if ((rc = open_vault("import", &o, 1, &r.v)) != PV_EXIT_OK) {
		app_inputs_free(&ins);
		return rc;
	}
	if (ins.n > 0 && (r.jobs = pv_calloc(ins.n, sizeof(*r.jobs))) == NULL) {
		vault_close(r.v);
		app_inputs_free(&ins);
		return PV_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < ins.n; i++)
		r.jobs[i].path = ins.v[i].in;
	r.njobs = ins.n;
	vault_import_batching(r.v, batch, imp_ack, &r);
	app_progress_start(&r.pg, !quiet && !r.verbose && isatty(2), "import", r.njobs);
	if (pv_pool_for(jobs, r.njobs, imp_one, &r) != 0) {
		rc = PV_EXIT_INTERNAL;
		goto done;
	}
	pv_diag_clear(&d);
	if (vault_import_flush(r.v, &d) != 0) {
		app_report("import", o.dir, &d);
		failed = 1;
	}
	app_progress_end(&r.pg);
	for (size_t i = 0; i < r.njobs; i++) {
		struct imp_job *j = &r.jobs[i];
		int st = j->status;

		/* Stored or quarantined but never acknowledged: its batch did not commit. */
		if ((st == VAULT_STORED || st == VAULT_QUARANTINED) && !j->acked)
			st = VAULT_FAILED;
		counts[st]++;
		bytes += j->bytes;
		if (st == VAULT_STORED || st == VAULT_DUPLICATE)
			continue;
		failed = 1;
		if (!quiet)
			fprintf(stderr, "pacsvault: import: %s: %s%s%s\n", j->path, vault_status_name(st),
			    j->reason[0] ? ": " : "", j->reason);
	}
	if (json) {
		printf("{\"files\":%zu,\"stored\":%zu,\"duplicates\":%zu,\"conflicts\":%zu,\"quarantined\":%zu,"
		    "\"failed\":%zu,\"bytes\":%llu,\"seconds\":%.3f}\n", r.njobs, counts[VAULT_STORED],
		    counts[VAULT_DUPLICATE], counts[VAULT_CONFLICT], counts[VAULT_QUARANTINED], counts[VAULT_FAILED],
		    (unsigned long long)bytes, app_progress_seconds(&r.pg));
	} else if (!quiet) {
		double t = app_progress_seconds(&r.pg);

		fprintf(stderr, "import: %zu files: %zu stored, %zu already there, %zu conflicts, %zu quarantined, "
		    "%zu failed; %.1f MB in %.2f s\n", r.njobs, counts[VAULT_STORED], counts[VAULT_DUPLICATE],
		    counts[VAULT_CONFLICT], counts[VAULT_QUARANTINED], counts[VAULT_FAILED], (double)bytes / 1e6, t);
	}
	rc = failed ? PV_EXIT_FAIL : PV_EXIT_OK;
done:
	vault_close(r.v);
	free(r.jobs);
	app_inputs_free(&ins);
	return rc;
}

/* ---- find ---- */

struct find_print {
	int json;
	struct pv_jw *w;
	const struct query_key *keys;
	size_t nkeys;
	int level;
	size_t rows;
};

/* The columns printed: the level's unique key, then the keys given (in order). */
static uint32_t
level_key(int level)
{
	static const uint32_t t[] = { 0x00100020u, 0x0020000du, 0x0020000eu, 0x00080018u };

	return t[level];
}

static const char *
match_value(const struct vault_match *m, uint32_t tag)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->tag[i] == tag)
			return m->value[i];
	return NULL;
}

static const char *
keyword_of(uint32_t tag)
{
	for (const struct query_attr *q = query_attrs; q->tag != 0; q++)
		if (q->tag == tag)
			return q->keyword;
	return "?";
}

static int
find_print_row(void *ctx, const struct vault_match *m)
{
	struct find_print *p = ctx;
	uint32_t cols[64];
	size_t nc = 0;

	cols[nc++] = level_key(p->level);
	for (size_t i = 0; i < p->nkeys && nc < 64; i++) {
		int dup = 0;

		for (size_t k = 0; k < nc; k++)
			dup |= cols[k] == p->keys[i].attr->tag;
		if (!dup)
			cols[nc++] = p->keys[i].attr->tag;
	}
	p->rows++;
	if (p->json) {
		pv_jw_begin_object(p->w);
		for (size_t i = 0; i < nc; i++) {
			const char *kw = keyword_of(cols[i]), *v = match_value(m, cols[i]);

			pv_jw_key(p->w, kw, strlen(kw));
			if (v == NULL)
				pv_jw_raw(p->w, "null", 4);
			else
				pv_jw_string(p->w, v, strlen(v));
		}
		pv_jw_end_object(p->w);
		return 0;
	}
	for (size_t i = 0; i < nc; i++) {
		const char *v = match_value(m, cols[i]);

		/* Values are the user's own data on their terminal; control characters are not. */
		for (const char *s = v != NULL ? v : ""; *s != '\0'; s++)
			putchar((unsigned char)*s < 0x20 ? '?' : *s);
		putchar(i + 1 < nc ? '\t' : '\n');
	}
	return 0;
}

int
cmd_find(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "level", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct vault *v = NULL;
	struct query_key *keys = NULL;
	struct find_print p;
	struct pv_buf out;
	struct pv_jw w;
	struct pv_diag d;
	size_t nkeys = 0;
	int c, level = QUERY_STUDY, json = 0, rc;

	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'J': json = 1; break;
		case 'L':
			if ((level = query_level_parse(optarg)) < 0)
				return app_usage_error("find", "--level is PATIENT, STUDY, SERIES or IMAGE");
			break;
		case 'h':
			fputs(find_help, stdout);
			fputs(vault_common_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("find", "unknown option");
		}
	}
	if (argc - optind > 64)
		return app_usage_error("find", "at most 64 keys");
	if (argc > optind && (keys = pv_calloc((size_t)(argc - optind), sizeof(*keys))) == NULL)
		return PV_EXIT_INTERNAL;
	for (int i = optind; i < argc; i++) {
		pv_diag_clear(&d);
		if (query_key_parse(argv[i], &keys[nkeys], &d) != 0) {
			query_key_free(&keys[nkeys]);
			for (size_t k = 0; k < nkeys; k++)
				query_key_free(&keys[k]);
			free(keys);
			return app_usage_error("find", "%s", d.msg);
		}
		nkeys++;
	}
	rc = open_vault("find", &o, 0, &v);
	if (rc == PV_EXIT_OK) {
		memset(&p, 0, sizeof(p));
		pv_buf_init(&out, (size_t)1 << 31);
		pv_jw_init(&w, &out, 0);
		p.json = json;
		p.w = &w;
		p.keys = keys;
		p.nkeys = nkeys;
		p.level = level;
		if (json)
			pv_jw_begin_array(&w);
		pv_diag_clear(&d);
		if (vault_find(v, level, keys, nkeys, find_print_row, &p, &d) != 0) {
			app_report("find", o.dir, &d);
			rc = d.code == PV_EINVAL ? PV_EXIT_USAGE : PV_EXIT_FAIL;
		} else if (json) {
			pv_jw_end_array(&w);
			fwrite(out.data, 1, out.len, stdout);
			putchar('\n');
		}
		pv_buf_free(&out);
		vault_close(v);
	}
	for (size_t k = 0; k < nkeys; k++)
		query_key_free(&keys[k]);
	free(keys);
	return rc;
}

/* ---- get ---- */

/* Verifies then writes an instance to stdout (two passes: nothing unverified reaches it). */
static int
get_stdout(struct vault *v, const struct vault_instance *in, struct pv_diag *d)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), rc;

	if (null < 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot open /dev/null");
	rc = vault_get(v, in, null, d);
	close(null);
	if (rc != 0)
		return rc;
	return vault_get(v, in, STDOUT_FILENO, d);
}

static int
get_file(struct vault *v, const struct vault_instance *in, const char *path, struct pv_diag *d)
{
	struct pv_atomic af;
	int rc;

	if ((rc = pv_atomic_open(&af, path, 0600, d)) != 0)
		return rc;
	if ((rc = vault_get(v, in, af.fd, d)) != 0) {
		pv_atomic_abort(&af);
		return rc;
	}
	return pv_atomic_commit(&af, d);
}

int
cmd_get(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct vault *v = NULL;
	struct vault_instance *ins = NULL;
	struct pv_diag d;
	const char *out = NULL;
	size_t n = 0;
	int c, level = 0, rc;

	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			fputs(get_help, stdout);
			fputs(vault_common_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("get", "unknown option");
		}
	}
	if (out == NULL || argc - optind != 1)
		return app_usage_error("get", "one UID and -o PATH");
	if ((rc = open_vault("get", &o, 0, &v)) != PV_EXIT_OK)
		return rc;
	pv_diag_clear(&d);
	if (vault_resolve(v, argv[optind], &ins, &n, &level, &d) != 0) {
		app_report("get", argv[optind], &d);
		vault_close(v);
		return PV_EXIT_FAIL;
	}
	rc = PV_EXIT_OK;
	if (level == QUERY_IMAGE) {
		pv_diag_clear(&d);
		if ((strcmp(out, "-") == 0 ? get_stdout(v, &ins[0], &d) : get_file(v, &ins[0], out, &d)) != 0) {
			app_report("get", argv[optind], &d);
			rc = PV_EXIT_FAIL;
		}
	} else if (strcmp(out, "-") == 0) {
		rc = app_usage_error("get", "a series or study goes to a folder, not standard output");
	} else if (pv_mkdir_p(out, 0700) != 0) {
		fprintf(stderr, "pacsvault: get: %s: cannot create the folder\n", out);
		rc = PV_EXIT_FAIL;
	} else {
		for (size_t i = 0; i < n; i++) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/%s.dcm", out, ins[i].sop_uid);
			pv_diag_clear(&d);
			if (get_file(v, &ins[i], path, &d) != 0) {
				app_report("get", path, &d);
				rc = PV_EXIT_FAIL;
			}
		}
		if (rc == PV_EXIT_OK)
			fprintf(stderr, "get: %zu instances of the %s written to %s\n", n,
			    level == QUERY_SERIES ? "series" : "study", out);
	}
	free(ins);
	vault_close(v);
	return rc;
}

/* ---- rm ---- */

int
cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct vault *v = NULL;
	struct pv_diag d;
	int c, rc = PV_EXIT_OK;
	size_t total = 0;

	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'h':
			fputs(rm_help, stdout);
			fputs(vault_common_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("rm", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("rm", "which UIDs?");
	if ((rc = open_vault("rm", &o, 1, &v)) != PV_EXIT_OK)
		return rc;
	for (int a = optind; a < argc; a++) {
		struct vault_instance *ins = NULL;
		size_t n = 0;
		int level = 0;

		pv_diag_clear(&d);
		if (vault_resolve(v, argv[a], &ins, &n, &level, &d) != 0) {
			app_report("rm", argv[a], &d);
			rc = PV_EXIT_FAIL;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			pv_diag_clear(&d);
			if (vault_rm(v, &ins[i], &d) != 0) {
				app_report("rm", argv[a], &d);
				rc = PV_EXIT_FAIL;
				continue;
			}
			total++;
		}
		free(ins);
	}
	vault_close(v);
	fprintf(stderr, "rm: %zu instances shredded\n", total);
	return rc;
}
