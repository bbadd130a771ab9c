/*
 * vault.h: the encrypted vault (docs/FORMATS.md "Vault").
 *
 * A vault is a folder:
 *   VAULT            format line and the master key id (clear, no secret)
 *   master.key       the master key (0600), unless kept outside (recommended)
 *   index.key.pvo    the index key, sealed like an object under the master key
 *   ledger.key.pvo   the audit key (patient pseudonyms in the ledger), sealed the same way
 *   ledger.sign.pvo  the ledger's Ed25519 signing seed, sealed the same way
 *   ledger/          the audit ledger (src/ledger), written through svc/audit.c
 *   index.db         the SQLite index (+ -wal, -shm): blind indexes and sealed columns
 *   objects/XY/ID.pvo   sealed instances, ID = 32 random hex digits (never a UID)
 *   quarantine/ID.pvo   sealed malformed input
 *   tmp/             objects being written
 *   lock             flock: one writing process at a time
 *
 * From the index key come three subkeys (HMAC-SHA256(index key, label)):
 * "blind" for the blind-index columns, "column" for the sealed columns,
 * "content" for the MAC of each object's plaintext (duplicates, and an
 * end-to-end check on every read).
 *
 * Thread safety: vault_import_file may run on many threads at once; every
 * other call is for one thread. Import runs one more thread of its own
 * (the committer: vault.c), started by the first file and stopped by
 * vault_close.
 */
#ifndef PV_STORE_VAULT_H
#define PV_STORE_VAULT_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/crypto/keyfile.h"
#include "pacsvault/store/index.h"
#include "pacsvault/store/query.h"

struct vault;

#define VAULT_PID_MAX 128   /* longest Patient ID (and Issuer) handed to the commit hook */

/*
 * Creates a vault in dir (which must not exist or be empty). With
 * master_key_path the master key is that file (made by `keygen --type
 * master`) and nothing secret is kept in the vault but the sealed index
 * key; else a new master.key is written inside. keyid gets the master key
 * id. PV_EEXIST when dir already holds a vault.
 */
int vault_create(const char *dir, const char *master_key_path, char keyid[9], struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Opens the vault in dir with its master key (master_key_path, else
 * dir/master.key). mode VAULT_READ runs beside a writer; VAULT_WRITE takes
 * the writers' lock (exclusive) and settles tmp/ (what an interrupted
 * import left: moved into place when its row committed, else shredded);
 * VAULT_QUIET takes the writers' lock without writing (a still vault, for
 * fsck). A lock held by another process is waited for, $PACSVAULT_WAIT
 * seconds (default 60; 0: not at all), then PV_EEXIST. PV_EAUTH for a key
 * that is not the vault's; PV_EINVAL while a key rotation is unfinished.
 */
