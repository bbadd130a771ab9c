/* sealed.c: the sealed object format (see sealed.h and docs/FORMATS.md). */
#include "pacsvault/crypto/sealed.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/hash.h"

#include "pacsvault/crypto/ossl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t sealed_magic[8] = { 'P', 'V', 'S', 'E', 'A', 'L', 'E', 'D' };
#define SEALED_VERSION 1
#define SEALED_SUITE 1
#define SLOT_OFF(i) (32 + 64 * (i))
#define SLOT_LEN 64
#define CHUNK_SEALED (PV_SEALED_CHUNK + PV_SEALED_TAG)

static void
put64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* The key encryption key of a master key (FORMATS.md: "wrap"). */
static int
sealed_kek(const struct pv_key *master, uint8_t kek[PV_KEY_LEN])
{
	static const char label[] = "pacsvault v1 wrap";

	return pv_hmac_sha256(master->key, PV_KEY_LEN, label, sizeof(label) - 1, kek);
}

/* One AES-256-GCM operation with a 12-byte nonce. enc 1: p -> out, tag out; 0: verify tag. */
static int
gcm(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key, const uint8_t nonce[12], const void *aad,
    size_t aadn, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	int len = 0, ok;

	if (n > INT32_MAX || aadn > INT32_MAX)
		return PV_ELIMIT;
	ok = EVP_CipherInit_ex(ctx, key != NULL ? EVP_aes_256_gcm() : NULL, NULL, key, nonce, enc) == 1;
	if (ok && aadn > 0)
		ok = EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadn) == 1;
	if (ok && n > 0)
		ok = EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1 && (size_t)len == n;
	if (!ok)
		return PV_EINTERNAL;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return PV_EINTERNAL;
	if (EVP_CipherFinal_ex(ctx, out + n, &len) != 1)
		return enc ? PV_EINTERNAL : PV_EINTEGRITY;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return PV_EINTERNAL;
	return 0;
}

