/* sign.c: Ed25519 through OpenSSL's EVP interface (see sign.h). */
#include "pacsvault/crypto/sign.h"
#include "pacsvault/base/err.h"

#include "pacsvault/crypto/ossl.h"

int
pv_ed25519_public(const uint8_t seed[32], uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	size_t n = 32;
	int rc = PV_EINTERNAL;
	if (k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int
pv_ed25519_sign(const uint8_t seed[32], const void *msg, size_t n, uint8_t sig[64])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sl = 64;
	int rc = PV_EINTERNAL;
	if (k != NULL && ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(ctx, sig, &sl, msg, n) == 1 && sl == 64)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

int
pv_ed25519_verify(const uint8_t pub[32], const void *msg, size_t n, const uint8_t sig[64])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = PV_EINTEGRITY;
	if (k != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, msg, n) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}
