/*
 * sealed.h: the sealed object format (docs/FORMATS.md, "Sealed objects")
 * and small sealed values.
 *
 * A sealed object is a 160-byte header and a body of AES-256-GCM chunks:
 *
 *   0    8  magic "PVSEALED"
 *   8    1  version (1)
 *   9    1  suite (1: AES-256-GCM, 64 KiB chunks)
 *   10   6  zero
 *   16  16  object id (random; the file is named after it)
 *   32  64  key slot 0 } each: master key id (4) | nonce (12) |
 *   96  64  key slot 1 }       data key wrapped with AES-256-GCM (32) | tag (16)
 *   160     chunks: ciphertext (65,536 bytes; the last 0..65,536) | tag (16)
 *
 * The data key is fresh for every object and wrapped under the key
 * encryption key HMAC-SHA256(master, "pacsvault v1 wrap"), with the header's
 * first 32 bytes, the slot's key id and the slot number as associated data.
 * Chunk i uses the nonce 0x00000000 || u64be(i) and the associated data
 * object id || u64be(i) || final (1 for the last chunk, else 0), so that a
 * truncated, extended, reordered or transplanted body fails to open. Two
 * slots let `vault rotate-key` write the new wrap beside the old one and
 * never rewrite the body or put the only wrap at risk of a torn write.
 *
 * Nothing here returns plaintext that did not authenticate: a chunk is
 * only handed out after its tag verified.
 */
#ifndef PV_CRYPTO_SEALED_H
#define PV_CRYPTO_SEALED_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"
#include "pacsvault/crypto/keyfile.h"

#define PV_SEALED_HDR 160
#define PV_SEALED_CHUNK 65536
#define PV_SEALED_TAG 16
#define PV_SEALED_OBJID 16
/* The most chunks an object may have (2^32 x 64 KiB = 256 TiB). */
#define PV_SEALED_MAX_CHUNKS ((uint64_t)1 << 32)

/* Writing: a sealer owns its cipher context and a 64 KiB buffer. */
struct pv_sealer {
	void *ctx;                      /* EVP_CIPHER_CTX */
	uint8_t dk[PV_KEY_LEN];         /* the object's data key */
	uint8_t objid[PV_SEALED_OBJID];
	uint64_t chunk;                 /* next chunk index */
	uint8_t *buf;                   /* plaintext waiting: fill bytes */
	uint8_t *out;                   /* one sealed chunk */
	size_t fill;
	int fd;
	uint64_t plain_bytes;
};

/*
 * Starts an object on fd (at its current position: the caller's empty
 * temporary file): a fresh data key wrapped under master in slot 0, the
 * header written. objid is the caller's random id. Release with
 * pv_sealer_free whatever happens.
 */
int pv_sealer_begin(struct pv_sealer *s, const struct pv_key *master,
    const uint8_t objid[PV_SEALED_OBJID], int fd, struct pv_diag *d) __attribute__((warn_unused_result));
/* Seals n more plaintext bytes (full chunks are written as they fill). */
int pv_sealer_update(struct pv_sealer *s, const void *p, size_t n, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* Writes the final chunk. The caller fsyncs and renames. */
int pv_sealer_finish(struct pv_sealer *s, struct pv_diag *d) __attribute__((warn_unused_result));
/* Wipes the data key and frees. NULL-safe, idempotent. */
void pv_sealer_free(struct pv_sealer *s);

/* Reading. */
struct pv_opener {
	void *ctx;
	uint8_t dk[PV_KEY_LEN];
	uint8_t objid[PV_SEALED_OBJID];
	int fd;
	int slot;                       /* the slot master opened */
	uint64_t nchunks;
	uint64_t body;                  /* bytes after the header */
	uint8_t *in;
};

/*
 * Reads fd's header and unwraps its data key with master. When objid is
 * not NULL the header's object id must equal it (a moved or swapped object
 * file). Errors: PV_EPARSE (not a sealed object, unknown version),
 * PV_ETRUNC (shorter than a header and one tag), PV_EAUTH (no slot holds
 * master's key id: the wrong key), PV_EINTEGRITY (the wrap or the id does
 * not verify). Release with pv_opener_free.
 */
int pv_opener_begin(struct pv_opener *o, const struct pv_key *master, int fd,
    const uint8_t objid[PV_SEALED_OBJID], struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * Opens chunk i (< o->nchunks) into out (PV_SEALED_CHUNK bytes), its length
 * in *n. PV_EINTEGRITY when its tag does not verify; nothing is in out then.
 */
int pv_opener_chunk(struct pv_opener *o, uint64_t i, uint8_t *out, size_t *n, struct pv_diag *d)
	__attribute__((warn_unused_result));
void pv_opener_free(struct pv_opener *o);

/* The plaintext size of an object whose file is size bytes, or -1 when no object has that size. */
int64_t pv_sealed_plain_size(uint64_t size);

/*
 * Adds a wrap of fd's data key under new_master (unwrapped with old_master)
 * in the slot old_master does not use, and fsyncs. Does nothing when a slot
 * already holds new_master's wrap and it verifies. The body is not touched.
 */
int pv_sealed_rewrap(int fd, const struct pv_key *old_master, const struct pv_key *new_master,
    const uint8_t objid[PV_SEALED_OBJID], struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * Drops every slot but new_master's (zeroes the other) and fsyncs: after a
 * finished rotation the old master key opens nothing.
 */
int pv_sealed_drop_other_slots(int fd, const struct pv_key *master, struct pv_diag *d)
	__attribute__((warn_unused_result));
/*
 * Crypto-shred: overwrites both key slots with zeros and fsyncs, so the
 * body can no longer be opened with any key.
 */
int pv_sealed_shred(int fd, struct pv_diag *d) __attribute__((warn_unused_result));
/* 1 when both key slots of fd's header are zero (shredded). */
int pv_sealed_shredded(int fd);

/* The master key id held in slot (0 or 1) of a header, zero bytes when empty. */
void pv_sealed_slot_keyid(const uint8_t hdr[PV_SEALED_HDR], int slot, uint8_t id[4]);

/*
 * Small sealed values (index columns, the vault's wrapped index key):
 * nonce (12, random) | ciphertext (n) | tag (16), AES-256-GCM under key
 * with aad. out must hold n + PV_SEALED_SMALL_OVERHEAD bytes.
 */
#define PV_SEALED_SMALL_OVERHEAD 28
int pv_seal_small(const uint8_t key[PV_KEY_LEN], const void *aad, size_t aadn, const void *p, size_t n,
    uint8_t *out) __attribute__((warn_unused_result));
/* The inverse: n bytes of sealed value into out (n - 28 bytes). PV_EINTEGRITY on any change. */
int pv_open_small(const uint8_t key[PV_KEY_LEN], const void *aad, size_t aadn, const uint8_t *p, size_t n,
    uint8_t *out) __attribute__((warn_unused_result));

/*
 * Test hook: pv_sealer_begin with a fixed data key and slot nonce instead
 * of random ones, for the byte-exact vectors of docs/FORMATS.md. Never used
 * outside tests.
 */
int pv_sealer_begin_fixed(struct pv_sealer *s, const struct pv_key *master,
    const uint8_t objid[PV_SEALED_OBJID], const uint8_t dk[PV_KEY_LEN], const uint8_t nonce[12], int fd,
    struct pv_diag *d) __attribute__((warn_unused_result));

#endif
