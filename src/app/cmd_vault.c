/*
 * cmd_vault.c: the vault commands: `vault init | rotate-key | fsck |
 * quarantine`, `import`, `find`, `get`, `rm` (docs/pacsvault.1).
 */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/keyfile.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/svc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char app_vault_help[] =
"Common options:\n"
"  --vault DIR          the vault (default: $PACSVAULT_DIR, else ./vault)\n"
"  --master-key FILE    the master key when kept outside the vault\n"
"                       (default: $PACSVAULT_MASTER_KEY, else DIR/master.key)\n";

static const char vault_help[] =
"usage: pacsvault vault init [DIR] [--master-key FILE] [--checkpoint-copy FILE]\n"
"       pacsvault vault checkpoint-copy FILE|none\n"
"       pacsvault vault rotate-key [--new-master-key FILE]\n"
"       pacsvault vault fsck [--repair] [--json]\n"
"       pacsvault vault quarantine [list] [--json]\n"
"       pacsvault vault quarantine release OBJECT -o FILE\n"
"       pacsvault vault quarantine purge OBJECT... | --all\n"
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
"              ledger in DIR/ledger whose signing key is sealed under the\n"
"              master key (ledger.sign.pvo): every commit of audit events\n"
"              signs a checkpoint. --checkpoint-copy FILE (outside the\n"
"              vault folder) gets each new checkpoint appended, for\n"
"              'ledger verify --checkpoint FILE' and fsck. Never overwrites.\n"
"  checkpoint-copy  set (or, with 'none', clear) that file later.\n"
"  rotate-key  wrap every data key (and the index key) under a new master\n"
"              key, then drop the old wraps; no object body is rewritten.\n"
"              Resumable: after a crash run it again with the same\n"
"              arguments. Inside keys: the new key replaces master.key.\n"
"  fsck        open every object (every chunk, the content MAC), check the\n"
"              index, cross-check objects and index, verify the ledger (with\n"
"              the sealed signing key, against the checkpoint copy); lists\n"
"              orphans, missing and damaged objects, leftovers, a damaged\n"
"              audit trail. --repair removes orphans (shredded), leftovers,\n"
"              rows of missing or shredded objects.\n"
"  quarantine  list the quarantined files (object id, size, source path,\n"
"              reason). release writes one back out, byte for byte, to FILE\n"
"              (atomically, synced, never over an existing file), then\n"
"              shreds it from the vault: fix it and import it again. purge\n"
"              shreds quarantined files (--all: every one) as rm does.\n"
"\n"
"Vault commands wait for each other: readers (find, get, export, ledger,\n"
"quarantine list) run beside one writer (import, rm, rotate-key, fsck\n"
"--repair, quarantine release and purge); a writer waits while another\n"
"writes, and fsck waits for a still vault. A wait lasts at most\n"
"$PACSVAULT_WAIT seconds (default 60; 0: fail at once).\n"
"\n"
"Exit status: 0 success (fsck: nothing wrong), 1 failure or problems found,\n"
"2 bad usage.\n";

static const char import_help[] =
"usage: pacsvault import [OPTIONS] PATH...\n"
"       pacsvault import [OPTIONS] -\n"
"\n"
"Seals DICOM files (PATH: files or folders; '-': one instance read from\n"
"standard input, held in memory only, never written to a file in clear)\n"
"into the vault. Each instance\n"
"is acknowledged only when its object and index row are on disk (one\n"
"syncfs and one index commit per batch). Same SOP Instance UID and same\n"
"bytes: stored once. Same UID, other bytes: a conflict, reported, the\n"
"stored one kept. Files that are not readable instances are sealed into\n"
"the quarantine with the reason ('pacsvault vault quarantine'); files that\n"
"are not DICOM at all (a README, an index) are skipped and counted.\n"
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
"per instance). Every chunk and the index row are checked; a file is\n"
"written atomically and only when all of it verified. Like cp, get leaves\n"
"what it wrote to the kernel's writeback; 'pacsvault rm' syncs every file\n"
"system before it shreds anything, so a copy made by get survives the rm\n"
"of its source.\n"
"\n"
"Options:\n"
"  -o, --output PATH  where to write (required; '-' for standard output,\n"
"                     instances only, written after a full verification)\n"
"  --sync             make what was written durable before success is\n"
"                     reported (fsync, or one syncfs for a folder)\n"
"  -f, --force        replace files that exist (else an existing file is\n"
"                     never replaced: that instance fails, exit 1)\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 written, 1 not found or an integrity error, 2 bad usage.\n";

static const char rm_help[] =
"usage: pacsvault rm [OPTIONS] UID...\n"
"\n"
"Crypto-shreds instances (UID: an instance, a series or a study): each\n"
"object's wrapped data key is overwritten and synced, then its index rows\n"
"go, then the object file. Nothing can open the object afterwards, with\n"
"any key. Before the first shred, every file system is synced (sync(2)):\n"
"a copy made before rm started (get, export, cp) is on disk first.\n"
"\n"
"Options:\n"
"  -n, --dry-run    say how many instances each UID would shred; shred\n"
"                   nothing, change nothing\n"
"  -h, --help       this text\n"
"\n"
"Exit status: 0 removed (or, with --dry-run, every UID found), 1 not found\n"
"or failed, 2 bad usage.\n";

/* The command line's principal: the OS user, role operator, on this host. */
const struct svc_principal *
app_principal(const char *via)
{
	static struct svc_principal p;
	static char user[64], host[256];

	if (p.name == NULL) {
		struct passwd *pw = getpwuid(geteuid());

		if (pw != NULL)
			snprintf(user, sizeof(user), "%s", pw->pw_name);
		else
			snprintf(user, sizeof(user), "uid %u", (unsigned)geteuid());
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "localhost");
		p.name = user;
		p.role = SVC_OPERATOR;
		p.auth = "os-user";
		p.addr = host;
	}
	p.via = via;
	return &p;
}

void
vopts_default(struct vopts *o)
{
	o->dir = getenv("PACSVAULT_DIR");
	if (o->dir == NULL || o->dir[0] == '\0')
		o->dir = "vault";
	o->master = getenv("PACSVAULT_MASTER_KEY");
	if (o->master != NULL && o->master[0] == '\0')
		o->master = NULL;
}

