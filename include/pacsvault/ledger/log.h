/*
 * log.h: the append-only audit log on disk (a folder).
 *
 *   entries.dat    the entries: u32 big-endian length, then the bytes
 *   entries.idx    u64 big-endian offset of each entry in entries.dat
 *   tree.K         level K of the Merkle tree (merkle.h): the 32-byte hashes
 *                  of the complete aligned subtrees of 2^K leaves; level K
 *                  of a log of n entries holds exactly n >> K hashes
 *   checkpoints    the signed checkpoints: u32 big-endian length, the note
 *   HEAD           "pacsvault-ledger 2\nsize N\ncheckpoints LEN LAST\n": the
 *                  committed size, the checkpoints' committed length and the
 *                  offset of the last one ("-": none); version 1 has no
 *                  checkpoints line (their end is then found by reading them)
 *   journal        the batches committed by a writer holding the log open
 *                  (lg_log_hold), each one record, not yet settled
 *   origin         the log's name
 *   vkey           its verifier key (the public key, note format)
 *   key            its Ed25519 seed (0600), for a log that keeps its own key;
 *                  absent from a log whose owner keeps the seed sealed (a
 *                  vault: ledger.sign.pvo), which then signs a checkpoint with
 *                  every commit, so that no committed entry is unsigned
 *
 * Appends are buffered; lg_log_commit() makes a whole batch durable with
 * one fdatasync per file and then replaces HEAD atomically (temp, fsync,
 * rename, directory fsync): group commit. HEAD is the commit record: on
 * open, every file is cut back to what HEAD says, so a crash at any moment
 * leaves the log at its last committed size, whole.
 *
 * A long-lived writer (a server) holds the log open and commits each batch
 * as one record appended to the journal (header, the bytes of every file
 * at their offsets, the checkpoint, CRC-32), with one fdatasync; the files
 * are written after it and synced, HEAD written and the journal emptied
 * when it is settled: past 8 MiB, on close, or by lg_log_settle. Open
 * replays (and settles) what a crash left in the journal: a record cut
 * short ends it (its commit never returned), one that does not continue
 * the files is an error.
 */
#ifndef PV_LEDGER_LOG_H
#define PV_LEDGER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/ledger/merkle.h"
#include "pacsvault/ledger/note.h"

#define LG_ENTRY_MAX (1u << 20)

struct lg_log;

