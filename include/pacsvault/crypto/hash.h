/*
 * hash.h: SHA-256, HMAC-SHA256, randomness and secret hygiene.
 *
 * The only module that calls OpenSSL's primitives (DESIGN.md, layer 1).
 * Buffers that held secrets are wiped with pv_cleanse().
 */
#ifndef PV_CRYPTO_HASH_H
#define PV_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PV_SHA256_LEN 32

/* SHA-256 of n bytes (FIPS 180-4). 0 or PV_EINTERNAL. */
int pv_sha256(const void *p, size_t n, uint8_t out[PV_SHA256_LEN])
	__attribute__((warn_unused_result));

/* HMAC-SHA256 (RFC 2104) of n bytes under key. 0 or PV_EINTERNAL. */
int pv_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[PV_SHA256_LEN]) __attribute__((warn_unused_result));

/*
 * HMAC-SHA256 of the concatenation of two parts (a label and a value), so
 * callers can domain-separate without building a buffer: HMAC(key, a || b).
 */
int pv_hmac_sha256_2(const uint8_t *key, size_t keylen, const void *a, size_t an,
    const void *b, size_t bn, uint8_t out[PV_SHA256_LEN]) __attribute__((warn_unused_result));

/* n bytes from the operating system's CSPRNG. 0 or PV_EIO. */
/*
 * A reusable SHA-256 context (no allocation per hash): SHA-256(a || b || c),
 * any part may be empty. For the Merkle log, which hashes millions of
 * small nodes.
 */
struct pv_hasher;
struct pv_hasher *pv_hasher_new(void);
void pv_hasher_free(struct pv_hasher *h);
int pv_hasher_sha256(struct pv_hasher *h, const void *a, size_t an, const void *b, size_t bn, const void *c,
    size_t cn, uint8_t out[PV_SHA256_LEN]) __attribute__((warn_unused_result));

int pv_random(void *p, size_t n) __attribute__((warn_unused_result));

/*
 * Loads OpenSSL's libcrypto now rather than on its first use (it is not
 * linked: pacsvault/base/dynlib.h). A command that will need it calls this
 * before it writes anything, so that a missing library stops it before it
 * starts, not half-way (exit 70 with a message).
 */
void pv_crypto_load(void);
/*
 * Streaming HMAC-SHA256 for data read in pieces (the vault's content MAC).
 * pv_mac_new returns NULL when out of memory; pv_mac_free is NULL-safe.
 */
struct pv_mac;
struct pv_mac *pv_mac_new(const uint8_t *key, size_t keylen);
int pv_mac_update(struct pv_mac *m, const void *p, size_t n) __attribute__((warn_unused_result));
int pv_mac_final(struct pv_mac *m, uint8_t out[PV_SHA256_LEN]) __attribute__((warn_unused_result));
void pv_mac_free(struct pv_mac *m);

/* Wipes n bytes in a way the compiler cannot drop. */
void pv_cleanse(void *p, size_t n);

/* 1 when the n bytes are equal, in time independent of where they differ. */
int pv_memeq_ct(const void *a, const void *b, size_t n);

#endif