/* The service over the vault of o (mode: VAULT_READ, VAULT_WRITE or VAULT_QUIET). */
int
open_svc(const char *cmd, const struct vopts *o, int mode, struct svc **s)
{
	struct pv_diag d;
	uint64_t placed, shredded;

	pv_diag_clear(&d);
	if (svc_open(o->dir, o->master, mode, s, &d) != 0) {
		app_report(cmd, o->dir, &d);
		return PV_EXIT_FAIL;
	}
	if (svc_settled(*s, &placed, &shredded))
		fprintf(stderr, "pacsvault: %s: an earlier import was interrupted: %llu of its objects "
		    "committed and now in place, %llu never acknowledged and shredded\n", cmd,
		    (unsigned long long)placed, (unsigned long long)shredded);
	return PV_EXIT_OK;
}

/* What a writer's open settled in tmp/ (an interrupted import), said once. */
static void
settled_notice(const char *cmd, struct svc *s)
{
	uint64_t placed, shredded;

	if (svc_settled(s, &placed, &shredded))
		fprintf(stderr, "pacsvault: %s: an earlier import was interrupted: %llu of its objects "
		    "committed and now in place, %llu never acknowledged and shredded\n", cmd,
		    (unsigned long long)placed, (unsigned long long)shredded);
}

/* ---- vault init / rotate-key / fsck / quarantine ---- */

static int
vault_init_cmd(const struct vopts *o, const char *dir, const char *copy)
{
	struct pv_diag d;
	struct pv_buf vk;
	char id[9], ledger[PATH_MAX];

	pv_diag_clear(&d);
	pv_buf_init(&vk, 4096);
	if (svc_vault_create(dir, o->master, copy, id, &vk, &d) != 0) {
		app_report("vault init", dir, &d);
		pv_buf_free(&vk);
		return PV_EXIT_FAIL;
	}
	snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
	printf("created vault %s\n", dir);
	printf("master key %s: %s\n", id, o->master != NULL ? o->master : "inside (master.key, 0600); keep a "
	    "copy elsewhere, or use --master-key FILE");
	if (o->master == NULL)
		fprintf(stderr, "pacsvault: vault init: WARNING: the master key is INSIDE the vault (%s/master.key): "
		    "anyone who copies the vault folder can open every object. Move it out (and pass --master-key "
		    "FILE or set PACSVAULT_MASTER_KEY), or create vaults with --master-key FILE "
		    "('pacsvault keygen --type master -o FILE' makes one).\n", dir);
	printf("ledger %s, verifier key: %.*s\n", ledger, (int)vk.len, vk.data);
	printf("ledger signing key: sealed under the master key (ledger.sign.pvo); every commit signs a "
	    "checkpoint%s%s\n", copy != NULL ? ", copied to " : "", copy != NULL ? copy : "");
	pv_buf_free(&vk);
	return PV_EXIT_OK;
}