/* Creates the folder (which must not exist, or be empty) with a new key. */
int lg_log_create(const char *dir, const char *origin, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Creates a log whose seed the caller keeps (sealed): no key file, only
 * vkey. Opened, it appends; it signs once lg_log_set_seed gives the seed.
 */
int lg_log_create_sealed(const char *dir, const char *origin, const uint8_t seed[32], struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Opens a log, recovering to its last committed size. One process at a
 * time: PV_EEXIST when another holds it (lg_log_open_wait waits up to
 * wait_ms for it first). Opening reads no tree level: proofs and appends
 * read the hashes they need.
 */
int lg_log_open(const char *dir, struct lg_log **out, struct pv_diag *d) __attribute__((warn_unused_result));
int lg_log_open_wait(const char *dir, unsigned wait_ms, struct lg_log **out, struct pv_diag *d)
	__attribute__((warn_unused_result));
void lg_log_close(struct lg_log *l);

uint64_t lg_log_size(const struct lg_log *l);          /* committed and pending */

/* Commits go to the journal, one fdatasync each (on), or to the files (off, the default). */
void lg_log_hold(struct lg_log *l, int on);
/* Writes what the journal holds into the files for good: synced, HEAD, journal emptied. */
int lg_log_settle(struct lg_log *l, struct pv_diag *d) __attribute__((warn_unused_result));
/* 1 when another process (or handle) waits to open the log: a holder should close it. */
int lg_log_contended(struct lg_log *l);
struct lg_tree *lg_log_tree(struct lg_log *l);
const char *lg_log_origin(const struct lg_log *l);

/* Appends an entry (pending until the next commit); *index is its leaf index. */
int lg_log_append(struct lg_log *l, const void *entry, size_t n, uint64_t *index, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* Makes every pending append durable (group commit). */
int lg_log_commit(struct lg_log *l, struct pv_diag *d) __attribute__((warn_unused_result));

/* Reads entry i into out. */
int lg_log_entry(struct lg_log *l, uint64_t i, struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Signs a checkpoint of the committed size, after checking that the last
 * stored checkpoint is consistent with it, and stores it. The note is
 * appended to out.
 */
int lg_log_checkpoint(struct lg_log *l, struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * A sealed log's seed, from its owner: checked against vkey (PV_EINTEGRITY
 * when the folder's key was replaced), and refused when the last stored
 * checkpoint does not cover every committed entry with their root (entries
 * added, rewritten or checkpoints removed by someone without the key: a
 * writer never signs over them). From then on every lg_log_commit signs a
 * checkpoint of the batch and makes it durable with it.
 */
int lg_log_set_seed(struct lg_log *l, const uint8_t seed[32], struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * Checks that the log extends the checkpoint note (one kept outside): it
 * verifies with the log's key, its size is at most the committed size, its
 * root is the root of that prefix. PV_EINTEGRITY naming what differs.
 */
int lg_log_check_extends(struct lg_log *l, const uint8_t *note, size_t n, struct pv_diag *d)
	__attribute__((warn_unused_result));
int lg_log_has_seed(const struct lg_log *l);
int lg_log_sealed(const struct lg_log *l);       /* no key file */
/* The seed of a log that keeps its own key file (to seal it elsewhere). PV_ENOTFOUND. */
int lg_log_seed(const struct lg_log *l, uint8_t seed[32]) __attribute__((warn_unused_result));
/*
 * Turns a log that keeps its key file into a sealed one, once the caller
 * keeps the seed: vkey written, a checkpoint of every entry signed, the key
 * file overwritten, synced and removed.
 */
int lg_log_forget_key(struct lg_log *l, struct pv_diag *d) __attribute__((warn_unused_result));

/* The log's verifier key (vkey) into out. */
int lg_log_vkey(struct lg_log *l, struct pv_buf *out) __attribute__((warn_unused_result));

/* The stored checkpoint of the largest size up to max (out untouched, *size 0, if none). */
int lg_log_checkpoint_upto(struct lg_log *l, uint64_t max, struct pv_buf *out, uint64_t *size, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* The last stored checkpoint note (out empty if none). */
int lg_log_last_checkpoint(struct lg_log *l, struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Verifies a log folder from scratch: every entry's leaf hash and every
 * stored subtree hash recomputed, every checkpoint's signature, size and
 * root, and each checkpoint's consistency with the one before. The first
 * problem is named in d ("entry 41: ...", "checkpoint 3: ..."). *entries
 * and *checkpoints count what was checked.
 */
/*
 * The same with the verifier key vk (lg_vkey_parse) instead of the log's own
 * key file: an auditor holding a copy of the ledger without its signing
 * seed verifies it (PV_EAUTH when vk names another log).
 */
enum { LG_KEY_FILE = 0, LG_KEY_VKEY_FILE, LG_KEY_GIVEN };
struct lg_verify_opts {
	const struct lg_verifier *vk;    /* NULL: the log's key file, else its vkey file */
	const uint8_t *anchors;          /* checkpoints held outside: one or more signed notes */
	size_t anchors_len;
	unsigned wait_ms;                /* how long to wait for a writer holding the log (0: refuse) */
};
struct lg_verify_result {
	uint64_t entries, checkpoints;
	uint64_t uncovered;              /* entries after the last checkpoint */
	uint64_t anchors;                /* outside checkpoints matched */
	int key_source;                  /* LG_KEY_* */
	int sealed;                      /* no key file: every entry must be covered */
};
/*
 * lg_log_verify_key and more: every checkpoint held outside must verify with
 * the key, be of a prefix of this log with its root, and be among the stored
 * checkpoints (else: the tail was cut, an entry rewritten, a checkpoint
 * dropped); a sealed log's entries must all be covered by a checkpoint.
 */
int lg_log_verify_ex(const char *dir, const struct lg_verify_opts *o, struct lg_verify_result *r, struct pv_diag *d)
	__attribute__((warn_unused_result));
int lg_log_verify_key(const char *dir, const struct lg_verifier *vk, uint64_t *entries, uint64_t *checkpoints,
    struct pv_diag *d) __attribute__((warn_unused_result));
int lg_log_verify(const char *dir, uint64_t *entries, uint64_t *checkpoints, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
