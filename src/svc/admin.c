/* admin.c: vault administration through the service layer (see admin.h). */
#include "pacsvault/svc/admin.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sign.h"
#include "pacsvault/ledger/note.h"
#include "pacsvault/svc/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_MAX ((size_t)64 << 20)   /* a checkpoint copy file read whole: 64 MiB (about 200,000 checkpoints) */

/* path made absolute (its folder resolved; the file itself may not exist yet). */
static int
absolute_path(const char *path, char out[PATH_MAX], struct pv_diag *d)
{
	char *a = pv_strdup(path), *b = pv_strdup(path), dir[PATH_MAX];
	int rc = 0;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return PV_ENOMEM;
	}
	if (realpath(dirname(a), dir) == NULL)
		rc = pv_diag_set(d, PV_EINVAL, -1, "%s: its folder does not exist", path);
	else if (snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, basename(b)) >= PATH_MAX)
		rc = pv_diag_set(d, PV_ELIMIT, -1, "%s: path too long", path);
	free(a);
	free(b);
	return rc;
}

int
svc_vault_set_checkpoint_copy(struct vault *v, const char *path, struct pv_diag *d)
{
	char abs[PATH_MAX], vdir[PATH_MAX];
	size_t n;
	int rc;

	if (path == NULL)
		return vault_setting_set(v, "checkpoint_copy", "", d);
	if ((rc = absolute_path(path, abs, d)) != 0)
		return rc;
	if (realpath(vault_dir(v), vdir) == NULL)
		return pv_diag_set(d, PV_EIO, -1, "cannot resolve the vault folder");
	n = strlen(vdir);
	if (strncmp(abs, vdir, n) == 0 && (abs[n] == '/' || abs[n] == '\0'))
		return pv_diag_set(d, PV_EINVAL, -1, "%s: the checkpoint copy must lie outside the vault folder "
		    "(whoever can rewrite the folder could rewrite it too)", path);
	{
		/* Made now (kept if it exists): from here on a missing copy means a removed one. */
		int fd = open(abs, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (fd < 0 || fsync(fd) != 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "%s: cannot create the checkpoint copy: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return rc;
		}
		close(fd);
	}
	return vault_setting_set(v, "checkpoint_copy", abs, d);
}

int
svc_vault_create(const char *dir, const char *master_key_path, const char *checkpoint_copy, char keyid[9],
    struct pv_buf *vkey, struct pv_diag *d)
{
	struct vault *v = NULL;
	struct svc_audit *a = NULL;
	struct lg_log *l = NULL;
	uint8_t seed[32];
	char ledger[PATH_MAX], origin[64];
	struct lg_object o;
	int rc;

	if ((rc = vault_create(dir, master_key_path, keyid, d)) != 0)
		return rc;
	if ((rc = vault_open(dir, master_key_path, VAULT_WRITE, &v, d)) != 0)
		return rc;
	if (checkpoint_copy != NULL && (rc = svc_vault_set_checkpoint_copy(v, checkpoint_copy, d)) != 0)
		goto done;
	/* The seed sealed in the vault first: a ledger never exists whose key is nowhere. */
	if ((rc = pv_random(seed, sizeof(seed))) != 0) {
		rc = pv_diag_set(d, rc, -1, "no randomness for the ledger's key");
		goto done;
	}
	if ((rc = vault_set_ledger_seed(v, seed, d)) != 0)
		goto done;
	snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
	snprintf(origin, sizeof(origin), "pacsvault.local/vault-%s", keyid);
	if ((rc = lg_log_create_sealed(ledger, origin, seed, d)) != 0)
		goto done;
	if ((rc = lg_log_open(ledger, &l, d)) != 0 || (rc = lg_log_vkey(l, vkey)) != 0)
		goto done;
	lg_log_close(l);
	l = NULL;
	o = (struct lg_object){ "vault", keyid, "init" };
	if ((rc = svc_audit_open(dir, v, "vault init", &a, d)) == 0)
		rc = svc_audit_event(a, 110100, 'E', 0, NULL, NULL, &o, 1, d);
done:
	pv_cleanse(seed, sizeof(seed));
	lg_log_close(l);
	svc_audit_close(a);
	vault_close(v);
	return rc;
}

int
svc_ledger_check(struct vault *v, struct lg_verify_result *r, struct pv_diag *d)
{
	struct lg_verify_opts o;
	struct lg_verifier vk;
	struct lg_log *l = NULL;
	struct pv_buf copy;
	uint8_t seed[32];
	char ledger[PATH_MAX], path[PATH_MAX], origin[LG_NAME_MAX];
	int rc, fd;

	memset(&o, 0, sizeof(o));
	o.wait_ms = 30000;
	memset(r, 0, sizeof(*r));
	pv_buf_init(&copy, COPY_MAX);
	snprintf(ledger, sizeof(ledger), "%s/ledger", vault_dir(v));
	rc = vault_ledger_seed(v, seed, d);
	if (rc == 0) {
		/* The origin from an open of the log (it checks the folder's own files too). */
		memset(&vk, 0, sizeof(vk));
		if ((rc = lg_log_open_wait(ledger, 30000, &l, d)) != 0) {
			pv_cleanse(seed, sizeof(seed));
			return rc;
		}
		snprintf(origin, sizeof(origin), "%s", lg_log_origin(l));
		lg_log_close(l);
		snprintf(vk.name, sizeof(vk.name), "%s", origin);
		vk.type = LG_SIG_ED25519;
		rc = pv_ed25519_public(seed, vk.pub);
		pv_cleanse(seed, sizeof(seed));
		if (rc != 0 || (rc = lg_key_id(vk.name, vk.pub, &vk.key_id)) != 0)
			return pv_diag_set(d, PV_EINTERNAL, -1, "Ed25519 unavailable");
		o.vk = &vk;
	} else if (rc != PV_ENOTFOUND) {
		return rc;
	}
	pv_diag_clear(d);
	if (vault_setting_get(v, "checkpoint_copy", path, sizeof(path)) == 0 && path[0] != '\0') {
		struct stat st;

		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			/* It is made when it is set: missing means removed. */
			return pv_diag_set(d, errno == ENOENT ? PV_EINTEGRITY : PV_EIO, -1, "the checkpoint copy %s %s",
			    path, errno == ENOENT ? "is missing (it is made when it is set: removed?)" : "cannot be read");
		} else {
			if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > COPY_MAX ||
			    pv_buf_fill(&copy, 0, (size_t)st.st_size) != 0 ||
			    pv_pread_all(fd, copy.data, (size_t)st.st_size, 0) != 0) {
				close(fd);
				pv_buf_free(&copy);
				return pv_diag_set(d, PV_EIO, -1, "the checkpoint copy %s cannot be read whole", path);
			}
			close(fd);
			o.anchors = (const uint8_t *)copy.data;
			o.anchors_len = copy.len;
		}
	}
	rc = lg_log_verify_ex(ledger, &o, r, d);
	pv_buf_free(&copy);
	return rc;
}
