/* hash.c: SHA-256, HMAC-SHA256, randomness (OpenSSL 3). */
#include "pacsvault/crypto/hash.h"
#include "pacsvault/base/err.h"

#include "pacsvault/crypto/ossl.h"

#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>

/* Fetching the HMAC implementation walks the provider tables: once is enough
 * (EVP_MAC objects may be shared between threads). Kept for the process. */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/*
 * Per thread, the keyed HMAC context of the last key used: de-identification
 * computes a dozen HMACs per file under one project key, and setting a key
 * up (the digest fetched, the padded key hashed) costs more than the MAC of
 * a UID. Each call duplicates the keyed context. Keys up to 64 bytes are
 * cached (the context holds what the key gives anyway); the cache is
 * scrubbed and freed with the thread.
 */
struct hmac_cache {
	uint8_t key[64];
	size_t keylen;
	EVP_MAC_CTX *keyed;
};

static pthread_key_t hmac_tls;

static void
hmac_cache_free(void *p)
{
	struct hmac_cache *c = p;
	if (c != NULL) {
		EVP_MAC_CTX_free(c->keyed);
		pv_cleanse(c, sizeof(*c));
		free(c);
	}
}

static void
hmac_fetch(void)
{
	hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (pthread_key_create(&hmac_tls, hmac_cache_free) != 0)
		hmac_impl = NULL;
}

/* A fresh context keyed with key: a copy of the thread's cached one, or new. */
static EVP_MAC_CTX *
hmac_keyed(const uint8_t *key, size_t keylen)
{
	struct hmac_cache *c = pthread_getspecific(hmac_tls);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	if (c != NULL && c->keyed != NULL && c->keylen == keylen && pv_memeq_ct(c->key, key, keylen))
		return EVP_MAC_CTX_dup(c->keyed);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(hmac_impl)) == NULL)
		return NULL;
	if (EVP_MAC_init(ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	if (keylen > sizeof(c->key))
		return ctx;
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL && pthread_setspecific(hmac_tls, c) != 0) {
		free(c);
		c = NULL;
	}
	if (c != NULL) {
		EVP_MAC_CTX_free(c->keyed);
		c->keyed = EVP_MAC_CTX_dup(ctx);
		memcpy(c->key, key, keylen);
		c->keylen = keylen;
	}
	return ctx;
}

int
pv_sha256(const void *p, size_t n, uint8_t out[PV_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != PV_SHA256_LEN)
		return PV_EINTERNAL;
	return 0;
}

int
pv_hmac_sha256_2(const uint8_t *key, size_t keylen, const void *a, size_t an,
    const void *b, size_t bn, uint8_t out[PV_SHA256_LEN])
{
	EVP_MAC_CTX *ctx = NULL;
	size_t outlen = 0;
	int rc = PV_EINTERNAL;

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_impl == NULL)
		return PV_EINTERNAL;
	if ((ctx = hmac_keyed(key, keylen)) == NULL)
		goto done;
	if (an > 0 && EVP_MAC_update(ctx, a, an) != 1)
		goto done;
	if (bn > 0 && EVP_MAC_update(ctx, b, bn) != 1)
		goto done;
	if (EVP_MAC_final(ctx, out, &outlen, PV_SHA256_LEN) != 1 || outlen != PV_SHA256_LEN)
		goto done;
	rc = 0;
done:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int
pv_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[PV_SHA256_LEN])
{
	return pv_hmac_sha256_2(key, keylen, p, n, NULL, 0, out);
}

/*
 * Randomness, wiping and comparison need no library: the kernel's CSPRNG
 * (getrandom, which blocks only until it is first seeded), explicit_bzero
 * (which the compiler may not remove), and a comparison whose time does not
 * depend on where the inputs differ. So only hashing, MACs, encryption and
 * signatures load OpenSSL.
 */
int
pv_random(void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t got = getrandom(b, n > 256 ? 256 : n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return PV_EIO;
		}
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

void
pv_cleanse(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

int
pv_memeq_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(x[i] ^ y[i]);
	return d == 0;
}

struct pv_hasher {
	EVP_MD_CTX *ctx;
};

struct pv_hasher *
pv_hasher_new(void)
{
	struct pv_hasher *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void
pv_hasher_free(struct pv_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
pv_hasher_sha256(struct pv_hasher *h, const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn,
    uint8_t out[PV_SHA256_LEN])
{
	unsigned int len = 0;
	if (EVP_DigestInit_ex2(h->ctx, EVP_sha256(), NULL) != 1 || (an && EVP_DigestUpdate(h->ctx, a, an) != 1) ||
	    (bn && EVP_DigestUpdate(h->ctx, b, bn) != 1) || (cn && EVP_DigestUpdate(h->ctx, c, cn) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != PV_SHA256_LEN)
		return PV_EINTERNAL;
	return 0;
}

struct pv_mac {
	EVP_MAC_CTX *ctx;
};

struct pv_mac *
pv_mac_new(const uint8_t *key, size_t keylen)
{
	struct pv_mac *m;
	OSSL_PARAM params[2];

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_impl == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m->ctx = EVP_MAC_CTX_new(hmac_impl)) == NULL || EVP_MAC_init(m->ctx, key, keylen, params) != 1) {
		pv_mac_free(m);
		return NULL;
	}
	return m;
}

int
pv_mac_update(struct pv_mac *m, const void *p, size_t n)
{
	return n == 0 || EVP_MAC_update(m->ctx, p, n) == 1 ? 0 : PV_EINTERNAL;
}

int
pv_mac_final(struct pv_mac *m, uint8_t out[PV_SHA256_LEN])
{
	size_t len = 0;

	if (EVP_MAC_final(m->ctx, out, &len, PV_SHA256_LEN) != 1 || len != PV_SHA256_LEN)
		return PV_EINTERNAL;
	return 0;
}

void
pv_mac_free(struct pv_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}
