/*
 * witness.h: a C2SP tlog-witness (add-checkpoint, v1) and a witness
 * policy (which cosignatures make a checkpoint trusted).
 *
 * A witness cosigns a log's checkpoint only after checking the log's
 * signature and, from the size it cosigned last for that log, a
 * consistency proof; it stores the new size and root durably before it
 * answers, so it never cosigns two views of one log that are not
 * consistent, nor a smaller tree after a larger one, across restarts.
 *
 * Folder: key (Ed25519 seed, 0600), name, logs/HEX(SHA-256(origin)) with
 * "size N\nroot BASE64\n", lock (flock: one process at a time).
 */
#ifndef PV_LEDGER_WITNESS_H
#define PV_LEDGER_WITNESS_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/ledger/note.h"

struct lg_witness;

int lg_witness_create(const char *dir, const char *name, struct pv_diag *d) __attribute__((warn_unused_result));
int lg_witness_open(const char *dir, struct lg_witness **out, struct pv_diag *d) __attribute__((warn_unused_result));
void lg_witness_close(struct lg_witness *w);
/* The witness's cosignature verifier key (type 0x04). */
int lg_witness_vkey(const struct lg_witness *w, struct pv_buf *out) __attribute__((warn_unused_result));

/*
 * Handles one add-checkpoint request body ("old N\n", consistency proof
 * lines, a blank line, the signed checkpoint) for the logs of v (matched by
 * origin = key name). Returns the HTTP status of C2SP tlog-witness: 200 (the
 * cosignature line appended to out), 400 malformed, 403 not signed by the
 * log, 404 unknown log, 409 old is not the witness's size (*cur_size set),
 * 422 the proof does not prove consistency; 500 when it could not store
 * its state (nothing cosigned). The reason is in d.
 */
int lg_witness_add_checkpoint(struct lg_witness *w, const struct lg_verifier *v, size_t nv, const uint8_t *body,
    size_t n, uint64_t now, struct pv_buf *out, uint64_t *cur_size, struct pv_diag *d);

/*
 * A witness policy (docs/FORMATS.md "Witness policy"), one statement a line:
 *   log VKEY                    a log key (checkpoints must carry its signature)
 *   witness NAME VKEY [URL]     a witness and its cosignature key (type 0x04)
 *   group NAME K|all|any NAME... satisfied when K (all, 1) of its members are
 *   quorum NAME|none            what a checkpoint needs
 * '#' starts a comment; names are defined before use (so no cycles).
 */
#define LG_POLICY_MAX 64
struct lg_policy {
	size_t nlogs, nwit, ngroups;
	struct lg_verifier logs[8];
	struct lg_verifier wit[LG_POLICY_MAX];
	char wit_name[LG_POLICY_MAX][64];
	char wit_url[LG_POLICY_MAX][256];    /* its add-checkpoint submission prefix, "" when not given */
	struct {
		char name[64];
		unsigned k;
		size_t n;
		int member[LG_POLICY_MAX];   /* >= 0: witness index; < 0: -(group index) - 1 */
	} group[LG_POLICY_MAX];
	int quorum_kind;                     /* 0 none, 1 a witness, 2 a group; -1 not stated */
	int quorum_index;
};

int lg_policy_parse(const char *text, size_t n, struct lg_policy *p, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* 1 when the witnesses with cosigned[i] set satisfy the quorum. */
int lg_policy_satisfied(const struct lg_policy *p, const int *cosigned);

#endif
