/* passwd.c: user secrets (scrypt) and certificate pins (see passwd.h). */
#include "pacsvault/crypto/passwd.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/ossl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGN 15
#define R 8
#define P 1
#define SALT 16
#define HASH 32

static void
hexs(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int
unhex(const char *s, size_t len, unsigned char *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int
derive(const void *secret, size_t n, const unsigned char *salt, unsigned logn, unsigned r, unsigned p,
    unsigned char out[HASH], struct pv_diag *d)
{
	ERR_clear_error();
	if (EVP_PBE_scrypt(secret, n, salt, SALT, (uint64_t)1 << logn, r, p, (uint64_t)256 << 20, out, HASH) != 1) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EINTERNAL, -1, "scrypt failed");
	}
	return 0;
}

int
pv_pw_hash(const void *secret, size_t n, char out[PV_PW_MAX], struct pv_diag *d)
{
	unsigned char salt[SALT], h[HASH];
	char sh[2 * SALT + 1], hh[2 * HASH + 1];
	int rc;

	if (pv_random(salt, sizeof(salt)) != 0)
		return pv_diag_set(d, PV_EINTERNAL, -1, "no random bytes");
	if ((rc = derive(secret, n, salt, LOGN, R, P, h, d)) != 0)
		return rc;
	hexs(salt, SALT, sh);
	hexs(h, HASH, hh);
	snprintf(out, PV_PW_MAX, "scrypt$%d$%d$%d$%s$%s", LOGN, R, P, sh, hh);
	pv_cleanse(h, sizeof(h));
	return 0;
}

int
pv_pw_verify(const void *secret, size_t n, const char *stored, struct pv_diag *d)
{
	unsigned logn, r, p;
	char sh[2 * SALT + 2], hh[2 * HASH + 2];
	unsigned char salt[SALT], want[HASH], got[HASH];
	int rc;

	if (sscanf(stored, "scrypt$%2u$%2u$%2u$%33[0-9a-f]$%65[0-9a-f]", &logn, &r, &p, sh, hh) != 5 ||
	    strlen(sh) != 2 * SALT || strlen(hh) != 2 * HASH || logn < 10 || logn > 22 || r < 1 || r > 32 || p < 1 ||
	    p > 16 || unhex(sh, SALT, salt) != 0 || unhex(hh, HASH, want) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "a stored secret that is not scrypt$...");
	if ((rc = derive(secret, n, salt, logn, r, p, got, d)) != 0)
		return rc;
	rc = CRYPTO_memcmp(got, want, HASH) == 0 ? 0 : PV_EAUTH;
	pv_cleanse(got, sizeof(got));
	return rc;
}

int
pv_cert_pin_file(const char *path, char hex[65], struct pv_diag *d)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *der = NULL, md[32];
	int n, rc = 0;

	hex[0] = '\0';
	if (f == NULL)
		return pv_diag_set(d, PV_EIO, -1, "%s: %s", path, strerror(errno));
	ERR_clear_error();
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "%s: not a PEM certificate", path);
	}
	if ((k = X509_get_pubkey(x)) == NULL || (n = i2d_PUBKEY(k, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1)
		rc = pv_diag_set(d, PV_EPARSE, -1, "%s: its public key cannot be read", path);
	else
		hexs(md, 32, hex);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
pv_cert_expiry(const char *path, int days, int *state, struct pv_diag *d)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	time_t soon = time(NULL) + (time_t)days * 86400;

	*state = 2;
	if (f == NULL)
		return pv_diag_set(d, PV_EIO, -1, "%s: %s", path, strerror(errno));
	ERR_clear_error();
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		return pv_diag_set(d, PV_EPARSE, -1, "%s: not a PEM certificate", path);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		*state = 2;
	else if (X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0)
		*state = 1;
	else
		*state = 0;
	X509_free(x);
	ERR_clear_error();
	return 0;
}
