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

PV_DYNLIB_LOADER(crypto_load, crypto_api, PV_OSSL_CRYPTO_FUNCS, PV_OSSL_CRYPTO_SONAME)
PV_DYNLIB_LOADER(ssl_load_only, ssl_api, PV_OSSL_SSL_FUNCS, PV_OSSL_SSL_SONAME)

static void
ssl_load(void)
{
	pthread_once(&crypto_once, crypto_load);  /* libssl needs libcrypto */
	ssl_load_only();
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