static int
vault_copy_cmd(const struct vopts *o, const char *path)
{
	struct svc *svc = NULL;
	struct pv_diag d;
	int rc;

	if ((rc = open_svc("vault checkpoint-copy", o, VAULT_WRITE, &svc)) != PV_EXIT_OK)
		return rc;
	pv_diag_clear(&d);
	rc = svc_set_checkpoint_copy(svc, app_principal("pacsvault vault checkpoint-copy"),
	    strcmp(path, "none") == 0 ? NULL : path, &d);
	svc_close(svc);
	if (rc != 0) {
		app_report("vault checkpoint-copy", path, &d);
		return rc == PV_EINVAL ? PV_EXIT_USAGE : PV_EXIT_FAIL;
	}
	printf("checkpoint copy: %s\n", strcmp(path, "none") == 0 ? "none" : path);
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
	rc = svc_rotate_key(o->dir, o->master, newkey, app_principal("pacsvault vault rotate-key"), rot_tick, &p, id,
	    &n, &d);
	app_progress_end(&p.pg);
	if (rc != 0) {
		app_report("vault rotate-key", id[0] != '\0' ? "audit ledger" : o->dir, &d);
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
	struct svc *svc = NULL;
	struct vault_fsck r;
	struct fsck_print p;
	struct pv_buf out;
	struct pv_jw w;
	struct pv_diag d;
	int rc, ret;

	if ((rc = open_svc("vault fsck", o, repair ? VAULT_WRITE : VAULT_QUIET, &svc)) != PV_EXIT_OK)
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
	rc = svc_fsck(svc, app_principal("pacsvault vault fsck"), repair, fsck_report, &p, &r, &d);
	svc_close(svc);
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
		if (out.len > 0)
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

/* A listing built in out (a JSON array when json), printed whole once the command has succeeded. */
static void
print_listing(struct pv_buf *out, struct pv_jw *w, int json)
{
	if (json)
		pv_jw_end_array(w);
	if (out->len > 0)
		fwrite(out->data, 1, out->len, stdout);
	if (json)
		putchar('\n');
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
	} else if (pv_buf_printf(p->w->out, "%s\t%llu\t%s\t%s\n", objid, (unsigned long long)size, path,
	    reason) != 0) {
		return PV_ENOMEM;
	}
	return 0;
}

/* vault quarantine release OBJECT -o FILE: the original bytes out, then shredded inside. */
static int
vault_release_cmd(const struct vopts *o, const char *objid, const char *out)
{
	struct svc *svc = NULL;
	struct pv_atomic af;
	struct pv_diag d;
	int rc;

	if (out == NULL)
		return app_usage_error("vault quarantine release", "-o FILE is required");
	if ((rc = open_svc("vault quarantine release", o, VAULT_WRITE, &svc)) != PV_EXIT_OK)
		return rc;
	pv_diag_clear(&d);
	/* never over an existing file: the release is a copy of record */
	if (pv_atomic_open_new(&af, out, 0600, &d) != 0) {
		app_report("vault quarantine release", out, &d);
		svc_close(svc);
		return PV_EXIT_FAIL;
	}
	rc = svc_quarantine_release(svc, app_principal("pacsvault vault quarantine release"), objid, &af, &d);
	svc_close(svc);
	if (rc != 0) {
		app_report("vault quarantine release", d.code == PV_ENOTFOUND ? objid : NULL, &d);
		return PV_EXIT_FAIL;
	}
	fprintf(stderr, "pacsvault: vault quarantine release: %s written to %s and shredded from the vault\n", objid, out);
	return PV_EXIT_OK;
}

static void
purge_failed(void *ctx, const char *objid, const struct pv_diag *d)
{
	(*(size_t *)ctx)++;
	app_report("vault quarantine purge", objid, d);
}

/* vault quarantine purge OBJECT... | --all */
static int
vault_purge_cmd(const struct vopts *o, char **ids, int nids, int all)
{
	struct svc *svc = NULL;
	struct pv_diag d;
	size_t done = 0, failed = 0;
	int rc;

	if ((nids > 0) == all)
		return app_usage_error("vault quarantine purge", "object ids, or --all");
	if ((rc = open_svc("vault quarantine purge", o, VAULT_WRITE, &svc)) != PV_EXIT_OK)
		return rc;
	pv_diag_clear(&d);
	rc = svc_quarantine_purge(svc, app_principal("pacsvault vault quarantine purge"),
	    all ? NULL : (const char *const *)ids, all ? 0 : (size_t)nids, purge_failed, &failed, &done, &d);
	svc_close(svc);
	if (rc != 0 && failed == 0)   /* not one object's: the listing or the audit trail */
		app_report("vault quarantine purge", NULL, &d);
	fprintf(stderr, "pacsvault: vault quarantine purge: %zu shredded\n", done);
	return rc == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
}

static int
vault_quarantine_cmd(const struct vopts *o, int json)
{
	struct svc *svc = NULL;
	struct qprint p;
	struct pv_buf out;
	struct pv_jw w;
	struct pv_diag d;
	size_t n = 0;
	int rc;

	if ((rc = open_svc("vault quarantine", o, VAULT_READ, &svc)) != PV_EXIT_OK)
		return rc;
	pv_buf_init(&out, (size_t)1 << 30);
	pv_jw_init(&w, &out, 0);
	memset(&p, 0, sizeof(p));
	p.json = json;
	p.w = &w;
	if (json)
		pv_jw_begin_array(&w);
	pv_diag_clear(&d);
	rc = svc_quarantine_list(svc, app_principal("pacsvault vault quarantine"), qlist_print, &p, &n, &d);
	svc_close(svc);
	if (rc != 0) {
		pv_buf_free(&out);
		app_report("vault quarantine", o->dir, &d);
		return PV_EXIT_FAIL;
	}
	print_listing(&out, &w, json);
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
		{ "output", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'A' },
		{ "checkpoint-copy", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	const char *sub, *newkey = NULL, *out = NULL, *copy = NULL;
	int c, repair = 0, json = 0, all = 0;

	vopts_default(&o);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(vault_help, argc < 2 ? stderr : stdout);
		fputs(app_vault_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'N': newkey = optarg; break;
		case 'C': copy = optarg; break;
		case 'o': out = optarg; break;
		case 'A': all = 1; break;
		case 'R': repair = 1; break;
		case 'J': json = 1; break;
		case 'h':
			fputs(vault_help, stdout);
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("vault", "unknown option (see 'pacsvault vault --help')");
		}
	}
	if (strcmp(sub, "init") == 0) {
		if (argc - optind > 1)
			return app_usage_error("vault init", "one folder at most");
		return vault_init_cmd(&o, optind < argc ? argv[optind] : o.dir, copy);
	}
	if (copy != NULL)
		return app_usage_error("vault", "--checkpoint-copy belongs to 'vault init'");
	if (strcmp(sub, "checkpoint-copy") == 0) {
		if (argc - optind != 1)
			return app_usage_error("vault checkpoint-copy", "one FILE (or 'none')");
		return vault_copy_cmd(&o, argv[optind]);
	}
	if (strcmp(sub, "quarantine") == 0 && optind < argc && strcmp(argv[optind], "list") != 0) {
		const char *what = argv[optind++];

		if (strcmp(what, "release") == 0) {
			if (argc - optind != 1)
				return app_usage_error("vault quarantine release", "one object id and -o FILE");
			return vault_release_cmd(&o, argv[optind], out);
		}
		if (strcmp(what, "purge") == 0)
			return vault_purge_cmd(&o, argv + optind, argc - optind, all);
		return app_usage_error("vault quarantine", "unknown action '%s' (list, release, purge)", what);
	}
	if (strcmp(sub, "quarantine") == 0 && optind < argc)
		optind++;  /* list */
	if (out != NULL || all)
		return app_usage_error("vault", "-o and --all belong to 'vault quarantine release' and 'purge'");
	if (optind != argc)
		return app_usage_error("vault", "unexpected argument '%s'", argv[optind]);
	if (strcmp(sub, "rotate-key") == 0)
		return vault_rotate_cmd(&o, newkey);
	if (strcmp(sub, "fsck") == 0)
		return vault_fsck_cmd(&o, repair, json);
	if (strcmp(sub, "quarantine") == 0)
		return vault_quarantine_cmd(&o, json);
	return app_usage_error("vault", "unknown subcommand '%s' (init, rotate-key, fsck, quarantine, "
	    "checkpoint-copy)", sub);
}

/* ---- import ---- */

struct imp_job {
	char *path;
	int status;      /* what vault_import_file said */
	int acked;       /* its batch is durable (the vault's committer thread) */
	int ack_status;  /* then its final status */
	int rc;
	char reason[320];
	uint64_t bytes;
};

struct imp_run {
	struct svc *svc;
	const struct svc_principal *who;
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
	j->ack_status = status;
	if (status == VAULT_CONFLICT)  /* found at the commit: another file of this run came first */
		snprintf(j->reason, sizeof(j->reason), "another instance with this SOP Instance UID and other "
		    "bytes is stored: not replaced");
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
	if (strcmp(j->path, "-") == 0)
		/* Standard input: held in memory only (vault_import_fd), never spooled to a file. */
		j->rc = svc_ingest_fd(r->svc, r->who, STDIN_FILENO, "(standard input)", j, &st,
		    j->reason, sizeof(j->reason), &j->bytes);
	else
		j->rc = svc_ingest_file(r->svc, r->who, j->path, j, &st, j->reason,
		    sizeof(j->reason), &j->bytes);
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
	size_t batch = 128, counts[6] = { 0 };
	int c, quiet = 0, json = 0, failed = 0, rc;
	size_t walk_failed = 0;
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
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("import", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("import", "no inputs");
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") == 0 && argc - optind != 1)
			return app_usage_error("import", "'-' (one instance from standard input) is the only input "
			    "when given");
	if (strcmp(argv[optind], "-") == 0) {
		if (isatty(STDIN_FILENO))
			return app_usage_error("import", "'-' reads an instance from standard input, which is a "
			    "terminal");
		rc = app_inputs_add(&ins, "-", "-") == 0 ? PV_EXIT_OK : PV_EXIT_INTERNAL;
	} else {
		rc = app_inputs_collect(&ins, "import", argv + optind, argc - optind, NULL, &failed);
	}
	if (rc != PV_EXIT_OK) {
		app_inputs_free(&ins);
		return rc;
	}
	walk_failed = (size_t)failed;  /* inputs and folders that could not be read */
	pv_diag_clear(&d);
	r.who = app_principal("pacsvault import");  /* made before the workers share it */
	if (svc_open(o.dir, o.master, VAULT_WRITE, &r.svc, &d) != 0) {
		app_report("import", o.dir, &d);
		app_inputs_free(&ins);
		return PV_EXIT_FAIL;
	}
	settled_notice("import", r.svc);
	if (ins.n > 0 && (r.jobs = pv_calloc(ins.n, sizeof(*r.jobs))) == NULL) {
		svc_close(r.svc);
		app_inputs_free(&ins);
		return PV_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < ins.n; i++)
		r.jobs[i].path = ins.v[i].in;
	r.njobs = ins.n;
	/* Through the service: each batch's Import events name this OS user (operator). */
	svc_ingest_batching(r.svc, batch, imp_ack, &r);
	app_progress_start(&r.pg, !quiet && !r.verbose && isatty(2), "import", r.njobs);
	if (pv_pool_for(jobs, r.njobs, imp_one, &r) != 0) {
		rc = PV_EXIT_INTERNAL;
		goto done;
	}
	pv_diag_clear(&d);
	if (svc_ingest_flush(r.svc, &d) != 0) {
		app_report("import", o.dir, &d);
		failed = 1;
	}
	app_progress_end(&r.pg);
	for (size_t i = 0; i < r.njobs; i++) {
		struct imp_job *j = &r.jobs[i];
		int st = j->status;

		/* Stored or quarantined but never acknowledged: its batch did not commit. */
		if ((st == VAULT_STORED || st == VAULT_QUARANTINED) && !j->acked) {
			st = VAULT_FAILED;
			snprintf(j->reason, sizeof(j->reason), "its batch was not made durable: not stored");
		} else if (st == VAULT_STORED || st == VAULT_QUARANTINED) {
			st = j->ack_status;
		}
		counts[st]++;
		bytes += j->bytes;
		if (st == VAULT_STORED || st == VAULT_DUPLICATE)
			continue;
		if (st == VAULT_SKIPPED) {
			/* a README or index beside the images, a DICOMDIR: counted, not a failure */
			if (r.verbose)
				printf("%s\t%s\n", vault_status_name(st), j->path);
			if (!quiet)
				fprintf(stderr, "pacsvault: import: %s: skipped: %s\n", j->path, j->reason);
			continue;
		}
		failed = 1;
		if (!quiet)
			fprintf(stderr, "pacsvault: import: %s: %s%s%s\n", j->path, vault_status_name(st),
			    j->reason[0] ? ": " : "", j->reason);
	}
	if (json) {
		printf("{\"files\":%zu,\"stored\":%zu,\"duplicates\":%zu,\"conflicts\":%zu,\"quarantined\":%zu,"
		    "\"failed\":%zu,\"skipped\":%zu,\"bytes\":%llu,\"seconds\":%.3f}\n", r.njobs,
		    counts[VAULT_STORED], counts[VAULT_DUPLICATE], counts[VAULT_CONFLICT], counts[VAULT_QUARANTINED],
		    counts[VAULT_FAILED] + walk_failed, counts[VAULT_SKIPPED],
		    (unsigned long long)bytes, app_progress_seconds(&r.pg));
	} else if (!quiet) {
		double t = app_progress_seconds(&r.pg);

		fprintf(stderr, "pacsvault: import: %zu files: %zu stored, %zu already there, %zu conflicts, %zu quarantined, "
		    "%zu failed, %zu skipped (not DICOM, DICOMDIR); %.1f MB in %.2f s\n", r.njobs, counts[VAULT_STORED],
		    counts[VAULT_DUPLICATE], counts[VAULT_CONFLICT], counts[VAULT_QUARANTINED],
		    counts[VAULT_FAILED] + walk_failed, counts[VAULT_SKIPPED], (double)bytes / 1e6, t);
	}
	rc = failed ? PV_EXIT_FAIL : PV_EXIT_OK;
done:
	svc_close(r.svc);
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
			if (pv_buf_putc(p->w->out, (unsigned char)*s < 0x20 ? '?' : *s) != 0)
				return PV_ENOMEM;
		if (pv_buf_putc(p->w->out, i + 1 < nc ? '\t' : '\n') != 0)
			return PV_ENOMEM;
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
	struct svc *svc = NULL;
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
			fputs(app_vault_help, stdout);
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
	pv_diag_clear(&d);
	if (svc_open(o.dir, o.master, VAULT_READ, &svc, &d) != 0) {
		app_report("find", o.dir, &d);
		rc = PV_EXIT_FAIL;
	} else {
		rc = PV_EXIT_OK;
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
		/* Through the service: the Query event (this OS user, operator) is written first. */
		if (svc_query(svc, app_principal("pacsvault find"), level, keys, nkeys, find_print_row, &p, &d) != 0) {
			app_report("find", o.dir, &d);
			rc = d.code == PV_EINVAL ? PV_EXIT_USAGE : PV_EXIT_FAIL;
		} else {
			if (json)
				pv_jw_end_array(&w);
			if (out.len > 0)
				fwrite(out.data, 1, out.len, stdout);
			if (json)
				putchar('\n');
		}
		pv_buf_free(&out);
		svc_close(svc);
	}
	for (size_t k = 0; k < nkeys; k++)
		query_key_free(&keys[k]);
	free(keys);
	return rc;
}

/* ---- get ---- */

/* Verifies then writes an instance to stdout (two passes: nothing unverified reaches it). */
static int
get_stdout(struct svc_egress *e, size_t i, struct pv_diag *d)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), rc;

	if (null < 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot open /dev/null");
	rc = svc_egress_write(e, i, null, d);
	close(null);
	if (rc != 0)
		return rc;
	return svc_egress_write(e, i, STDOUT_FILENO, d);
}

/* Writes instance i to a temporary beside path, renamed into place only once all of it verified. */
static int
get_file(struct svc_egress *e, size_t i, const char *path, int sync, int force, struct pv_diag *d)
{
	struct pv_atomic af;
	int rc;

	if ((rc = force ? pv_atomic_open(&af, path, 0600, d) : pv_atomic_open_new(&af, path, 0600, d)) != 0) {
		if (rc == PV_EEXIST)
			pv_diag_set(d, rc, -1, "%s exists; not replaced (--force replaces it)", path);
		return rc;
	}
	if ((rc = svc_egress_write(e, i, af.fd, d)) != 0) {
		pv_atomic_abort(&af);
		return rc;
	}
	return sync ? pv_atomic_commit(&af, d) : pv_atomic_commit_nosync(&af, d);
}

struct get_run {
	struct svc_egress *e;
	const char *out;
	struct pv_diag *d;
	char (*names)[72];
	int force;
};

static void
get_one(void *arg, size_t i, unsigned worker)
{
	struct get_run *g = arg;
	char path[PATH_MAX];

	(void)worker;
	pv_diag_clear(&g->d[i]);
	if (svc_egress_name(g->e, i, g->names[i]) != 0) {
		pv_diag_set(&g->d[i], PV_EINTERNAL, -1, "cannot name the instance");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.dcm", g->out, g->names[i]);
	if (get_file(g->e, i, path, 0, g->force, &g->d[i]) != 0 && g->d[i].code == 0)
		g->d[i].code = PV_EIO;
}

int
cmd_get(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "sync", no_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct svc *svc = NULL;
	struct svc_egress *e = NULL;
	int sync_out = 0, force = 0;
	struct pv_diag d;
	const char *out = NULL;
	size_t n = 0;
	int c, level = 0, rc;

	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'o': out = optarg; break;
		case 'S': sync_out = 1; break;
		case 'f': force = 1; break;
		case 'h':
			fputs(get_help, stdout);
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("get", "unknown option");
		}
	}
	if (out == NULL || argc - optind != 1)
		return app_usage_error("get", "one UID and -o PATH");
	pv_diag_clear(&d);
	if (svc_open(o.dir, o.master, VAULT_READ, &svc, &d) != 0) {
		app_report("get", o.dir, &d);
		return PV_EXIT_FAIL;
	}
	/* Through the service: resolved, allowed, its Export events written; then the bytes. */
	pv_diag_clear(&d);
	if (svc_egress_open(svc, app_principal("pacsvault get"), argv[optind], "get", &e, &n, &level, &d) != 0) {
		app_report("get", d.code == PV_ENOTFOUND ? argv[optind] : "audit ledger", &d);
		svc_close(svc);
		return PV_EXIT_FAIL;
	}
	rc = PV_EXIT_OK;
	if (level == QUERY_IMAGE) {
		pv_diag_clear(&d);
		if ((strcmp(out, "-") == 0 ? get_stdout(e, 0, &d) : get_file(e, 0, out, sync_out, force, &d)) != 0) {
			app_report("get", argv[optind], &d);
			rc = PV_EXIT_FAIL;
		}
	} else if (strcmp(out, "-") == 0) {
		rc = app_usage_error("get", "a series or study goes to a folder, not standard output");
	} else if (pv_mkdir_p(out, 0700) != 0) {
		fprintf(stderr, "pacsvault: get: %s: cannot create the folder\n", out);
		rc = PV_EXIT_FAIL;
	} else {
		/* Decrypted and written on every core; errors reported in order afterwards. */
		struct get_run gr = { e, out, NULL, NULL, force };

		if ((gr.d = pv_calloc(n, sizeof(*gr.d))) == NULL || (gr.names = pv_calloc(n, sizeof(*gr.names))) == NULL ||
		    pv_pool_for(0, n, get_one, &gr) != 0) {
			rc = PV_EXIT_INTERNAL;
		} else {
			for (size_t i = 0; i < n; i++)
				if (gr.d[i].code != 0) {
					app_report("get", gr.names[i], &gr.d[i]);
					rc = PV_EXIT_FAIL;
				}
		}
		free(gr.d);
		free(gr.names);
		/* With --sync, one sync for the whole folder before success is reported. */
		if (rc == PV_EXIT_OK && sync_out && pv_sync_fs(out) != 0) {
			fprintf(stderr, "pacsvault: get: %s: cannot sync the output to disk\n", out);
			rc = PV_EXIT_FAIL;
		}
		if (rc == PV_EXIT_OK)
			fprintf(stderr, "pacsvault: get: %zu instances of the %s written to %s\n", n,
			    level == QUERY_SERIES ? "series" : "study", out);
	}
	svc_egress_close(e);
	svc_close(svc);
	return rc;
}