static int
gcm_once(int enc, const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aadn,
    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int rc;

	if (ctx == NULL)
		return PV_ENOMEM;
	rc = gcm(ctx, enc, key, nonce, aad, aadn, in, n, out, tag);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* The associated data of a key slot: header bytes 0..31, key id, slot number. */
static void
slot_aad(const uint8_t hdr[PV_SEALED_HDR], const uint8_t keyid[4], int slot, uint8_t aad[37])
{
	memcpy(aad, hdr, 32);
	memcpy(aad + 32, keyid, 4);
	aad[36] = (uint8_t)slot;
}

static int
slot_wrap(uint8_t hdr[PV_SEALED_HDR], int slot, const struct pv_key *master, const uint8_t dk[PV_KEY_LEN],
    const uint8_t *fixed_nonce)
{
	uint8_t kek[PV_KEY_LEN], aad[37], *s = hdr + SLOT_OFF(slot);
	int rc;

	memcpy(s, master->id, 4);
	if (fixed_nonce != NULL)
		memcpy(s + 4, fixed_nonce, 12);
	else if ((rc = pv_random(s + 4, 12)) != 0)
		return rc;
	if ((rc = sealed_kek(master, kek)) != 0)
		return rc;
	slot_aad(hdr, master->id, slot, aad);
	rc = gcm_once(1, kek, s + 4, aad, sizeof(aad), dk, PV_KEY_LEN, s + 16, s + 48);
	pv_cleanse(kek, sizeof(kek));
	return rc;
}

/* Unwraps slot with master: 0, PV_EINTEGRITY. */
static int
slot_unwrap(const uint8_t hdr[PV_SEALED_HDR], int slot, const struct pv_key *master, uint8_t dk[PV_KEY_LEN])
{
	uint8_t kek[PV_KEY_LEN], aad[37], tag[16];
	const uint8_t *s = hdr + SLOT_OFF(slot);
	int rc;

	if ((rc = sealed_kek(master, kek)) != 0)
		return rc;
	slot_aad(hdr, master->id, slot, aad);
	memcpy(tag, s + 48, 16);
	rc = gcm_once(0, kek, s + 4, aad, sizeof(aad), s + 16, PV_KEY_LEN, dk, tag);
	pv_cleanse(kek, sizeof(kek));
	if (rc != 0)
		pv_cleanse(dk, PV_KEY_LEN);
	return rc;
}

void
pv_sealed_slot_keyid(const uint8_t hdr[PV_SEALED_HDR], int slot, uint8_t id[4])
{
	memcpy(id, hdr + SLOT_OFF(slot), 4);
}

static int
header_check(const uint8_t hdr[PV_SEALED_HDR], struct pv_diag *d)
{
	if (memcmp(hdr, sealed_magic, 8) != 0)
		return pv_diag_set(d, PV_EPARSE, 0, "not a sealed object (bad magic)");
	if (hdr[8] != SEALED_VERSION || hdr[9] != SEALED_SUITE)
		return pv_diag_set(d, PV_EPARSE, 8, "sealed object version %u suite %u is not known",
		    hdr[8], hdr[9]);
	for (int i = 10; i < 16; i++)
		if (hdr[i] != 0)
			return pv_diag_set(d, PV_EPARSE, i, "sealed object header: reserved byte is not zero");
	return 0;
}

/* The slot holding master's key id, or -1. */
static int
slot_of(const uint8_t hdr[PV_SEALED_HDR], const struct pv_key *master)
{
	for (int i = 0; i < 2; i++)
		if (memcmp(hdr + SLOT_OFF(i), master->id, 4) == 0)
			return i;
	return -1;
}

static int
sealer_start(struct pv_sealer *s, const struct pv_key *master, const uint8_t objid[PV_SEALED_OBJID],
    const uint8_t *fixed_dk, const uint8_t *fixed_nonce, int fd, struct pv_diag *d)
{
	uint8_t hdr[PV_SEALED_HDR];
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	memcpy(s->objid, objid, PV_SEALED_OBJID);
	if ((s->ctx = EVP_CIPHER_CTX_new()) == NULL || (s->buf = malloc(PV_SEALED_CHUNK)) == NULL ||
	    (s->out = malloc(CHUNK_SEALED)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory for a sealer");
	if (fixed_dk != NULL)
		memcpy(s->dk, fixed_dk, PV_KEY_LEN);
	else if ((rc = pv_random(s->dk, PV_KEY_LEN)) != 0)
		return pv_diag_set(d, rc, -1, "no randomness for a data key");
	/* One key schedule for every chunk; each chunk only sets its nonce. */
	if (EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, s->dk, NULL) != 1)
		return pv_diag_set(d, PV_EINTERNAL, -1, "AES-256-GCM unavailable");
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, sealed_magic, 8);
	hdr[8] = SEALED_VERSION;
	hdr[9] = SEALED_SUITE;
	memcpy(hdr + 16, objid, PV_SEALED_OBJID);
	if ((rc = slot_wrap(hdr, 0, master, s->dk, fixed_nonce)) != 0)
		return pv_diag_set(d, rc, -1, "cannot wrap the data key");
	if (pv_write_all(fd, hdr, sizeof(hdr)) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot write a sealed object: %s", strerror(errno));
	return 0;
}

int
pv_sealer_begin(struct pv_sealer *s, const struct pv_key *master, const uint8_t objid[PV_SEALED_OBJID],
    int fd, struct pv_diag *d)
{
	return sealer_start(s, master, objid, NULL, NULL, fd, d);
}

int
pv_sealer_begin_fixed(struct pv_sealer *s, const struct pv_key *master,
    const uint8_t objid[PV_SEALED_OBJID], const uint8_t dk[PV_KEY_LEN], const uint8_t nonce[12], int fd,
    struct pv_diag *d)
{
	return sealer_start(s, master, objid, dk, nonce, fd, d);
}

static void
chunk_nonce_aad(const uint8_t objid[PV_SEALED_OBJID], uint64_t i, int final, uint8_t nonce[12],
    uint8_t aad[25])
{
	memset(nonce, 0, 4);
	put64be(nonce + 4, i);
	memcpy(aad, objid, 16);
	put64be(aad + 16, i);
	aad[24] = (uint8_t)final;
}

static int
sealer_emit(struct pv_sealer *s, int final, struct pv_diag *d)
{
	uint8_t nonce[12], aad[25];
	int rc;

	if (s->chunk >= PV_SEALED_MAX_CHUNKS)
		return pv_diag_set(d, PV_ELIMIT, -1, "object too large to seal");
	chunk_nonce_aad(s->objid, s->chunk, final, nonce, aad);
	rc = gcm(s->ctx, 1, NULL, nonce, aad, sizeof(aad), s->buf, s->fill, s->out, s->out + s->fill);
	if (rc != 0)
		return pv_diag_set(d, rc, -1, "sealing failed");
	if (pv_write_all(s->fd, s->out, s->fill + PV_SEALED_TAG) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot write a sealed object: %s", strerror(errno));
	s->chunk++;
	s->fill = 0;
	return 0;
}

int
pv_sealer_update(struct pv_sealer *s, const void *p, size_t n, struct pv_diag *d)
{
	const uint8_t *q = p;
	int rc;

	while (n > 0) {
		size_t take;

		/* A full buffer is written only once more bytes follow: the last chunk must be final. */
		if (s->fill == PV_SEALED_CHUNK && (rc = sealer_emit(s, 0, d)) != 0)
			return rc;
		take = PV_SEALED_CHUNK - s->fill;
		if (take > n)
			take = n;
		memcpy(s->buf + s->fill, q, take);
		s->fill += take;
		s->plain_bytes += take;
		q += take;
		n -= take;
	}
	return 0;
}

int
pv_sealer_finish(struct pv_sealer *s, struct pv_diag *d)
{
	return sealer_emit(s, 1, d);
}

void
pv_sealer_free(struct pv_sealer *s)
{
	if (s == NULL)
		return;
	EVP_CIPHER_CTX_free(s->ctx);
	s->ctx = NULL;
	if (s->buf != NULL) {
		pv_cleanse(s->buf, PV_SEALED_CHUNK);
		free(s->buf);
		s->buf = NULL;
	}
	free(s->out);
	s->out = NULL;
	pv_cleanse(s->dk, sizeof(s->dk));
}

int64_t
pv_sealed_plain_size(uint64_t size)
{
	uint64_t body, full, rest;

	if (size < PV_SEALED_HDR + PV_SEALED_TAG)
		return -1;
	body = size - PV_SEALED_HDR;
	full = body / CHUNK_SEALED;
	rest = body % CHUNK_SEALED;
	if (rest == 0)
		return (int64_t)(full * PV_SEALED_CHUNK);
	if (rest < PV_SEALED_TAG)
		return -1;
	return (int64_t)(full * PV_SEALED_CHUNK + rest - PV_SEALED_TAG);
}

int
pv_opener_begin(struct pv_opener *o, const struct pv_key *master, int fd,
    const uint8_t objid[PV_SEALED_OBJID], struct pv_diag *d)
{
	uint8_t hdr[PV_SEALED_HDR];
	struct stat st;
	int rc, slot;
	uint64_t rest;

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	if (fstat(fd, &st) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot stat the object: %s", strerror(errno));
	if ((uint64_t)st.st_size < PV_SEALED_HDR + PV_SEALED_TAG)
		return pv_diag_set(d, PV_ETRUNC, st.st_size, "sealed object truncated: %lld bytes",
		    (long long)st.st_size);
	if ((rc = pv_pread_all(fd, hdr, sizeof(hdr), 0)) != 0)
		return pv_diag_set(d, rc, 0, "cannot read the object header");
	if ((rc = header_check(hdr, d)) != 0)
		return rc;
	memcpy(o->objid, hdr + 16, PV_SEALED_OBJID);
	if (objid != NULL && memcmp(objid, o->objid, PV_SEALED_OBJID) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, 16, "object id in the header is not this object's "
		    "(a moved or swapped object)");
	if ((slot = slot_of(hdr, master)) < 0)
		return pv_diag_set(d, PV_EAUTH, 32, "%s", pv_sealed_shredded(fd) ? "the object was shredded "
		    "(no key slot left)" : "no key slot for this master key (a wrong key, or a damaged header)");
	if ((rc = slot_unwrap(hdr, slot, master, o->dk)) != 0)
		return pv_diag_set(d, rc == PV_EINTEGRITY ? PV_EINTEGRITY : rc, SLOT_OFF(slot),
		    "the data key does not unwrap (damaged header, or shredded)");
	o->slot = slot;
	o->body = (uint64_t)st.st_size - PV_SEALED_HDR;
	o->nchunks = o->body / CHUNK_SEALED;
	rest = o->body % CHUNK_SEALED;
	if (rest != 0) {
		if (rest < PV_SEALED_TAG)
			return pv_diag_set(d, PV_EINTEGRITY, st.st_size, "sealed object truncated inside a tag");
		o->nchunks++;
	}
	if (o->nchunks > PV_SEALED_MAX_CHUNKS)
		return pv_diag_set(d, PV_ELIMIT, -1, "sealed object too large");
	if ((o->ctx = EVP_CIPHER_CTX_new()) == NULL || (o->in = malloc(CHUNK_SEALED)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory for an opener");
	if (EVP_DecryptInit_ex(o->ctx, EVP_aes_256_gcm(), NULL, o->dk, NULL) != 1)
		return pv_diag_set(d, PV_EINTERNAL, -1, "AES-256-GCM unavailable");
	return 0;
}

int
pv_opener_chunk(struct pv_opener *o, uint64_t i, uint8_t *out, size_t *n, struct pv_diag *d)
{
	uint8_t nonce[12], aad[25];
	uint64_t off = PV_SEALED_HDR + i * (uint64_t)CHUNK_SEALED;
	size_t len;
	int final = i + 1 == o->nchunks, rc;

	*n = 0;
	if (i >= o->nchunks)
		return pv_diag_set(d, PV_EINVAL, -1, "chunk %llu past the end", (unsigned long long)i);
	len = final ? (size_t)(o->body - i * (uint64_t)CHUNK_SEALED) : CHUNK_SEALED;
	if ((rc = pv_pread_all(o->fd, o->in, len, off)) != 0)
		return pv_diag_set(d, rc, (int64_t)off, "cannot read chunk %llu", (unsigned long long)i);
	chunk_nonce_aad(o->objid, i, final, nonce, aad);
	rc = gcm(o->ctx, 0, NULL, nonce, aad, sizeof(aad), o->in, len - PV_SEALED_TAG, out,
	    o->in + len - PV_SEALED_TAG);
	if (rc != 0) {
		pv_cleanse(out, len - PV_SEALED_TAG);
		return pv_diag_set(d, rc == PV_EINTEGRITY ? PV_EINTEGRITY : rc, (int64_t)off,
		    "chunk %llu of %llu does not authenticate (changed, truncated, reordered or "
		    "swapped)", (unsigned long long)i, (unsigned long long)o->nchunks);
	}
	*n = len - PV_SEALED_TAG;
	return 0;
}

void
pv_opener_free(struct pv_opener *o)
{
	if (o == NULL)
		return;
	EVP_CIPHER_CTX_free(o->ctx);
	o->ctx = NULL;
	free(o->in);
	o->in = NULL;
	pv_cleanse(o->dk, sizeof(o->dk));
}

static int
read_header(int fd, uint8_t hdr[PV_SEALED_HDR], const uint8_t *objid, struct pv_diag *d)
{
	int rc;

	if ((rc = pv_pread_all(fd, hdr, PV_SEALED_HDR, 0)) != 0)
		return pv_diag_set(d, rc, 0, "cannot read the object header");
	if ((rc = header_check(hdr, d)) != 0)
		return rc;
	if (objid != NULL && memcmp(objid, hdr + 16, PV_SEALED_OBJID) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, 16, "object id in the header is not this object's");
	return 0;
}

static int
write_sync(int fd, const uint8_t *p, size_t n, uint64_t off, struct pv_diag *d)
{
	if (pv_pwrite_all(fd, p, n, off) != 0 || fsync(fd) != 0)
		return pv_diag_set(d, PV_EIO, (int64_t)off, "cannot update the object header: %s",
		    strerror(errno));
	return 0;
}

int
pv_sealed_rewrap(int fd, const struct pv_key *old_master, const struct pv_key *new_master,
    const uint8_t objid[PV_SEALED_OBJID], struct pv_diag *d)
{
	uint8_t hdr[PV_SEALED_HDR], dk[PV_KEY_LEN];
	int rc, os, ns;

	if ((rc = read_header(fd, hdr, objid, d)) != 0)
		return rc;
	if ((ns = slot_of(hdr, new_master)) >= 0 && slot_unwrap(hdr, ns, new_master, dk) == 0) {
		pv_cleanse(dk, sizeof(dk));
		return 0;
	}
	if ((os = slot_of(hdr, old_master)) < 0)
		return pv_diag_set(d, PV_EAUTH, 32, "no key slot for the old master key");
	if ((rc = slot_unwrap(hdr, os, old_master, dk)) != 0)
		return pv_diag_set(d, rc, SLOT_OFF(os), "the data key does not unwrap with the old master key");
	ns = 1 - os;
	rc = slot_wrap(hdr, ns, new_master, dk, NULL);
	pv_cleanse(dk, sizeof(dk));
	if (rc != 0)
		return pv_diag_set(d, rc, -1, "cannot wrap the data key");
	return write_sync(fd, hdr + SLOT_OFF(ns), SLOT_LEN, SLOT_OFF(ns), d);
}

int
pv_sealed_drop_other_slots(int fd, const struct pv_key *master, struct pv_diag *d)
{
	uint8_t hdr[PV_SEALED_HDR], zero[SLOT_LEN];
	int s, other;

	if (read_header(fd, hdr, NULL, d) != 0)
		return d != NULL ? d->code : PV_EPARSE;
	if ((s = slot_of(hdr, master)) < 0)
		return pv_diag_set(d, PV_EAUTH, 32, "no key slot for the master key");
	other = 1 - s;
	memset(zero, 0, sizeof(zero));
	if (memcmp(hdr + SLOT_OFF(other), zero, SLOT_LEN) == 0)
		return 0;
	return write_sync(fd, zero, SLOT_LEN, SLOT_OFF(other), d);
}

int
pv_sealed_shred(int fd, struct pv_diag *d)
{
	uint8_t zero[2 * SLOT_LEN];

	/* Zeroes: the wrapped key is gone either way, and a shredded object is told apart from a
	 * damaged one (whose slots are not all zero). */
	memset(zero, 0, sizeof(zero));
	return write_sync(fd, zero, sizeof(zero), SLOT_OFF(0), d);
}

int
pv_sealed_shredded(int fd)
{
	uint8_t slots[2 * SLOT_LEN];

	if (pv_pread_all(fd, slots, sizeof(slots), SLOT_OFF(0)) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(slots); i++)
		if (slots[i] != 0)
			return 0;
	return 1;
}

int
pv_seal_small(const uint8_t key[PV_KEY_LEN], const void *aad, size_t aadn, const void *p, size_t n,
    uint8_t *out)
{
	int rc;

	if ((rc = pv_random(out, 12)) != 0)
		return rc;
	return gcm_once(1, key, out, aad, aadn, p, n, out + 12, out + 12 + n);
}

int
pv_open_small(const uint8_t key[PV_KEY_LEN], const void *aad, size_t aadn, const uint8_t *p, size_t n,
    uint8_t *out)
{
	uint8_t tag[16];

	if (n < PV_SEALED_SMALL_OVERHEAD)
		return PV_EINTEGRITY;
	memcpy(tag, p + n - 16, 16);
	return gcm_once(0, key, p, aad, aadn, p + 12, n - PV_SEALED_SMALL_OVERHEAD, out, tag);
}
