/* cms.c: CMS enveloped data (RFC 5652) through OpenSSL, for PS3.15 E.1.2. */
#include "pacsvault/crypto/cms.h"

#include "pacsvault/crypto/ossl.h"

#include <stdio.h>
#include <stdlib.h>

struct pv_cms_recipient {
	X509 *cert;
};

int
pv_cms_recipient_load(const char *cert_pem, struct pv_cms_recipient **out, struct pv_diag *d)
{
	struct pv_cms_recipient *r;
	FILE *f = fopen(cert_pem, "r");

	*out = NULL;
	if (f == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "cannot open the certificate");
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		fclose(f);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	r->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (r->cert == NULL) {
		free(r);
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "not a PEM certificate");
	}
	*out = r;
	return 0;
}

void
pv_cms_recipient_free(struct pv_cms_recipient *r)
{
	if (r == NULL)
		return;
	X509_free(r->cert);
	free(r);
}

static int
bio_to_buf(BIO *b, struct pv_buf *out)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	if (n < 0)
		return PV_EINTERNAL;
	return pv_buf_append(out, p, (size_t)n);
}

int
pv_cms_encrypt(const struct pv_cms_recipient *r, const uint8_t *p, size_t n, struct pv_buf *out,
    struct pv_diag *d)
{
	/* OPENSSL_sk_*: the sk_X509_* inline wrappers would call libcrypto directly (ossl.h). */
	STACK_OF(X509) *certs = (STACK_OF(X509) *)OPENSSL_sk_new_null();
	BIO *in = NULL, *der = NULL;
	CMS_ContentInfo *cms = NULL;
	int rc = PV_EINTERNAL;

	if (certs == NULL || OPENSSL_sk_push((OPENSSL_STACK *)certs, r->cert) <= 0)
		goto done;
	if (n > INT32_MAX || (in = BIO_new_mem_buf(p, (int)n)) == NULL || (der = BIO_new(BIO_s_mem())) == NULL)
		goto done;
	cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_BINARY);
	if (cms == NULL || i2d_CMS_bio(der, cms) != 1)
		goto done;
	rc = bio_to_buf(der, out);
done:
	if (rc != 0) {
		ERR_clear_error();
		pv_diag_set(d, rc, -1, "CMS encryption failed");
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(der);
	OPENSSL_sk_free((OPENSSL_STACK *)certs);  /* the certificate stays r's */
	return rc;
}

int
pv_cms_check_key(const char *key_pem, const char *cert_pem, struct pv_diag *d)
{
	EVP_PKEY *pkey;
	X509 *cert;
	FILE *f;

	if ((f = fopen(key_pem, "r")) == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "%.200s: cannot open the private key", key_pem);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "%.200s: not a PEM private key (or it is encrypted)", key_pem);
	}
	EVP_PKEY_free(pkey);
	if (cert_pem == NULL)
		return 0;
	if ((f = fopen(cert_pem, "r")) == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "%.200s: cannot open the certificate", cert_pem);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "%.200s: not a PEM certificate", cert_pem);
	}
	X509_free(cert);
	return 0;
}

int
pv_cms_decrypt(const char *key_pem, const char *cert_pem, const uint8_t *der, size_t n,
    struct pv_buf *out, struct pv_diag *d)
{
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	BIO *in = NULL, *plain = NULL;
	CMS_ContentInfo *cms = NULL;
	FILE *f;
	int rc;

	if ((f = fopen(key_pem, "r")) == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "cannot open the private key");
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "not a PEM private key (or it is encrypted)");
	}
	if (cert_pem != NULL) {
		if ((f = fopen(cert_pem, "r")) == NULL) {
			rc = pv_diag_set(d, PV_ENOTFOUND, -1, "cannot open the certificate");
			goto done;
		}
		cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (cert == NULL) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "not a PEM certificate");
			goto done;
		}
	}
	if (n > INT32_MAX || (in = BIO_new_mem_buf(der, (int)n)) == NULL ||
	    (plain = BIO_new(BIO_s_mem())) == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto done;
	}
	if ((cms = d2i_CMS_bio(in, NULL)) == NULL) {
		rc = pv_diag_set(d, PV_EPARSE, -1, "the encrypted content is not CMS");
		goto done;
	}
	if (CMS_decrypt(cms, pkey, cert, NULL, plain, CMS_BINARY) != 1) {
		rc = pv_diag_set(d, PV_EAUTH, -1, "this key cannot decrypt it (not a recipient, or damaged)");
		goto done;
	}
	rc = bio_to_buf(plain, out);
	if (rc != 0)
		pv_diag_set(d, rc, -1, "out of memory");
done:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(plain);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}
