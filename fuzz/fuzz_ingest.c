/*
 * fuzz_ingest.c: the vault's ingest from memory (vault_import_mem: what a
 * C-STORE or STOW body goes through) on arbitrary bytes, into a real vault
 * (with its audit ledger) made once per process in a temporary folder
 * ($TMPDIR, /dev/shm when there). Must never crash or leak; and:
 *   - every input that import calls stored or quarantined is acknowledged
 *     once its batch commits (each input is flushed);
 *   - an instance acknowledged as stored comes back byte for byte (found by
 *     its SOP Instance UID, read and verified through vault_get_mem);
 *   - nothing that is not a readable instance is ever stored.
 */
#include "fuzz.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/store/vault.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vault *vault;
static struct svc_audit *audit;
static char root[256];
static int acked, ack_status;

static void
on_ack(void *ctx, void *cookie, int status)
{
	(void)ctx;
	(void)cookie;
	acked++;
	ack_status = status;
}

static void
cleanup(void)
{
	char cmd[300];

	vault_close(vault);
	svc_audit_close(audit);
	vault = NULL;
	audit = NULL;
	if (root[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0) {
			/* left for the system's temporary cleaner */
		}
	}
}

static int
setup(void)
{
	const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	char dir[300], id[9];
	struct pv_buf vk;
	struct pv_diag d;

	snprintf(root, sizeof(root), "%s/pv-fuzz-ingest-XXXXXX", t != NULL ? t : "/tmp");
	if (mkdtemp(root) == NULL) {
		root[0] = '\0';
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/vault", root);
	pv_diag_clear(&d);
	pv_buf_init(&vk, 4096);
	if (svc_vault_create(dir, NULL, NULL, id, &vk, &d) != 0 || vault_open(dir, NULL, VAULT_WRITE, &vault, &d) != 0 ||
	    svc_audit_open(dir, vault, "fuzz", &audit, &d) != 0) {
		fprintf(stderr, "fuzz_ingest: cannot make a vault in %s: %s\n", dir, d.msg);
		abort();
	}
	pv_buf_free(&vk);
	vault_set_commit_hook(vault, svc_audit_import_hook, audit);
	vault_import_batching(vault, 1, on_ack, NULL);
	atexit(cleanup);
	return 0;
}

/* The SOP Instance UID the input carries (as the vault reads it), or "". */
static void
sop_uid_of(const uint8_t *data, size_t size, char out[65])
{
	struct dcm_reader_opts o;
	struct dcm_reader *r = NULL;
	struct dcm_file *f = NULL;
	struct pv_diag d;
	const struct dcm_elem *e;
	const uint8_t *p;

	out[0] = '\0';
	dcm_reader_opts_default(&o);
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(data, size, &o, &r, &d) != 0) {
		dcm_reader_free(r);
		return;
	}
	if (dcm_file_read(r, &f, &d) != 0)
		return;
	if ((e = dcm_ds_find(&f->ds, 0x00080018u)) != NULL && e->length < 65 &&
	    dcm_file_value(f, (struct dcm_elem *)e, &p) == 0) {
		size_t n = e->length;

		memcpy(out, p, n);
		while (n > 0 && (out[n - 1] == '\0' || out[n - 1] == ' '))
			n--;
		out[n] = '\0';
	}
	dcm_file_free(f);
}

int
fuzz_ingest_one(const uint8_t *data, size_t size)
{
	char reason[512], uid[65];
	struct pv_diag d;
	uint64_t bytes;
	int st, rc;

	if (vault == NULL && setup() != 0)
		return 0;
	acked = 0;
	ack_status = -1;
	rc = vault_import_mem(vault, data, size, "fuzz", NULL, &st, reason, sizeof(reason), &bytes);
	pv_diag_clear(&d);
	if (vault_import_flush(vault, &d) != 0) {
		fprintf(stderr, "fuzz_ingest: a batch failed: %s\n", d.msg);
		abort();
	}
	if ((st == VAULT_STORED || st == VAULT_QUARANTINED) && (rc != 0 || acked != 1))
		abort();   /* stored or quarantined, then never acknowledged */
	if (st != VAULT_STORED || ack_status != VAULT_STORED)
		return 0;
	/* Stored: it comes back exactly. */
	sop_uid_of(data, size, uid);
	{
		struct vault_instance *in = NULL;
		struct pv_buf got;
		size_t n = 0;
		int level;

		pv_buf_init(&got, (size_t)1 << 31);
		if (uid[0] == '\0' || vault_resolve(vault, uid, &in, &n, &level, &d) != 0 || n != 1 ||
		    vault_get_mem(vault, &in[0], &got, &d) != 0 || got.len != size ||
		    (size > 0 && memcmp(got.data, data, size) != 0)) {
			fprintf(stderr, "fuzz_ingest: a stored instance does not come back whole: %s\n", d.msg);
			abort();
		}
		pv_buf_free(&got);
		free(in);
	}
	return 0;
}

PV_FUZZ_ENTRY(fuzz_ingest_one)