/* ---- rm ---- */

int
cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct svc *svc = NULL;
	struct pv_diag d;
	int c, rc = PV_EXIT_OK, dry = 0;
	size_t total = 0;

	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'n': dry = 1; break;
		case 'h':
			fputs(rm_help, stdout);
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("rm", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("rm", "which UIDs?");
	/* --dry-run: read-only, resolve and count; nothing shredded, no deletion audited */
	pv_diag_clear(&d);
	if (svc_open(o.dir, o.master, dry ? VAULT_READ : VAULT_WRITE, &svc, &d) != 0) {
		app_report("rm", o.dir, &d);
		return PV_EXIT_FAIL;
	}
	settled_notice("rm", svc);
	for (int a = optind; a < argc; a++) {
		size_t n = 0, done = 0;

		/* Through the service: the events first, one sync, then each shred (svc_rm). */
		pv_diag_clear(&d);
		if (svc_rm(svc, app_principal("pacsvault rm"), argv[a], dry, &n, &done, &d) != 0) {
			app_report("rm", n > 0 ? "audit ledger" : argv[a], &d);
			rc = PV_EXIT_FAIL;
			if (n > 0)
				break;   /* the audit trail refused: nothing of this or later UIDs is shredded */
			continue;
		}
		if (!dry && done < n) {
			app_report("rm", argv[a], &d);   /* the first instance that did not shred */
			rc = PV_EXIT_FAIL;
		}
		if (dry)
			printf("%s: would shred %zu instance%s\n", argv[a], n, n == 1 ? "" : "s");
		total += dry ? n : done;
	}
	svc_close(svc);
	if (dry)
		fprintf(stderr, "pacsvault: rm: --dry-run: %zu instances would be shredded; nothing was\n", total);
	else
		fprintf(stderr, "pacsvault: rm: %zu instances shredded\n", total);
	return rc;
}

