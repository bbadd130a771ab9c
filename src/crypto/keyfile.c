/* keyfile.c: fixed-size key files (see keyfile.h and docs/FORMATS.md). */
#include "pacsvault/crypto/keyfile.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t key_magic[8] = { 'P', 'V', 'K', 'E', 'Y', 0, 0, 0 };
#define KEYFILE_VERSION 1

const char *
pv_key_type_name(enum pv_key_type type)
{
	switch (type) {
	case PV_KEY_PROJECT: return "project";
	case PV_KEY_MASTER: return "master";
	case PV_KEY_LEDGER: return "ledger";
	}
	return "unknown";
}

static int
key_id(uint8_t type, const uint8_t key[PV_KEY_LEN], uint8_t id[4])
{
	static const char label[] = "pacsvault key id";
	uint8_t buf[sizeof(label) - 1 + 1 + PV_KEY_LEN], h[PV_SHA256_LEN];
	int rc;

	memcpy(buf, label, sizeof(label) - 1);
	buf[sizeof(label) - 1] = type;
	memcpy(buf + sizeof(label), key, PV_KEY_LEN);
	rc = pv_sha256(buf, sizeof(buf), h);
	memcpy(id, h, 4);
	pv_cleanse(buf, sizeof(buf));
	return rc;
}

int
pv_key_generate(struct pv_key *k, enum pv_key_type type)
{
	int rc;

	memset(k, 0, sizeof(*k));
	k->type = (uint8_t)type;
	if ((rc = pv_random(k->key, PV_KEY_LEN)) != 0)
		return rc;
	return key_id(k->type, k->key, k->id);
}

void
pv_key_id_hex(const struct pv_key *k, char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", k->id[0], k->id[1], k->id[2], k->id[3]);
}

void
pv_key_clear(struct pv_key *k)
{
	pv_cleanse(k, sizeof(*k));
}

int
pv_key_write(const char *path, const struct pv_key *k, struct pv_diag *d)
{
	uint8_t buf[PV_KEYFILE_SIZE];
	struct pv_atomic af;
	int rc;

	memcpy(buf, key_magic, 8);
	buf[8] = KEYFILE_VERSION;
	buf[9] = k->type;
	buf[10] = buf[11] = 0;
	memcpy(buf + 12, k->id, 4);
	memcpy(buf + 16, k->key, PV_KEY_LEN);
	/* Written beside the name and put in place in one step that never replaces: a kill
	 * while writing leaves no half key file under the name (a rotation or keygen run again
	 * would otherwise find a truncated key where it expects its own). */
	if ((rc = pv_atomic_open_new(&af, path, 0600, d)) != 0) {
		pv_cleanse(buf, sizeof(buf));
		if (d != NULL)
			pv_diag_clear(d);   /* this file's own words */
		if (rc == PV_EEXIST)
			return pv_diag_set(d, PV_EEXIST, -1, "refusing to overwrite an existing file");
		return pv_diag_set(d, PV_EIO, -1, "cannot create the key file");
	}
	/* The umask may have narrowed the mode; it must be exactly 0600. */
	if (fchmod(af.fd, 0600) != 0 || pv_write_all(af.fd, buf, sizeof(buf)) != 0) {
		pv_cleanse(buf, sizeof(buf));
		pv_atomic_abort(&af);
		return pv_diag_set(d, PV_EIO, -1, "cannot write the key file");
	}
	pv_cleanse(buf, sizeof(buf));
	if ((rc = pv_atomic_commit(&af, d)) != 0) {
		if (d != NULL)
			pv_diag_clear(d);
		if (rc == PV_EEXIST)
			return pv_diag_set(d, PV_EEXIST, -1, "refusing to overwrite an existing file");
		return pv_diag_set(d, PV_EIO, -1, "cannot write the key file");
	}
	return 0;
}

int
pv_key_read(const char *path, enum pv_key_type want, struct pv_key *k, struct pv_diag *d)
{
	uint8_t buf[PV_KEYFILE_SIZE + 1], id[4];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	memset(k, 0, sizeof(*k));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		rc = pv_diag_set(d, e == ENOENT ? PV_ENOTFOUND : PV_EIO, -1, "cannot open the key file");
		if (d != NULL)
			d->sys_errno = e;
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pv_diag_set(d, PV_EINVAL, -1, "the key file is not a regular file");
	}
	if (st.st_mode & 077) {
		close(fd);
		return pv_diag_set(d, PV_EAUTH, -1,
		    "the key file is open to group or others (mode %04o); it must be 0600 (chmod 600)",
		    (unsigned)(st.st_mode & 07777));
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != PV_KEYFILE_SIZE) {
		rc = pv_diag_set(d, PV_EPARSE, -1, "a key file is %d bytes, this one is %s", PV_KEYFILE_SIZE,
		    n < 0 ? "unreadable" : n > PV_KEYFILE_SIZE ? "longer" : "shorter");
		goto out;
	}
	if (memcmp(buf, key_magic, 8) != 0) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "not a pacsvault key file");
		goto out;
	}
	if (buf[8] != KEYFILE_VERSION) {
		rc = pv_diag_set(d, PV_EPARSE, 8, "key file version %u is not supported", buf[8]);
		goto out;
	}
	if (buf[9] != (uint8_t)want) {
		rc = pv_diag_set(d, PV_EPARSE, 9, "this is a %s key, a %s key is needed",
		    pv_key_type_name((enum pv_key_type)buf[9]), pv_key_type_name(want));
		goto out;
	}
	k->type = buf[9];
	memcpy(k->id, buf + 12, 4);
	memcpy(k->key, buf + 16, PV_KEY_LEN);
	if ((rc = key_id(k->type, k->key, id)) != 0 || !pv_memeq_ct(id, k->id, 4)) {
		rc = pv_diag_set(d, PV_EINTEGRITY, 12, "the key id does not match the key: the file is damaged");
		pv_key_clear(k);
	}
out:
	pv_cleanse(buf, sizeof(buf));
	return rc;
}
