/*
 * ossl.h: OpenSSL, loaded on first use (see pacsvault/base/dynlib.h).
 *
 * Include it after every OpenSSL header of a source file: it declares the
 * tables of the OpenSSL functions pacsvault calls and redefines each name
 * to a call through pv_ossl_crypto() (libcrypto) or pv_ossl_ssl()
 * (libssl), which load the library the first time. A call of an OpenSSL
 * function missing from these lists does not link (pacsvault does not
 * link OpenSSL), so the lists cannot silently fall behind the code.
 * OpenSSL's own static inline helpers (sk_X509_push...) call the library
 * directly and cannot be used: call the functions they wrap.
 */
#ifndef PV_CRYPTO_OSSL_H
#define PV_CRYPTO_OSSL_H

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* The soname of the OpenSSL this was compiled against. */
#define PV_OSSL_STR2(x) #x
#define PV_OSSL_STR(x) PV_OSSL_STR2(x)
#define PV_OSSL_CRYPTO_SONAME "libcrypto.so." PV_OSSL_STR(OPENSSL_VERSION_MAJOR)
#define PV_OSSL_SSL_SONAME "libssl.so." PV_OSSL_STR(OPENSSL_VERSION_MAJOR)

#define PV_OSSL_CRYPTO_FUNCS(X) \
	X(BIO_ctrl) X(BIO_free) X(BIO_new) X(BIO_new_mem_buf) X(BIO_s_mem) \
	X(CMS_ContentInfo_free) X(CMS_decrypt) X(CMS_encrypt) X(ERR_clear_error) \
	X(ERR_error_string_n) X(ERR_get_error) X(ERR_peek_error) X(EVP_CIPHER_CTX_ctrl) \
	X(EVP_CIPHER_CTX_free) X(EVP_CIPHER_CTX_new) X(EVP_CipherFinal_ex) X(EVP_CipherInit_ex) \
	X(EVP_CipherUpdate) X(EVP_DecryptInit_ex) X(EVP_Digest) X(EVP_DigestFinal_ex) \
	X(EVP_DigestInit_ex2) X(EVP_DigestSign) X(EVP_DigestSignInit) X(EVP_DigestUpdate) \
	X(EVP_DigestVerify) X(EVP_DigestVerifyInit) X(EVP_EncryptInit_ex) X(EVP_MAC_CTX_dup) \
	X(EVP_MAC_CTX_free) X(EVP_MAC_CTX_new) X(EVP_MAC_fetch) X(EVP_MAC_final) X(EVP_MAC_init) \
	X(EVP_MAC_update) X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_PKEY_free) \
	X(EVP_PKEY_get_raw_public_key) X(EVP_PKEY_new_raw_private_key) \
	X(EVP_PKEY_new_raw_public_key) X(EVP_aes_256_cbc) X(EVP_aes_256_gcm) X(EVP_sha256) \
	X(OPENSSL_sk_free) X(OPENSSL_sk_new_null) X(OPENSSL_sk_push) X(OSSL_PARAM_construct_end) \
	X(OSSL_PARAM_construct_utf8_string) X(PEM_read_PrivateKey) X(PEM_read_X509) \
	X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_free) X(X509_verify_cert_error_string) \
	X(d2i_CMS_bio) X(i2d_CMS_bio) X(X509_get_pubkey) X(i2d_PUBKEY) X(X509_get0_notAfter) \
	X(X509_cmp_current_time) X(EVP_PBE_scrypt) X(CRYPTO_memcmp) X(CRYPTO_free) X(X509_cmp_time)

#define PV_OSSL_SSL_FUNCS(X) \
	X(SSL_CTX_check_private_key) X(SSL_CTX_ctrl) X(SSL_CTX_free) \
	X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) X(SSL_CTX_set_verify) \
	X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_use_certificate_chain_file) X(SSL_connect) \
	X(SSL_ctrl) X(SSL_free) X(SSL_get0_param) X(SSL_get_error) X(SSL_get_verify_result) \
	X(SSL_new) X(SSL_read) X(SSL_set1_host) X(SSL_set_fd) X(SSL_shutdown) X(SSL_write) \
	X(TLS_client_method) X(TLS_server_method) X(SSL_accept) X(SSL_CTX_set_cipher_list) \
	X(SSL_get1_peer_certificate) X(SSL_get_version) X(SSL_pending) X(SSL_CTX_set_options)