/* ---- ledger show ---- */

static const char show_help[] =
"usage: pacsvault ledger show [DIR] [OPTIONS]\n"
"\n"
"Lists the audit events of a ledger (DIR, or the ledger of --vault, or of\n"
"$PACSVAULT_DIR's vault), oldest first, filtered. Entries that are not\n"
"audit events are listed as such when no filter is given. A vault's ledger\n"
"names patients, studies, series and instances only by keyed hashes\n"
"(HMAC-SHA256 under the vault's audit key): --patient and --uid compute\n"
"the hash of the value asked about (they need the vault and its master key).\n"
"\n"
"Options:\n"
"  --patient ID     only events about this Patient ID: who accessed this\n"
"                   patient's images (under every IssuerOfPatientID the\n"
"                   vault holds it with, and without one)\n"
"  --issuer ISSUER  with --patient: only the patient of this issuer\n"
"  --uid UID        only events about this study, series or instance\n"
"  --since T        from T (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.mmmZ, UTC)\n"
"  --until T        before T\n"
"  --event CODE     only this DCM event code (110100 .. 110114)\n"
"  --user NAME      only events whose requestor is NAME\n"
"  --json           an array of events\n"
"  -h, --help       this text\n"
"\n"
"Reading a vault's ledger is itself audited (Audit Log Used, DCM 110101).\n"
"Exit status: 0 listed, 1 a ledger that cannot be read, 2 bad usage.\n";

