/* sign.h: Ed25519 signatures (RFC 8032) for the audit log's checkpoints. */
#ifndef PV_CRYPTO_SIGN_H
#define PV_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* The public key of a 32-byte seed. */
int pv_ed25519_public(const uint8_t seed[32], uint8_t pub[32]) __attribute__((warn_unused_result));
int pv_ed25519_sign(const uint8_t seed[32], const void *msg, size_t n, uint8_t sig[64])
	__attribute__((warn_unused_result));
/* 0 when sig is pub's signature of msg; PV_EINTEGRITY otherwise. */
int pv_ed25519_verify(const uint8_t pub[32], const void *msg, size_t n, const uint8_t sig[64]);

#endif