enum { VAULT_READ = 0, VAULT_WRITE = 1, VAULT_QUIET = 2 };
int vault_open(const char *dir, const char *master_key_path, int mode, struct vault **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
void vault_close(struct vault *v);
/* What the writer's open did to tmp/ (settle): objects placed and shredded. 1 when either is not 0. */
int vault_settled(const struct vault *v, uint64_t *published, uint64_t *shredded);
const char *vault_dir(const struct vault *v);

/* What import did with one file. */
enum vault_status {
	VAULT_STORED = 0,     /* sealed, indexed: durable once acknowledged */
	VAULT_DUPLICATE,      /* same SOP Instance UID, same bytes: already there */
	VAULT_CONFLICT,       /* same SOP Instance UID, other bytes: not stored */
	VAULT_QUARANTINED,    /* not a readable instance: sealed into quarantine */
	VAULT_FAILED,         /* an I/O or internal error: nothing stored */
	VAULT_SKIPPED         /* not an instance: not DICOM at all (a README), or a DICOMDIR; nothing stored */
};
const char *vault_status_name(int status);

/*
 * Called for each file of a batch once its batch is durable, from the
 * vault's committer thread under the vault's lock, with its final status:
 * STORED or QUARANTINED, or DUPLICATE / CONFLICT when another file of the
 * same run with the same SOP Instance UID was committed first.
 */
typedef void (*vault_ack_fn)(void *ctx, void *cookie, int status);

/*
 * Sets how many files a batch holds before it is made durable (one syncfs
 * and one index commit per batch) and who hears of it. Default 128 files.
 */
void vault_import_batching(struct vault *v, size_t files, vault_ack_fn ack, void *ctx);

/* One file of a batch as the commit hook sees it (clear values: memory only, never stored). */
struct vault_batch_item {
	int status;                     /* VAULT_STORED or VAULT_QUARANTINED */
	char objid[STORE_OBJID_HEX];
	char sop_uid[65], series_uid[65], study_uid[65], sop_class[65];
	char patient_id[VAULT_PID_MAX], issuer[VAULT_PID_MAX];
	uint64_t size;
	void *cookie;                   /* the importer's cookie */
};

/*
 * Called with every file of a batch after its objects are durable and
 * before the index commit (the audit trail: svc/audit.c). A non-zero
 * return fails the batch: nothing of it is committed or acknowledged.
 */
typedef int (*vault_commit_hook)(void *ctx, const struct vault_batch_item *items, size_t n, struct pv_diag *d);
void vault_set_commit_hook(struct vault *v, vault_commit_hook hook, void *ctx);
/*
 * Each object is synced (fdatasync) by the thread that seals it, before it
 * is queued, instead of by the committer: for callers that each wait for
 * their acknowledgement, several at once (network stores), whose syncs then
 * overlap instead of queueing behind one another. Set before importing.
 */
void vault_import_sync_each(struct vault *v, int on);

/*
 * The vault's audit key (a PV_KEY_LEDGER key sealed under the master key
 * in ledger.key.pvo): the ledger names patients by HMAC under it, apart
 * from the data and index keys.
 */
int vault_audit_key(struct vault *v, uint8_t key[PV_KEY_LEN]) __attribute__((warn_unused_result));

/*
 * The Ed25519 seed of the vault's ledger, sealed under the master key in
 * ledger.sign.pvo (never in clear in the folder). PV_ENOTFOUND: a vault
 * made before it was sealed. Setting it never replaces another seed.
 */
int vault_ledger_seed(struct vault *v, uint8_t seed[32], struct pv_diag *d) __attribute__((warn_unused_result));
int vault_set_ledger_seed(struct vault *v, const uint8_t seed[32], struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Small documents sealed under the master key in the vault folder, bound
 * to their name (today only "users.pvo", the users of serve): appended to
 * out; PV_ENOTFOUND when there is none. Put replaces it atomically and
 * durably (a reader may put: the caller serialises its read-modify-write,
 * as svc does with a lock file). Key rotation rewraps them with the objects.
 */
int vault_blob_get(struct vault *v, const char *name, struct pv_buf *out, struct pv_diag *d)
	__attribute__((warn_unused_result));
int vault_blob_put(struct vault *v, const char *name, const void *data, size_t n, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* The vault's settings (clear text in the index; no patient value): 0, or PV_ENOTFOUND. */
int vault_setting_get(struct vault *v, const char *key, char *out, size_t n) __attribute__((warn_unused_result));
int vault_setting_set(struct vault *v, const char *key, const char *value, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Imports one file (thread-safe). *status says what happened; reason (n
 * bytes) says why for a conflict, quarantine or failure (never a value of
 * the file). A file returned as STORED or QUARANTINED is acknowledged
 * through the ack callback with cookie, and its final status, when its
 * batch is durable (never, if the batch fails); the others are not. A
 * file that is no DICOM file at all (PV_ENOTDICOM: a README beside the
 * images), or a DICOMDIR, is SKIPPED (reason says which): nothing sealed,
 * not acknowledged.
 * bytes gets the file's size.
 */
int vault_import_file(struct vault *v, const char *path, void *cookie, int *status, char *reason, size_t n,
    uint64_t *bytes);

/*
 * Ingest without a path (a C-STORE or STOW body, standard input): the bytes
 * are kept in an anonymous memory file (memfd: no name in any file system,
 * truncated as soon as the import is done), then imported exactly as
 * vault_import_file does (the same statuses, acknowledgement, quarantine,
 * whose recorded origin is label). begin/write/end take a stream of chunks
 * (max bytes at most: 0 for VAULT_INGEST_MAX; more is PV_ELIMIT, nothing
 * stored); end imports and frees; abort drops what was written. import_mem
 * and import_fd (read to its end: a pipe, a socket) are begin, write, end.
 * The parser's own limits apply as for files (dcm_reader_opts: nesting
 * depth 64, values, inflated size 1 GiB, one process-wide inflate budget).
 */
#define VAULT_INGEST_MAX ((uint64_t)4 << 30)   /* 4 GiB */
struct vault_ingest;
int vault_ingest_begin(struct vault *v, const char *label, uint64_t max, struct vault_ingest **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
int vault_ingest_write(struct vault_ingest *g, const void *p, size_t n, struct pv_diag *d)
	__attribute__((warn_unused_result));
int vault_ingest_end(struct vault_ingest *g, void *cookie, int *status, char *reason, size_t n, uint64_t *bytes);
void vault_ingest_abort(struct vault_ingest *g);
int vault_import_mem(struct vault *v, const void *p, size_t len, const char *label, void *cookie, int *status,
    char *reason, size_t n, uint64_t *bytes);
int vault_import_fd(struct vault *v, int fd, const char *label, void *cookie, int *status, char *reason, size_t n,
    uint64_t *bytes);

/* Makes every queued file durable now and acknowledges it; returns when done. */
int vault_import_flush(struct vault *v, struct pv_diag *d) __attribute__((warn_unused_result));

/* A found entity: level's attributes (and parents'), as UTF-8, for printing. */
struct vault_match {
	int level;
	size_t n;
	uint32_t tag[48];
	const char *value[48];      /* NULL: absent */
	const char *objid;          /* IMAGE level */
	uint64_t size;
};
typedef int (*vault_match_fn)(void *ctx, const struct vault_match *m);

/*
 * C-FIND at level with keys (query.h): narrows by blind indexes and clear
 * columns, opens the sealed attributes of the candidates and matches the
 * rest. Every sealed value that does not open is an integrity error.
 */
int vault_find(struct vault *v, int level, const struct query_key *keys, size_t nkeys, vault_match_fn fn,
    void *ctx, struct pv_diag *d) __attribute__((warn_unused_result));

/* One instance of a resolved UID. */
struct vault_instance {
	char objid[STORE_OBJID_HEX];
	char sop_uid[65], series_uid[65], study_uid[65];
	char patient_id[VAULT_PID_MAX], issuer[VAULT_PID_MAX];   /* for the audit pseudonym; memory only */
	uint64_t size;
	uint8_t sop_b[STORE_BLIND_LEN];
};

/*
 * The instances of uid: an instance, or every instance of a series or of
 * a study (in that order of trial). *level gets which it was. Caller frees
 * *out. PV_ENOTFOUND.
 */
int vault_resolve(struct vault *v, const char *uid, struct vault_instance **out, size_t *n, int *level,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Writes the exact imported bytes of an instance to fd, after checking its
 * index row and every chunk (fsck also checks the content MAC). When a check fails some
 * bytes may be in fd already: write to a temporary and keep it only on
 * success. PV_EINTEGRITY / PV_EAUTH naming the object in d.
 */
int vault_get(struct vault *v, const struct vault_instance *inst, int fd, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* vault_get into memory (out reset first; scrubbed and freed on failure). Thread-safe. */
int vault_get_mem(struct vault *v, const struct vault_instance *inst, struct pv_buf *out, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* Crypto-shreds the instance's object, removes its index rows (durably), unlinks the object. */
int vault_rm(struct vault *v, const struct vault_instance *inst, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* What fsck found. */
struct vault_fsck {
	uint64_t instances, objects_ok, bad, missing, orphans, quarantined, temporaries, pruned;
};
typedef void (*vault_fsck_report_fn)(void *ctx, const char *what, const char *objid, const struct pv_diag *d);

/*
 * Checks the index (backend integrity), every indexed object (opens every
 * chunk, content MAC, sealed columns), every quarantined object, and the
 * objects folder against the index. repair: removes orphan objects
 * (shredded), leftover temporaries and childless parent rows, and index
 * rows whose object is missing or shredded. Each problem is reported.
 */
int vault_fsck(struct vault *v, int repair, vault_fsck_report_fn report, void *ctx, struct vault_fsck *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Rotates the master key: every object's data key (and the index key) is
 * wrapped again under the new key, then the old wraps are dropped, then
 * the vault switches keys. new_key_path NULL: a new master.key inside the
 * vault (for vaults that keep theirs inside). Resumable: after a crash run
 * it again with the same arguments. progress(ctx, done, total) may be NULL.
 */
int vault_rotate_key(const char *dir, const char *master_key_path, const char *new_key_path,
    void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx, char newid[9], uint64_t *objects,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* Quarantine listing: the reason and the original path, opened. */
typedef int (*vault_quarantine_fn)(void *ctx, const char *objid, uint64_t size, const char *reason,
    const char *path);
/* Writes the original bytes of the quarantined object objid to fd, every chunk verified. */
int vault_quarantine_get(struct vault *v, const char *objid, int fd, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* Crypto-shreds the quarantined object objid and removes its row (writer only). PV_ENOTFOUND. */
int vault_quarantine_remove(struct vault *v, const char *objid, struct pv_diag *d)
	__attribute__((warn_unused_result));
int vault_quarantine_list(struct vault *v, vault_quarantine_fn fn, void *ctx, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * make bench only: adds n synthetic instances (patients BENCH00000000...,
 * 4 studies each, per_study instances per study in 4 series) to the index,
 * sealed and blind-indexed like imported ones, without objects (fsck
 * reports them missing). For the find latency at 1,000,000 instances.
 */
int vault_bench_fill(struct vault *v, uint64_t n, unsigned per_study, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