struct show_out {
	int json;
	struct pv_buf *out;
	struct pv_jw *w;
};

static void
show_text(struct pv_buf *out, uint64_t idx, const struct lg_event *e)
{
	char t[32];

	lg_event_time(e->time_ms, t);
	if (pv_buf_printf(out, "%llu\t%s\t%u %s\t%c\t%d", (unsigned long long)idx, t, (unsigned)e->code,
	    lg_event_name(e->code), e->action, e->outcome) != 0)
		return;
	for (size_t i = 0; i < e->np; i++)
		if (e->p[i].requestor &&
		    pv_buf_printf(out, "\t%s (%s)", e->p[i].user ? e->p[i].user : "-",
		    e->p[i].process ? e->p[i].process : "-") != 0)
			return;
	for (size_t i = 0; i < e->no; i++)
		if (pv_buf_printf(out, "\t%s=%s%s%s", e->o[i].type, e->o[i].id, e->o[i].detail ? " " : "",
		    e->o[i].detail ? e->o[i].detail : "") != 0)
			return;
	if (pv_buf_putc(out, '\n') != 0)
		return;
}

static void
jw_str(struct pv_jw *w, const char *k, const char *v)
{
	pv_jw_key(w, k, strlen(k));
	if (v == NULL)
		pv_jw_raw(w, "null", 4);
	else
		pv_jw_string(w, v, strlen(v));
}

static void
show_json(struct pv_jw *w, uint64_t idx, const struct lg_event *e)
{
	char t[32], num[32];

	lg_event_time(e->time_ms, t);
	pv_jw_begin_object(w);
	pv_jw_key(w, "index", 5);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)idx);
	pv_jw_raw(w, num, strlen(num));
	jw_str(w, "time", t);
	pv_jw_key(w, "event", 5);
	snprintf(num, sizeof(num), "%u", (unsigned)e->code);
	pv_jw_raw(w, num, strlen(num));
	jw_str(w, "event_name", lg_event_name(e->code));
	num[0] = e->action;
	num[1] = '\0';
	jw_str(w, "action", num);
	pv_jw_key(w, "outcome", 7);
	snprintf(num, sizeof(num), "%d", e->outcome);
	pv_jw_raw(w, num, strlen(num));
	pv_jw_key(w, "participants", 12);
	pv_jw_begin_array(w);
	for (size_t i = 0; i < e->np; i++) {
		pv_jw_begin_object(w);
		pv_jw_key(w, "requestor", 9);
		pv_jw_raw(w, e->p[i].requestor ? "true" : "false", e->p[i].requestor ? 4 : 5);
		jw_str(w, "user", e->p[i].user);
		jw_str(w, "role", e->p[i].role);
		jw_str(w, "process", e->p[i].process);
		jw_str(w, "ae", e->p[i].ae);
		jw_str(w, "address", e->p[i].addr);
		pv_jw_end_object(w);
	}
	pv_jw_end_array(w);
	pv_jw_key(w, "objects", 7);
	pv_jw_begin_array(w);
	for (size_t i = 0; i < e->no; i++) {
		pv_jw_begin_object(w);
		jw_str(w, "type", e->o[i].type);
		jw_str(w, "id", e->o[i].id);
		jw_str(w, "detail", e->o[i].detail);
		pv_jw_end_object(w);
	}
	pv_jw_end_array(w);
	pv_jw_end_object(w);
}

static int
show_one(void *ctx, uint64_t idx, const struct lg_event *e, size_t size)
{
	struct show_out *o = ctx;

	if (e == NULL) {
		if (!o->json && pv_buf_printf(o->out, "%llu\t(not an audit event: %zu bytes)\n",
		    (unsigned long long)idx, size) != 0)
			return PV_ENOMEM;
		return 0;
	}
	if (o->json)
		show_json(o->w, idx, e);
	else
		show_text(o->out, idx, e);
	return 0;
}

