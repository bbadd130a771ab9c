/*
 * log.h: the append-only audit log on disk (a folder).
 *
 *   entries.dat    the entries: u32 big-endian length, then the bytes
 *   entries.idx    u64 big-endian offset of each entry in entries.dat
 *   tree.K         level K of the Merkle tree (merkle.h): the 32-byte hashes
 *                  of the complete aligned subtrees of 2^K leaves; level K
 *                  of a log of n entries holds exactly n >> K hashes
 *   checkpoints    the signed checkpoints: u32 big-endian length, the note
 *   HEAD           "pacsvault-ledger 1\nsize N\n": the committed size
 *   origin, key    the log's name; its Ed25519 seed (0600)
 *
 * Appends are buffered; lg_log_commit() makes a whole batch durable with
 * one fdatasync per file and then replaces HEAD atomically (temp, fsync,
 * rename, directory fsync): group commit. HEAD is the commit record: on
 * open, every file is cut back to what HEAD says, so a crash at any moment
 * leaves the log at its last committed size, whole.
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

/* The log's verifier key (vkey) into out. */
int lg_log_vkey(struct lg_log *l, struct pv_buf *out) __attribute__((warn_unused_result));

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
int lg_log_verify_key(const char *dir, const struct lg_verifier *vk, uint64_t *entries, uint64_t *checkpoints,
    struct pv_diag *d) __attribute__((warn_unused_result));
int lg_log_verify(const char *dir, uint64_t *entries, uint64_t *checkpoints, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
