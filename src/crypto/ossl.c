/* ossl.c: the OpenSSL function tables of ossl.h, filled on first use. */
#define PV_OSSL_IMPL 1
#include "pacsvault/crypto/ossl.h"
#include "pacsvault/base/dynlib.h"
#include "pacsvault/crypto/hash.h"

#include <pthread.h>

static struct pv_ossl_crypto_api crypto_api;
static struct pv_ossl_ssl_api ssl_api;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;

static void
crypto_load(void)
{
	void *h = pv_dynlib_open(PV_OSSL_CRYPTO_SONAME);
#define PV_OSSL_LOAD_CRYPTO(f) crypto_api.f = (__typeof__(crypto_api.f))pv_dynlib_sym(h, PV_OSSL_CRYPTO_SONAME, #f);
	PV_OSSL_CRYPTO_FUNCS(PV_OSSL_LOAD_CRYPTO)
}

static void
ssl_load(void)
{
	void *h;

	pthread_once(&crypto_once, crypto_load);  /* libssl needs libcrypto */
	h = pv_dynlib_open(PV_OSSL_SSL_SONAME);
#define PV_OSSL_LOAD_SSL(f) ssl_api.f = (__typeof__(ssl_api.f))pv_dynlib_sym(h, PV_OSSL_SSL_SONAME, #f);
	PV_OSSL_SSL_FUNCS(PV_OSSL_LOAD_SSL)
}

void
pv_crypto_load(void)
{
	pthread_once(&crypto_once, crypto_load);
}

const struct pv_ossl_crypto_api *
pv_ossl_crypto(void)
{
	pthread_once(&crypto_once, crypto_load);
	return &crypto_api;
}

const struct pv_ossl_ssl_api *
pv_ossl_ssl(void)
{
	pthread_once(&ssl_once, ssl_load);
	return &ssl_api;
}
