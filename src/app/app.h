/* app.h: the pacsvault command: shared pieces of the subcommands. */
#ifndef PV_APP_APP_H
#define PV_APP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pacsvault/base/err.h"

/* Exit codes (documented in `pacsvault help` and docs/pacsvault.1). */
#define PV_EXIT_OK 0       /* success */
#define PV_EXIT_FAIL 1     /* some input could not be processed */
#define PV_EXIT_USAGE 2    /* bad command line */
#define PV_EXIT_FOUND 3    /* scan: something identifying found; risk: patients below the target k */
#define PV_EXIT_INTERNAL 70

#define PV_VERSION "0.1.0"

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_deid(int argc, char **argv);

/*
 * Inputs of a de-identification that come from somewhere else than files
 * (the vault's export): n inputs, each loaded into memory on demand by
 * load (thread-safe), written to OUTDIR/names[i].
 */
struct pv_buf;
struct deid_source {
	size_t n;
	const char *const *names;
	int (*load)(void *ctx, size_t i, struct pv_buf *out, struct pv_diag *d);
	void *ctx;
};
/* cmd_deid's engine: argv as for deid, the inputs from src (NULL: the files of argv). */
int app_deid_run(int argc, char **argv, const struct deid_source *src);

/* The PS3.15 options of deid (and of a project) as getopt_long entries: 1000 + the DEID_OPT_ bit. */
#define APP_DEID_PROFILE_OPTIONS \
	{ "retain-safe-private", no_argument, NULL, 1000 + DEID_OPT_SAFE_PRIVATE }, \
	{ "retain-uids", no_argument, NULL, 1000 + DEID_OPT_UIDS }, \
	{ "retain-device-identity", no_argument, NULL, 1000 + DEID_OPT_DEVICE }, \
	{ "retain-institution-identity", no_argument, NULL, 1000 + DEID_OPT_INSTITUTION }, \
	{ "retain-patient-characteristics", no_argument, NULL, 1000 + DEID_OPT_PATIENT_CHARS }, \
	{ "retain-full-dates", no_argument, NULL, 1000 + DEID_OPT_FULL_DATES }, \
	{ "retain-modified-dates", no_argument, NULL, 1000 + DEID_OPT_MODIFIED_DATES }, \
	{ "clean-descriptors", no_argument, NULL, 1000 + DEID_OPT_CLEAN_DESCRIPTORS }, \
	{ "clean-structured-content", no_argument, NULL, 1000 + DEID_OPT_CLEAN_STRUCTURED }, \
	{ "clean-graphics", no_argument, NULL, 1000 + DEID_OPT_CLEAN_GRAPHICS },
int cmd_export(int argc, char **argv);

int cmd_reid(int argc, char **argv);

int cmd_scan(int argc, char **argv);

int cmd_risk(int argc, char **argv);

int cmd_ledger(int argc, char **argv);

/* The vault (cmd_vault.c). */
int cmd_vault(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_ledger_show(int argc, char **argv);
int cmd_vault_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
struct lg_log;
/* ledger checkpoint --policy: asks the policy's witnesses (by their URLs) to cosign the last checkpoint. */
int ledger_ask_witnesses(struct lg_log *l, const char *dir, const char *policy_file, const char *const *urls, size_t nurls,
    const char *ca);
int cmd_project(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* The vault folder and master key of the common options (--vault, --master-key, $PACSVAULT_DIR...). */
struct vopts {
	const char *dir;
	const char *master;
};
extern const char app_vault_help[];
void vopts_default(struct vopts *o);
struct svc;
struct svc_principal;
/* The command line's principal: the OS user, role operator, on this host; via names the command. */
const struct svc_principal *app_principal(const char *via);
/* The service over the vault of o (mode: VAULT_READ, VAULT_WRITE or VAULT_QUIET), reported on failure. */
int open_svc(const char *cmd, const struct vopts *o, int mode, struct svc **s);
int cmd_ledger_atna(int argc, char **argv);
int cmd_ledger_witness(int argc, char **argv);
/* The kept cosignature lines of the checkpoint at size of the ledger in dir, appended to out. */
int ledger_cosignatures(const char *dir, uint64_t size, struct pv_buf *out);

/*
 * The progress bar of a batch (progress.c): drawn on stderr at most ten
 * times a second when on (a terminal), from any worker thread.
 */
struct app_progress {
	int on;
	const char *what;
	size_t total;
	atomic_size_t done;
	atomic_ullong bytes;
	pthread_mutex_t lock;
	struct timespec t0;
	double last;
};
void app_progress_start(struct app_progress *p, int on, const char *what, size_t total);
void app_progress_tick(struct app_progress *p, uint64_t bytes);
void app_progress_end(struct app_progress *p);
double app_progress_seconds(const struct app_progress *p);

/* HTML reports (html.c): escaping, the page head with its style, the tail. */
void html_escape(FILE *f, const char *s);
void html_head(FILE *f, const char *title);
void html_tail(FILE *f);

/* The inputs of a batch command (files and folders), each with its output path. */
struct app_input {
	char *in;
	char *out;
	int walked;   /* found in a folder (not named): a file that is not DICOM is skipped, not a failure */
	size_t rel;   /* in + rel: the part below what the user named (its base name for a named file) */
};

struct app_inputs {
	struct app_input *v;
	size_t n, cap;
};

/*
 * Creates outdir and lists every file of paths (folders recursively, sorted)
 * with its mirrored output path (outdir NULL: no output, out = in). Missing inputs are reported and set
 * *failed. Returns PV_EXIT_OK, PV_EXIT_USAGE (an output inside an input,
 * or replacing one) or PV_EXIT_FAIL.
 */
int app_inputs_collect(struct app_inputs *r, const char *cmd, char **paths, int npaths,
    const char *outdir, int *failed);
int app_inputs_add(struct app_inputs *r, const char *in, const char *out);
void app_inputs_free(struct app_inputs *r);

/* Prints "pacsvault: CMD: FILE: offset N: path: message" to stderr. */
void app_report(const char *cmd, const char *file, const struct pv_diag *d);

/* Prints "pacsvault: CMD: message" and returns PV_EXIT_USAGE. */
int app_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