#define PV_OSSL_FIELD(f) __typeof__(&f) f;
struct pv_ossl_crypto_api {
	PV_OSSL_CRYPTO_FUNCS(PV_OSSL_FIELD)
};
struct pv_ossl_ssl_api {
	PV_OSSL_SSL_FUNCS(PV_OSSL_FIELD)
};

/* The tables, loaded on the first call (exit 70 when the library is missing). */
const struct pv_ossl_crypto_api *pv_ossl_crypto(void);
const struct pv_ossl_ssl_api *pv_ossl_ssl(void);

#ifndef PV_OSSL_IMPL
#define BIO_ctrl (pv_ossl_crypto()->BIO_ctrl)
#define BIO_free (pv_ossl_crypto()->BIO_free)
#define BIO_new (pv_ossl_crypto()->BIO_new)
#define BIO_new_mem_buf (pv_ossl_crypto()->BIO_new_mem_buf)
#define BIO_s_mem (pv_ossl_crypto()->BIO_s_mem)
#define CMS_ContentInfo_free (pv_ossl_crypto()->CMS_ContentInfo_free)
#define CMS_decrypt (pv_ossl_crypto()->CMS_decrypt)
#define CMS_encrypt (pv_ossl_crypto()->CMS_encrypt)
#define ERR_clear_error (pv_ossl_crypto()->ERR_clear_error)
#define ERR_error_string_n (pv_ossl_crypto()->ERR_error_string_n)
#define ERR_get_error (pv_ossl_crypto()->ERR_get_error)
#define ERR_peek_error (pv_ossl_crypto()->ERR_peek_error)
#define EVP_CIPHER_CTX_ctrl (pv_ossl_crypto()->EVP_CIPHER_CTX_ctrl)
#define EVP_CIPHER_CTX_free (pv_ossl_crypto()->EVP_CIPHER_CTX_free)
#define EVP_CIPHER_CTX_new (pv_ossl_crypto()->EVP_CIPHER_CTX_new)
#define EVP_CipherFinal_ex (pv_ossl_crypto()->EVP_CipherFinal_ex)
#define EVP_CipherInit_ex (pv_ossl_crypto()->EVP_CipherInit_ex)
#define EVP_CipherUpdate (pv_ossl_crypto()->EVP_CipherUpdate)
#define EVP_DecryptInit_ex (pv_ossl_crypto()->EVP_DecryptInit_ex)
#define EVP_Digest (pv_ossl_crypto()->EVP_Digest)
#define EVP_DigestFinal_ex (pv_ossl_crypto()->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex2 (pv_ossl_crypto()->EVP_DigestInit_ex2)
#define EVP_DigestSign (pv_ossl_crypto()->EVP_DigestSign)
#define EVP_DigestSignInit (pv_ossl_crypto()->EVP_DigestSignInit)
#define EVP_DigestUpdate (pv_ossl_crypto()->EVP_DigestUpdate)
#define EVP_DigestVerify (pv_ossl_crypto()->EVP_DigestVerify)
#define EVP_DigestVerifyInit (pv_ossl_crypto()->EVP_DigestVerifyInit)
#define EVP_EncryptInit_ex (pv_ossl_crypto()->EVP_EncryptInit_ex)
#define EVP_MAC_CTX_dup (pv_ossl_crypto()->EVP_MAC_CTX_dup)
#define EVP_MAC_CTX_free (pv_ossl_crypto()->EVP_MAC_CTX_free)
#define EVP_MAC_CTX_new (pv_ossl_crypto()->EVP_MAC_CTX_new)
#define EVP_MAC_fetch (pv_ossl_crypto()->EVP_MAC_fetch)
#define EVP_MAC_final (pv_ossl_crypto()->EVP_MAC_final)
#define EVP_MAC_init (pv_ossl_crypto()->EVP_MAC_init)
#define EVP_MAC_update (pv_ossl_crypto()->EVP_MAC_update)
#define EVP_MD_CTX_free (pv_ossl_crypto()->EVP_MD_CTX_free)
#define EVP_MD_CTX_new (pv_ossl_crypto()->EVP_MD_CTX_new)
#define EVP_PKEY_free (pv_ossl_crypto()->EVP_PKEY_free)
#define EVP_PKEY_get_raw_public_key (pv_ossl_crypto()->EVP_PKEY_get_raw_public_key)
#define EVP_PKEY_new_raw_private_key (pv_ossl_crypto()->EVP_PKEY_new_raw_private_key)
#define EVP_PKEY_new_raw_public_key (pv_ossl_crypto()->EVP_PKEY_new_raw_public_key)
#define EVP_aes_256_cbc (pv_ossl_crypto()->EVP_aes_256_cbc)
#define EVP_aes_256_gcm (pv_ossl_crypto()->EVP_aes_256_gcm)
#define EVP_sha256 (pv_ossl_crypto()->EVP_sha256)
#define OPENSSL_sk_free (pv_ossl_crypto()->OPENSSL_sk_free)
#define OPENSSL_sk_new_null (pv_ossl_crypto()->OPENSSL_sk_new_null)
#define OPENSSL_sk_push (pv_ossl_crypto()->OPENSSL_sk_push)
#define OSSL_PARAM_construct_end (pv_ossl_crypto()->OSSL_PARAM_construct_end)
#define OSSL_PARAM_construct_utf8_string (pv_ossl_crypto()->OSSL_PARAM_construct_utf8_string)
#define PEM_read_PrivateKey (pv_ossl_crypto()->PEM_read_PrivateKey)
#define PEM_read_X509 (pv_ossl_crypto()->PEM_read_X509)
#define X509_VERIFY_PARAM_set1_ip_asc (pv_ossl_crypto()->X509_VERIFY_PARAM_set1_ip_asc)
#define X509_free (pv_ossl_crypto()->X509_free)
#define X509_verify_cert_error_string (pv_ossl_crypto()->X509_verify_cert_error_string)
#define d2i_CMS_bio (pv_ossl_crypto()->d2i_CMS_bio)
#define X509_get_pubkey (pv_ossl_crypto()->X509_get_pubkey)
#define i2d_PUBKEY (pv_ossl_crypto()->i2d_PUBKEY)
#define X509_get0_notAfter (pv_ossl_crypto()->X509_get0_notAfter)
#define X509_cmp_current_time (pv_ossl_crypto()->X509_cmp_current_time)
#define EVP_PBE_scrypt (pv_ossl_crypto()->EVP_PBE_scrypt)
#define CRYPTO_memcmp (pv_ossl_crypto()->CRYPTO_memcmp)
#define CRYPTO_free (pv_ossl_crypto()->CRYPTO_free)
#define X509_cmp_time (pv_ossl_crypto()->X509_cmp_time)
#define i2d_CMS_bio (pv_ossl_crypto()->i2d_CMS_bio)
#define SSL_CTX_check_private_key (pv_ossl_ssl()->SSL_CTX_check_private_key)
#define SSL_CTX_ctrl (pv_ossl_ssl()->SSL_CTX_ctrl)
#define SSL_CTX_free (pv_ossl_ssl()->SSL_CTX_free)
#define SSL_CTX_load_verify_locations (pv_ossl_ssl()->SSL_CTX_load_verify_locations)
#define SSL_CTX_new (pv_ossl_ssl()->SSL_CTX_new)
#define SSL_CTX_set_verify (pv_ossl_ssl()->SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey_file (pv_ossl_ssl()->SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file (pv_ossl_ssl()->SSL_CTX_use_certificate_chain_file)
#define SSL_connect (pv_ossl_ssl()->SSL_connect)
#define TLS_server_method (pv_ossl_ssl()->TLS_server_method)
#define SSL_accept (pv_ossl_ssl()->SSL_accept)
#define SSL_CTX_set_cipher_list (pv_ossl_ssl()->SSL_CTX_set_cipher_list)
#define SSL_get1_peer_certificate (pv_ossl_ssl()->SSL_get1_peer_certificate)
#define SSL_get_version (pv_ossl_ssl()->SSL_get_version)
#define SSL_pending (pv_ossl_ssl()->SSL_pending)
#define SSL_CTX_set_options (pv_ossl_ssl()->SSL_CTX_set_options)
#define SSL_ctrl (pv_ossl_ssl()->SSL_ctrl)
#define SSL_free (pv_ossl_ssl()->SSL_free)
#define SSL_get0_param (pv_ossl_ssl()->SSL_get0_param)
#define SSL_get_error (pv_ossl_ssl()->SSL_get_error)
#define SSL_get_verify_result (pv_ossl_ssl()->SSL_get_verify_result)
#define SSL_new (pv_ossl_ssl()->SSL_new)
#define SSL_read (pv_ossl_ssl()->SSL_read)
#define SSL_set1_host (pv_ossl_ssl()->SSL_set1_host)
#define SSL_set_fd (pv_ossl_ssl()->SSL_set_fd)
#define SSL_shutdown (pv_ossl_ssl()->SSL_shutdown)
#define SSL_write (pv_ossl_ssl()->SSL_write)
#define TLS_client_method (pv_ossl_ssl()->TLS_client_method)
#endif

#endif
