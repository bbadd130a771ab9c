/*
 * cms.h: CMS (RFC 5652) enveloped data for the Encrypted Attributes Sequence
 * of PS3.15 E.1.2: the original values of de-identified attributes, readable
 * only by the holder of a certificate's private key.
 */
#ifndef PV_CRYPTO_CMS_H
#define PV_CRYPTO_CMS_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

struct pv_cms_recipient;

/* Loads a PEM certificate (the recipient). Free with pv_cms_recipient_free. */
int pv_cms_recipient_load(const char *cert_pem, struct pv_cms_recipient **out, struct pv_diag *d)
	__attribute__((warn_unused_result));
void pv_cms_recipient_free(struct pv_cms_recipient *r);

/* Encrypts n bytes for r (AES-256-CBC content key, RSA or EC key transport): DER into out. */
int pv_cms_encrypt(const struct pv_cms_recipient *r, const uint8_t *p, size_t n, struct pv_buf *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Checks, before any file is touched, that key_pem holds a PEM private key
 * and cert_pem (may be NULL) a PEM certificate; the error names the file.
 */
int pv_cms_check_key(const char *key_pem, const char *cert_pem, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Decrypts DER enveloped data with a PEM private key (and, to pick the
 * recipient, its PEM certificate when given). PV_EAUTH when the key is not
 * a recipient; PV_EPARSE for malformed data.
 */
int pv_cms_decrypt(const char *key_pem, const char *cert_pem, const uint8_t *der, size_t n,
    struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

#endif