int
cmd_ledger_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "patient", required_argument, NULL, 'P' },
		{ "issuer", required_argument, NULL, 'X' },
		{ "uid", required_argument, NULL, 'I' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "event", required_argument, NULL, 'E' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vopts o;
	struct svc_ledger_filter f;
	const char *vault_dir = NULL;
	struct svc *svc = NULL;
	struct pv_buf out;
	struct pv_jw w;
	struct show_out so;
	struct pv_diag d;
	char *end;
	int c, json = 0, rc = PV_EXIT_OK;

	memset(&f, 0, sizeof(f));
	f.since = f.until = -1;
	vopts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': vault_dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'P': f.patient = optarg; break;
		case 'X': f.issuer = optarg; break;
		case 'I': f.uid = optarg; break;
		case 'u': f.user = optarg; break;
		case 'J': json = 1; break;
		case 'S': case 'U': {
			int64_t t = lg_event_time_parse(optarg);

			if (t < 0)
				return app_usage_error("ledger show", "a time is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.mmmZ");
			if (c == 'S')
				f.since = t;
			else
				f.until = t;
			break;
		}
		case 'E':
			f.code = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || lg_event_name(f.code) == NULL)
				return app_usage_error("ledger show", "--event wants a DCM code 110100 .. 110114");
			break;
		case 'h':
			fputs(show_help, stdout);
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("ledger show", "unknown option");
		}
	}
	/* no folder and no --vault: the vault of $PACSVAULT_DIR, as every vault command (issue #15) */
	if (argc == optind && vault_dir == NULL && getenv("PACSVAULT_DIR") != NULL && getenv("PACSVAULT_DIR")[0])
		vault_dir = getenv("PACSVAULT_DIR");
	if (argc - optind > 1 || (argc == optind && vault_dir == NULL))
		return app_usage_error("ledger show", "one ledger folder, or --vault DIR (or $PACSVAULT_DIR)");
	if (f.issuer != NULL && f.patient == NULL)
		return app_usage_error("ledger show", "--issuer goes with --patient");
	if ((f.patient != NULL || f.uid != NULL) && vault_dir == NULL)
		return app_usage_error("ledger show", "--patient and --uid need --vault (its audit key makes the "
		    "keyed hash)");
	pv_buf_init(&out, (size_t)1 << 31);
	pv_jw_init(&w, &out, 0);
	so = (struct show_out){ json, &out, &w };
	if (json)
		pv_jw_begin_array(&w);
	pv_diag_clear(&d);
	if (argc > optind && vault_dir == NULL) {
		/* a ledger folder on its own (an auditor's copy): read, nothing written */
		if (svc_ledger_events_dir(argv[optind], &f, show_one, &so, &d) != 0) {
			app_report("ledger show", argv[optind], &d);
			rc = PV_EXIT_FAIL;
		}
	} else {
		if (argc > optind) {
			/* a folder with --vault: it must be that vault's ledger, read through the vault */
			char a[PATH_MAX], b[PATH_MAX], lp[PATH_MAX];

			snprintf(lp, sizeof(lp), "%s/ledger", vault_dir);
			if (realpath(argv[optind], a) == NULL || realpath(lp, b) == NULL || strcmp(a, b) != 0) {
				pv_buf_free(&out);
				return app_usage_error("ledger show", "a ledger folder, or --vault DIR, not both");
			}
		}
		o.dir = vault_dir;
		if ((rc = open_svc("ledger show", &o, VAULT_READ, &svc)) == PV_EXIT_OK &&
		    svc_ledger_events(svc, app_principal("pacsvault ledger show"), &f, show_one, &so, &d) != 0) {
			app_report("ledger show", vault_dir, &d);
			rc = PV_EXIT_FAIL;
		}
		svc_close(svc);
	}
	if (rc == PV_EXIT_OK)
		print_listing(&out, &w, json);
	pv_buf_free(&out);
	return rc;
}

/* ---- export ---- */

static const char export_help[] =
"usage: pacsvault export [--vault DIR] [--master-key FILE] UID... -o OUTDIR\n"
"       pacsvault export [--vault DIR] [--master-key FILE] UID... -o OUTDIR --deid --key K\n"
"                        [DEID OPTIONS]\n"
"\n"
"Exports instances, series or studies (UID...: any mix). Identified: the\n"
"exact imported bytes, as OUTDIR/STUDY/SERIES/SOP.dcm. With --deid: through\n"
"the same engine and options as 'pacsvault deid' (see 'pacsvault deid\n"
"--help': --key, the --retain-* and --clean-* options, --clean-pixel-data,\n"
"--recipe, --report...), decrypted in memory only, written as\n"
"OUTDIR/N/M.dcm (N: the UID's position, M: the instance's): file names\n"
"carry no original UID. Files that may carry burned-in text that was not\n"
"cleaned are not written (as with deid). Every instance is in the audit\n"
"trail (Export, DCM 110106) before anything is written. As with get, what\n"
"is written is left to the kernel's writeback unless --sync is given\n"
"(identified or de-identified); 'pacsvault rm' syncs before it shreds.\n"
"\n"
"Exit status: 0 all exported, 1 any not found, failed or held back, 2 bad usage.\n";

/* export --deid: the instances come through the service's egress into memory. */
static int
export_load(void *ctx, size_t i, struct pv_buf *out, struct pv_diag *d)
{
	return svc_egress_mem(ctx, i, out, d);
}

