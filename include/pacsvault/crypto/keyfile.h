/*
 * keyfile.h: fixed-size key files (docs/FORMATS.md, "Key files").
 *
 * A key file is 48 bytes: magic "PVKEY\0\0\0", version 1, key type,
 * two zero bytes, a 4-byte key id (the first 4 bytes of
 * SHA-256("pacsvault key id" || type || key)) and the 32-byte key. It is
 * created 0600 with O_EXCL (never overwritten) and refused on read when any
 * group or other permission bit is set, when its size or magic is wrong, or
 * when the key id does not match the key (a damaged file).
 */
#ifndef PV_CRYPTO_KEYFILE_H
#define PV_CRYPTO_KEYFILE_H

#include <stdint.h>

#include "pacsvault/base/err.h"

#define PV_KEY_LEN 32
#define PV_KEYFILE_SIZE 48

enum pv_key_type {
	PV_KEY_PROJECT = 1,  /* de-identification pseudonyms and date shifts */
	PV_KEY_MASTER = 2,   /* wraps the vault's data keys */
	PV_KEY_LEDGER = 3    /* keyed hashes of subjects in the ledger */
};

struct pv_key {
	uint8_t type;
	uint8_t id[4];
	uint8_t key[PV_KEY_LEN];
};

/* A fresh random key of type. 0 or PV_EIO. */
int pv_key_generate(struct pv_key *k, enum pv_key_type type) __attribute__((warn_unused_result));

/* Writes k to path (0600, O_EXCL, fsynced). PV_EEXIST when path exists. */
int pv_key_write(const char *path, const struct pv_key *k, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Reads a key of type want from path. PV_EAUTH when the file is readable or
 * writable by group or others; PV_EPARSE for a wrong size, magic, version or
 * type; PV_EINTEGRITY when the key id does not match.
 */
int pv_key_read(const char *path, enum pv_key_type want, struct pv_key *k, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* Eight hex digits of the key id. */
void pv_key_id_hex(const struct pv_key *k, char out[9]);

/* The name of a key type ("project"). */
const char *pv_key_type_name(enum pv_key_type type);

/* Wipes k. */
void pv_key_clear(struct pv_key *k);

#endif
