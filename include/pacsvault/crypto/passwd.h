/*
 * passwd.h: secrets of serve's users and the pins of their certificates.
 *
 * A secret is stored as "scrypt$LOGN$R$P$SALT$HASH" (hex SALT of 16 bytes,
 * HASH of 32): scrypt (RFC 7914), memory-hard, N = 2^15, r = 8, p = 1
 * (32 MiB and about 0.1 s a try). A certificate is pinned by the SHA-256
 * of its SubjectPublicKeyInfo (DER), in hex: the same key keeps its pin
 * across renewals, and no CA is trusted for identity.
 */
#ifndef PV_CRYPTO_PASSWD_H
#define PV_CRYPTO_PASSWD_H
#include <stddef.h>
#include "pacsvault/base/err.h"

#define PV_PW_MAX 160

int pv_pw_hash(const void *secret, size_t n, char out[PV_PW_MAX], struct pv_diag *d)
    __attribute__((warn_unused_result));
/* 0 when secret matches stored; PV_EAUTH when not; PV_EPARSE for a stored value that is not one (compared in constant time). */
int pv_pw_verify(const void *secret, size_t n, const char *stored, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* The pin of the first certificate in a PEM file. */
int pv_cert_pin_file(const char *path, char hex[65], struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The first certificate of a PEM file: 0 with *state 0 (valid beyond
 * days), 1 (expires within days), 2 (expired or not yet valid).
 */
int pv_cert_expiry(const char *path, int days, int *state, struct pv_diag *d) __attribute__((warn_unused_result));

#endif