int
cmd_export(int argc, char **argv)
{
	struct vopts o;
	struct svc *svc = NULL;
	struct svc_egress *e = NULL;
	size_t nall = 0, nuid = 0;
	const char **uids = NULL;
	char **rest = NULL, **names = NULL;
	int nrest = 0, deid = 0, sync_out = 0, rc = PV_EXIT_OK, i, level = 0;
	const char *outdir = NULL;
	struct pv_diag d;

	vopts_default(&o);
	/* The UIDs come first; everything from the first other option on is the export's (-o), the
	 * vault's (--vault, --master-key, anywhere) or, with --deid, the de-identification's. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(export_help, stdout);
			fputs(app_vault_help, stdout);
			return PV_EXIT_OK;
		}
		if ((strcmp(argv[i], "--vault") == 0 || strcmp(argv[i], "--master-key") == 0) && i + 1 < argc) {
			if (argv[i][2] == 'v')
				o.dir = argv[i + 1];
			else
				o.master = argv[i + 1];
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			break;
		nuid++;
	}
	if (nuid == 0)
		return app_usage_error("export", "which UIDs? (they come before the options)");
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL ||
	    (uids = calloc(nuid, sizeof(*uids))) == NULL) {
		free(rest);
		return PV_EXIT_INTERNAL;
	}
	for (int k = 1, u = 0; k < i; k++) {
		if (strcmp(argv[k], "--vault") == 0 || strcmp(argv[k], "--master-key") == 0)
			k++;
		else
			uids[u++] = argv[k];
	}
	/* With --deid the rest are the options of 'pacsvault deid', given to its runner as the user typed them. */
	rest[nrest++] = (char *)"export";
	for (int k = i; k < argc; k++) {
		/* the vault options anywhere, as in every vault command */
		if ((strcmp(argv[k], "--vault") == 0 || strcmp(argv[k], "--master-key") == 0) && k + 1 < argc) {
			if (argv[k][2] == 'v')
				o.dir = argv[k + 1];
			else
				o.master = argv[k + 1];
			k++;
			continue;
		}
		if (strcmp(argv[k], "--deid") == 0) {
			deid = 1;
			continue;
		}
		if (strcmp(argv[k], "--sync") == 0)
			sync_out = 1;  /* and the de-identification runner reads it too */
		if ((strcmp(argv[k], "-o") == 0 || strcmp(argv[k], "--output") == 0) && k + 1 < argc)
			outdir = argv[k + 1];
		rest[nrest++] = argv[k];
	}
	if (outdir == NULL) {
		rc = app_usage_error("export", "-o OUTDIR is required");
		goto done;
	}
	if (!deid && nrest != 3 + sync_out) {
		rc = app_usage_error("export", "an identified export takes only -o OUTDIR and --sync "
		    "(de-identification options go with --deid)");
		goto done;
	}
	if (deid) {
		/* The key read before anything is taken out: a wrong key file leaves no Export event. */
		const char *kp = NULL;
		struct pv_key key;

		for (int k = 1; k + 1 < nrest; k++)
			if (strcmp(rest[k], "--key") == 0 || strcmp(rest[k], "-k") == 0)
				kp = rest[k + 1];
			else if (strncmp(rest[k], "--key=", 6) == 0)
				kp = rest[k] + 6;
		pv_diag_clear(&d);
		if (kp != NULL && pv_key_read(kp, PV_KEY_PROJECT, &key, &d) != 0) {
			app_report("export", kp, &d);
			rc = PV_EXIT_FAIL;
			goto done;
		}
		if (kp != NULL)
			pv_key_clear(&key);
	}
	pv_diag_clear(&d);
	if (svc_open(o.dir, o.master, VAULT_READ, &svc, &d) != 0) {
		app_report("export", o.dir, &d);
		rc = PV_EXIT_FAIL;
		goto done;
	}
	/* Through the service: every UID resolved (nothing is written when one is unknown), allowed,
	 * and every instance in the audit trail before a byte leaves. */
	pv_diag_clear(&d);
	if (svc_egress_open_many(svc, app_principal("pacsvault export"), uids, nuid,
	    deid ? "export de-identified" : "export identified", &e, &nall, &level, &d) != 0) {
		app_report("export", d.code == PV_ENOTFOUND ? (nuid == 1 ? uids[0] : NULL) : "audit ledger", &d);
		rc = PV_EXIT_FAIL;
		goto done;
	}
	if (deid) {
		struct deid_source src;
		size_t per[1024] = { 0 };

		if (nall > 0 && (names = calloc(nall, sizeof(*names))) == NULL) {
			rc = PV_EXIT_INTERNAL;
			goto done;
		}
		for (size_t k = 0; k < nall; k++) {
			size_t uk = svc_egress_uid_index(e, k), u = uk < 1024 ? uk : 1023;

			if ((names[k] = malloc(32)) == NULL) {
				rc = PV_EXIT_INTERNAL;
				goto done;
			}
			snprintf(names[k], 32, "%03zu/%05zu.dcm", uk + 1, ++per[u]);
		}
		src.n = nall;
		src.names = (const char *const *)names;
		src.load = export_load;
		src.ctx = e;
		rc = app_deid_run(nrest, rest, &src);
	} else {
		if (pv_mkdir_p(outdir, 0700) != 0) {
			fprintf(stderr, "pacsvault: export: %s: cannot create the folder\n", outdir);
			rc = PV_EXIT_FAIL;
			goto done;
		}
		for (size_t k = 0; k < nall; k++) {
			char path[PATH_MAX], st[72], se[72], sop[72];
			struct pv_atomic af;

			pv_diag_clear(&d);
			if (svc_egress_uids(e, k, st, se, sop) != 0) {
				rc = PV_EXIT_INTERNAL;
				break;
			}
			snprintf(path, sizeof(path), "%s/%s/%s", outdir, st, se);
			if (pv_mkdir_p(path, 0700) != 0) {
				fprintf(stderr, "pacsvault: export: %s: cannot create the folder\n", path);
				rc = PV_EXIT_FAIL;
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s/%s/%s.dcm", outdir, st, se, sop);
			if (pv_atomic_open(&af, path, 0600, &d) != 0 || (svc_egress_write(e, k, af.fd, &d) != 0 &&
			    (pv_atomic_abort(&af), 1)) || pv_atomic_commit_nosync(&af, &d) != 0) {
				app_report("export", path, &d);
				rc = PV_EXIT_FAIL;
			}
		}
		if (rc == PV_EXIT_OK && sync_out && pv_sync_fs(outdir) != 0) {
			fprintf(stderr, "pacsvault: export: %s: cannot sync the output to disk\n", outdir);
			rc = PV_EXIT_FAIL;
		}
		if (rc == PV_EXIT_OK)
			fprintf(stderr, "pacsvault: export: %zu instances written to %s\n", nall, outdir);
	}
done:
	if (names != NULL)
		for (size_t k = 0; k < nall; k++)
			free(names[k]);
	free(names);
	free(uids);
	free(rest);
	svc_egress_close(e);
	svc_close(svc);
	return rc;
}
