/*
 * note.h: C2SP signed notes (signed-note v1.0.0) with Ed25519 keys, and
 * C2SP tlog-checkpoint bodies: the form in which the audit log publishes
 * its signed tree heads, so that anyone holding the log's verifier key
 * (vkey) can check them and witnesses can cosign them.
 */
#ifndef PV_LEDGER_NOTE_H
#define PV_LEDGER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

#define LG_NAME_MAX 256
#define LG_SIG_ED25519 0x01
#define LG_SIG_COSIGNATURE 0x04   /* C2SP tlog-cosignature: cosignature/v1, Ed25519 */

struct lg_verifier {
	char name[LG_NAME_MAX];
	uint32_t key_id;        /* first 4 bytes of SHA-256(name || "\n" || type || pub), big-endian */
	uint8_t pub[32];
	uint8_t type;           /* LG_SIG_ED25519 (a note signature) or LG_SIG_COSIGNATURE (a witness) */
	uint64_t timestamp;     /* set by lg_note_open for a verified cosignature */
};

/* Key names: non-empty, no spaces (Unicode), no '+', valid UTF-8 without controls. */
int lg_name_valid(const char *name, size_t n);

int lg_key_id(const char *name, const uint8_t pub[32], uint32_t *id) __attribute__((warn_unused_result));
/* The key id for a key of type (LG_SIG_ED25519 or LG_SIG_COSIGNATURE). */
int lg_key_id_typed(const char *name, uint8_t type, const uint8_t pub[32], uint32_t *id)
	__attribute__((warn_unused_result));

/*
 * "name+hex8(key id)+base64(type || pub)": parse (every part checked, the
 * id recomputed; type 0x01 or 0x04) and format (lg_vkey_format: type 0x01).
 */
int lg_vkey_parse(const char *vkey, struct lg_verifier *v) __attribute__((warn_unused_result));
int lg_vkey_format(const char *name, const uint8_t pub[32], struct pv_buf *out) __attribute__((warn_unused_result));
int lg_vkey_format_typed(const char *name, uint8_t type, const uint8_t pub[32], struct pv_buf *out)
	__attribute__((warn_unused_result));

/*
 * A C2SP tlog-cosignature (cosignature/v1) line for a checkpoint text by
 * the witness key of seed at timestamp (seconds since 1970):
 * "— name base64(key id || u64be(timestamp) || Ed25519 signature of
 * "cosignature/v1\ntime TIMESTAMP\n" || text)\n", appended to out.
 */
int lg_cosign(const char *text, size_t n, const char *name, const uint8_t seed[32], uint64_t timestamp,
    struct pv_buf *out) __attribute__((warn_unused_result));

/* Appends text (which must end in "\n") and its signature block by the key of seed to out. */
int lg_note_sign(const char *text, size_t n, const char *name, const uint8_t seed[32], struct pv_buf *out)
	__attribute__((warn_unused_result));

/*
 * Opens a signed note: the text must be UTF-8 without control characters
 * but newline, end with a blank line and signature lines "— name
 * base64(key id || signature)\n". Signatures by keys not in v are ignored;
 * one by a key in v that does not verify is an error (PV_EINTEGRITY); at
 * least one must verify. *text_len is the length of the text (up to and
 * including its last newline); verified[i] is set for each key of v that
 * signed it. A verifier of type LG_SIG_COSIGNATURE checks a cosignature/v1
 * line (its timestamp goes to timestamps[i] when timestamps is not NULL).
 */
int lg_note_open_ts(const uint8_t *note, size_t n, const struct lg_verifier *v, size_t nv, size_t *text_len,
    int *verified, uint64_t *timestamps, struct pv_diag *d) __attribute__((warn_unused_result));
int lg_note_open(const uint8_t *note, size_t n, const struct lg_verifier *v, size_t nv, size_t *text_len,
    int *verified, struct pv_diag *d) __attribute__((warn_unused_result));

/* C2SP tlog-checkpoint body: "origin\nsize\nbase64(root)\n" and extension lines. */
struct lg_checkpoint {
	char origin[LG_NAME_MAX];
	uint64_t size;
	uint8_t root[32];
};

/* Strict parse (canonical decimal size, 32-byte canonical base64 root, non-empty extension lines). */
int lg_checkpoint_parse(const char *text, size_t n, struct lg_checkpoint *c, struct pv_diag *d)
	__attribute__((warn_unused_result));
int lg_checkpoint_format(const struct lg_checkpoint *c, struct pv_buf *out) __attribute__((warn_unused_result));

/*
 * Parses a c2sp.org/tlog-proof@v1 bundle: the header line, an optional
 * "extra" line, "index N", the proof hashes (base64, one per line), a
 * blank line, then the signed checkpoint (its offset in *note_off).
 */
int lg_proof_parse(const uint8_t *b, size_t n, uint64_t *index, uint8_t proof[][32], size_t *plen, size_t *note_off)
	__attribute__((warn_unused_result));

/* Standard base64 with padding, canonical (unused bits zero); -1 on any other input. */
int lg_b64_decode(const char *s, size_t n, uint8_t *out, size_t max);

#endif
