/* vault.c: the encrypted vault (see vault.h and docs/FORMATS.md "Vault"). */
#include "pacsvault/store/vault.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sealed.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/uid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VAULT_FORMAT "pacsvault vault 1"
#define VAULT_IO_BUF (1u << 20)
#define VAULT_VALUE_MAX 1024      /* longest indexed value kept (bytes of UTF-8) */
#define VAULT_ATTRS_MAX 16384     /* largest sealed attribute blob */

struct vault {
	char *dir;
	struct pv_key master;
	uint8_t k_blind[PV_KEY_LEN], k_col[PV_KEY_LEN], k_content[PV_KEY_LEN];
	const struct store_index_ops *ops;
	struct store_index *ix;
	int lockfd;              /* lock: held exclusive by the one writer (and by a quiet reader) */
	int rlockfd;             /* rlock: held shared by every process but a key rotation */
	int writer;
	uint64_t settled_published, settled_shredded;  /* what the last settle_staged did */
	pthread_mutex_t lock;
	size_t batch_files;
	atomic_int sync_each;        /* each object synced by the thread that seals it (vault_import_sync_each) */
	/*
	 * The index connections. ix is the one writer connection: the committer's
	 * batch transactions, rm, quarantine, fsck, settings, always under wlock.
	 * Reads (duplicate checks, find, get) take a connection of their own from
	 * a small pool (SQLite in WAL mode: readers see the last commit and never
	 * wait for the writer), so a slow consumer of find's rows holds nothing an
	 * ingest needs, and the committer's disk syncs hold nothing a reader needs.
	 */
	pthread_mutex_t wlock;
	pthread_mutex_t plock;
	struct store_index *pool[8];
	size_t npool;
	char *dbpath;
	vault_commit_hook hook;
	void *hook_ctx;
	vault_ack_fn ack;
	void *ack_ctx;
	int sticky;              /* first failure of a batch commit: no later batch is acknowledged */
	struct pv_diag sticky_d; /* what that failure was */
	/*
	 * Import's commit pipeline. Workers seal objects and queue their index
	 * rows (struct qent); the committer thread takes a batch, syncs the
	 * file system with no lock held (the workers go on sealing the next
	 * batch meanwhile), then under the lock inserts the rows, runs the
	 * commit hook (the audit entries, durable) and commits the index, and
	 * only then acknowledges. An index row is thus never committed before
	 * its object and its audit entry are durable.
	 */
	struct qent **queue;
	size_t nqueue, capqueue;
	int committer_on;        /* the thread runs */
	int flush_req, closing;
	pthread_t committer;
	pthread_cond_t cv_work;  /* to the committer: a batch is full, a flush or the end is asked for */
	pthread_cond_t cv_done;  /* from it: a batch is committed (room in the queue; flush waits) */
};

/* One imported file waiting for its batch's commit. */
struct qent {
	void *cookie;
	int kind;                         /* VAULT_STORED: an instance row; VAULT_QUARANTINED: quarantine */
	int status;                       /* its status when acknowledged */
	struct vault_batch_item item;
	struct store_instance_row row;    /* pointers set at commit: into attrs, modality, sop_class */
	struct pv_buf attrs[4];           /* sealed patient, study, series, instance columns */
	int synced;                       /* its object was synced when sealed (sync_each) */
	char *modality, *sop_class;
	struct store_quarantine_row q;    /* objid and info set at commit */
	uint8_t *qinfo;
	size_t qinfo_n;
};

const char *
vault_status_name(int status)
{
	switch (status) {
	case VAULT_STORED: return "stored";
	case VAULT_DUPLICATE: return "duplicate";
	case VAULT_CONFLICT: return "conflict";
	case VAULT_QUARANTINED: return "quarantined";
	case VAULT_SKIPPED: return "skipped";
	}
	return "failed";
}

const char *
vault_dir(const struct vault *v)
{
	return v->dir;
}

/* ---- paths and small helpers ---- */

static char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

/* dir/objects/XY/ID.pvo (kind "objects") or dir/quarantine/ID.pvo. */
static void
object_path(const struct vault *v, const char *kind, const char *objid, char *out, size_t n)
{
	if (strcmp(kind, "objects") == 0)
		snprintf(out, n, "%s/objects/%.2s/%s.pvo", v->dir, objid, objid);
	else
		snprintf(out, n, "%s/%s/%s.pvo", v->dir, kind, objid);
}

/* dir/tmp/ID.tmp: an object is sealed there and stays until the index row naming it commits. */
static void
staged_path(const struct vault *v, const char *objid, char *out, size_t n)
{
	snprintf(out, n, "%s/tmp/%s.tmp", v->dir, objid);
}

/* Crypto-shreds the sealed file at path (its key slots, synced) and removes it. */
static void
shred_path(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pv_sealed_shred(fd, NULL) != 0) {
			/* Best effort: the unlink follows anyway, and fsck finds what is left. */
		}
		close(fd);
	}
	(void)unlink(path);
}

/* Moves the staged object objid, whose row committed, into its place (kind "objects" or "quarantine"). */
static int
publish_object(struct vault *v, const char *kind, const char *objid)
{
	char src[4096], dst[4096];

	staged_path(v, objid, src, sizeof(src));
	object_path(v, kind, objid, dst, sizeof(dst));
	if (strcmp(kind, "objects") == 0) {
		char sub[4096];

		snprintf(sub, sizeof(sub), "%s/objects/%.2s", v->dir, objid);
		if (mkdir(sub, 0700) != 0 && errno != EEXIST)
			return PV_EIO;
	}
	return rename(src, dst) == 0 ? 0 : PV_EIO;
}

/* Shreds the staged object objid (no committed row names it). */
static void
discard_staged(struct vault *v, const char *objid)
{
	char p[4096];

	staged_path(v, objid, p, sizeof(p));
	shred_path(p);
}

static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return PV_EIO;
	if (fsync(fd) != 0)
		rc = PV_EIO;
	close(fd);
	return rc;
}

/* The three subkeys of the index key. */
static int
derive_keys(struct vault *v, const uint8_t ik[PV_KEY_LEN])
{
	if (pv_hmac_sha256(ik, PV_KEY_LEN, "blind", 5, v->k_blind) != 0 ||
	    pv_hmac_sha256(ik, PV_KEY_LEN, "column", 6, v->k_col) != 0 ||
	    pv_hmac_sha256(ik, PV_KEY_LEN, "content", 7, v->k_content) != 0)
		return PV_EINTERNAL;
	return 0;
}

/* blind(label, value): HMAC-SHA256(blind key, label || 0x00 || value), first 16 bytes. */
static void
blind(const struct vault *v, const char *label, const char *value, uint8_t out[STORE_BLIND_LEN])
{
	uint8_t h[PV_SHA256_LEN], pre[32];
	size_t ln = strlen(label);

	if (ln > sizeof(pre) - 1)
		ln = sizeof(pre) - 1;
	memcpy(pre, label, ln);
	pre[ln] = 0;
	if (pv_hmac_sha256_2(v->k_blind, PV_KEY_LEN, pre, ln + 1, value, strlen(value), h) != 0)
		memset(h, 0, sizeof(h));
	memcpy(out, h, STORE_BLIND_LEN);
}

/* The associated data of a sealed column: table || 0x00 || row key (|| objid). */
static size_t
col_aad(const char *table, const uint8_t *b, const char *objid, uint8_t out[96])
{
	size_t n = strlen(table);

	memcpy(out, table, n);
	out[n++] = 0;
	if (b != NULL) {
		memcpy(out + n, b, STORE_BLIND_LEN);
		n += STORE_BLIND_LEN;
	}
	if (objid != NULL) {
		memcpy(out + n, objid, 32);
		n += 32;
	}
	return n;
}

/* ---- attribute sets: tag u32le | length u16le | UTF-8 bytes, repeated ---- */

struct attrs {
	size_t n;
	uint32_t tag[48];
	char *val[48];
	char *mem;
};

static void
attrs_free(struct attrs *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		free(a->val[i]);
	free(a->mem);
	memset(a, 0, sizeof(*a));
}

static const char *
attrs_get(const struct attrs *a, uint32_t tag)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->tag[i] == tag)
			return a->val[i];
	return NULL;
}

static int
attrs_encode(const struct attrs *a, int level, struct pv_buf *out)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct query_attr *qa = NULL;
		uint8_t h[6];
		size_t len;

		for (const struct query_attr *q = query_attrs; q->tag != 0; q++)
			if (q->tag == a->tag[i])
				qa = q;
		if (qa == NULL || qa->level != level || a->val[i] == NULL)
			continue;
		len = strlen(a->val[i]);
		h[0] = (uint8_t)a->tag[i];
		h[1] = (uint8_t)(a->tag[i] >> 8);
		h[2] = (uint8_t)(a->tag[i] >> 16);
		h[3] = (uint8_t)(a->tag[i] >> 24);
		h[4] = (uint8_t)len;
		h[5] = (uint8_t)(len >> 8);
		if (pv_buf_append(out, h, 6) != 0 || pv_buf_append(out, a->val[i], len) != 0)
			return PV_ENOMEM;
	}
	return 0;
}

/* Adds the decoded entries of p to a (values copied). PV_EINTEGRITY when malformed. */
static int
attrs_decode(const uint8_t *p, size_t n, struct attrs *a)
{
	size_t off = 0;

	while (off < n) {
		uint32_t tag;
		size_t len;

		if (n - off < 6 || a->n >= 48)
			return PV_EINTEGRITY;
		tag = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
		    (uint32_t)p[off + 3] << 24;
		len = (size_t)p[off + 4] | (size_t)p[off + 5] << 8;
		off += 6;
		if (len > n - off)
			return PV_EINTEGRITY;
		if ((a->val[a->n] = malloc(len + 1)) == NULL)
			return PV_ENOMEM;
		memcpy(a->val[a->n], p + off, len);
		a->val[a->n][len] = '\0';
		a->tag[a->n++] = tag;
		off += len;
	}
	return 0;
}

/* Seals the level's attributes of a into out (PV_SEALED_SMALL_OVERHEAD more than the encoding). */
static int
attrs_seal(const struct vault *v, const struct attrs *a, int level, const char *table, const uint8_t *b,
    const char *objid, struct pv_buf *out)
{
	struct pv_buf plain;
	uint8_t aad[96];
	size_t an = col_aad(table, b, objid, aad);
	char *dst;
	int rc;

	pv_buf_init(&plain, VAULT_ATTRS_MAX);
	if ((rc = attrs_encode(a, level, &plain)) != 0)
		goto done;
	pv_buf_reset(out);
	if ((dst = pv_buf_reserve(out, plain.len + PV_SEALED_SMALL_OVERHEAD)) == NULL) {
		rc = PV_ELIMIT;
		goto done;
	}
	if ((rc = pv_seal_small(v->k_col, aad, an, plain.len > 0 ? (const void *)plain.data : "", plain.len,
	    (uint8_t *)dst)) != 0)
		goto done;
	out->len += plain.len + PV_SEALED_SMALL_OVERHEAD;
done:
	pv_buf_free_scrub(&plain);
	return rc;
}

static int
attrs_open(const struct vault *v, const uint8_t *p, size_t n, const char *table, const uint8_t *b,
    const char *objid, struct attrs *a)
{
	uint8_t aad[96], stackbuf[1024], *plain = stackbuf;
	size_t an = col_aad(table, b, objid, aad);
	int rc;

	if (p == NULL || n < PV_SEALED_SMALL_OVERHEAD || n > VAULT_ATTRS_MAX + PV_SEALED_SMALL_OVERHEAD)
		return PV_EINTEGRITY;
	if (n - PV_SEALED_SMALL_OVERHEAD > sizeof(stackbuf) && (plain = malloc(n)) == NULL)
		return PV_ENOMEM;
	rc = pv_open_small(v->k_col, aad, an, p, n, plain);
	if (rc == 0)
		rc = attrs_decode(plain, n - PV_SEALED_SMALL_OVERHEAD, a);
	pv_cleanse(plain, n - PV_SEALED_SMALL_OVERHEAD);
	if (plain != stackbuf)
		free(plain);
	return rc;
}

/* ---- the vault file, keys, locking ---- */

static int
read_vault_file(const char *dir, char keyid[9], struct pv_diag *d)
{
	char *p = path_join(dir, "VAULT"), line[128];
	FILE *f;
	int rc = 0;

	if (p == NULL)
		return PV_ENOMEM;
	f = fopen(p, "r");
	free(p);
	if (f == NULL)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "not a vault (no VAULT file; 'pacsvault vault init' "
		    "makes one)");
	keyid[0] = '\0';
	if (fgets(line, sizeof(line), f) == NULL || strcmp(line, VAULT_FORMAT "\n") != 0)
		rc = pv_diag_set(d, PV_EPARSE, 0, "VAULT: first line is not '" VAULT_FORMAT "'");
	else if (fgets(line, sizeof(line), f) == NULL || sscanf(line, "master-key %8s", keyid) != 1 ||
	    strlen(keyid) != 8)
		rc = pv_diag_set(d, PV_EPARSE, -1, "VAULT: line 2 is not 'master-key XXXXXXXX'");
	fclose(f);
	return rc;
}

static int
write_vault_file(const char *dir, const char *keyid, int inside, struct pv_diag *d)
{
	struct pv_atomic af;
	char *p = path_join(dir, "VAULT"), text[160];
	int rc, n;

	if (p == NULL)
		return PV_ENOMEM;
	n = snprintf(text, sizeof(text), VAULT_FORMAT "\nmaster-key %s\nmaster-key-file %s\n", keyid,
	    inside ? "inside (master.key)" : "outside");
	rc = pv_atomic_open(&af, p, 0644, d);
	free(p);
	if (rc != 0)
		return rc;
	if (pv_write_all(af.fd, text, (size_t)n) != 0) {
		pv_atomic_abort(&af);
		return pv_diag_set(d, PV_EIO, -1, "cannot write VAULT");
	}
	return pv_atomic_commit(&af, d);
}

/* How long a process waits for a vault lock: $PACSVAULT_WAIT seconds (0: not at all), else 60. */
static unsigned
lock_wait_ms(void)
{
	const char *e = getenv("PACSVAULT_WAIT");
	char *end;
	unsigned long s;

	if (e == NULL || e[0] == '\0')
		return 60000;
	s = strtoul(e, &end, 10);
	if (*end != '\0' || s > 86400)
		return 60000;
	return (unsigned)s * 1000;
}

/*
 * Takes flock how (LOCK_EX or LOCK_SH) on dir/name, waiting while another
 * process holds it (lock_wait_ms). The exclusive holder of "lock" writes its
 * pid there, so that a waiter can say who it waited for.
 */
static int
lock_vault_file(const char *dir, const char *name, int how, int *fdout, struct pv_diag *d)
{
	char *p = path_join(dir, name), who[64] = "";
	unsigned waited = 0, limit = lock_wait_ms();
	int fd;

	*fdout = -1;
	if (p == NULL)
		return PV_ENOMEM;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (fd < 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot open the vault's lock file %s: %s", name, strerror(errno));
	while (flock(fd, how | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;

			close(fd);
			return pv_diag_set(d, PV_EIO, -1, "cannot lock the vault (%s): %s", name, strerror(e));
		}
		if (waited >= limit) {
			ssize_t n = pread(fd, who, sizeof(who) - 1, 0);
			unsigned long pid = 0;

			close(fd);
			who[n > 0 ? n : 0] = '\0';
			if (sscanf(who, "pid %lu", &pid) != 1)
				pid = 0;
			if (strcmp(name, "rlock") == 0)
				return pv_diag_set(d, PV_EEXIST, -1, "a master key rotation holds the vault; waited "
				    "%u s (PACSVAULT_WAIT sets how long)", limit / 1000);
			snprintf(who, sizeof(who), " (pid %lu)", pid);
			return pv_diag_set(d, PV_EEXIST, -1, "another pacsvault process%s is writing the vault; "
			    "waited %u s (PACSVAULT_WAIT=SECONDS sets how long)", pid != 0 ? who : "", limit / 1000);
		}
		usleep(50000);
		waited += 50;
	}
	if (how == LOCK_EX && strcmp(name, "lock") == 0) {
		int n = snprintf(who, sizeof(who), "pid %ld\n", (long)getpid());

		if (ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)n, 0) != n) {
			/* only a hint for a waiter's message: a failure changes nothing */
		}
	}
	*fdout = fd;
	return 0;
}

/* Seals a 32-byte key as dir/NAME (a sealed object with the all-zero object id). */
static int
write_sealed_key(const char *dir, const char *name, const struct pv_key *master, const uint8_t ik[PV_KEY_LEN],
    struct pv_diag *d)
{
	struct pv_atomic af;
	struct pv_sealer s;
	uint8_t objid[PV_SEALED_OBJID];
	char *p = path_join(dir, name);
	int rc;

	if (p == NULL)
		return PV_ENOMEM;
	memset(objid, 0, sizeof(objid));
	rc = pv_atomic_open(&af, p, 0600, d);
	free(p);
	if (rc != 0)
		return rc;
	if ((rc = pv_sealer_begin(&s, master, objid, af.fd, d)) == 0 &&
	    (rc = pv_sealer_update(&s, ik, PV_KEY_LEN, d)) == 0)
		rc = pv_sealer_finish(&s, d);
	pv_sealer_free(&s);
	if (rc != 0) {
		pv_atomic_abort(&af);
		return rc;
	}
	return pv_atomic_commit(&af, d);
}

static int
read_sealed_key(const char *dir, const char *name, const struct pv_key *master, uint8_t ik[PV_KEY_LEN],
    struct pv_diag *d)
{
	struct pv_opener o;
	uint8_t objid[PV_SEALED_OBJID], *chunk = NULL;
	char *p = path_join(dir, name);
	size_t n = 0;
	int fd, rc;

	if (p == NULL)
		return PV_ENOMEM;
	memset(objid, 0, sizeof(objid));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "%s missing: %s", name, strerror(errno));
	if ((chunk = malloc(PV_SEALED_CHUNK)) == NULL) {
		close(fd);
		return PV_ENOMEM;
	}
	if ((rc = pv_opener_begin(&o, master, fd, objid, d)) == 0) {
		if (o.nchunks != 1)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: not one chunk", name);
		else if ((rc = pv_opener_chunk(&o, 0, chunk, &n, d)) == 0 && n != PV_KEY_LEN)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: wrong length", name);
	}
	if (rc == 0)
		memcpy(ik, chunk, PV_KEY_LEN);
	pv_cleanse(chunk, PV_SEALED_CHUNK);
	free(chunk);
	pv_opener_free(&o);
	close(fd);
	if (rc != 0)
		pv_diag_set_path(d, name);
	return rc;
}

int
vault_create(const char *dir, const char *master_key_path, char keyid[9], struct pv_diag *d)
{
	static const char *const sub[] = { "objects", "quarantine", "tmp" };
	struct pv_key master;
	struct store_index *ix = NULL;
	uint8_t ik[PV_KEY_LEN];
	struct stat st;
	DIR *dp;
	char *p = NULL;
	int rc;

	memset(&master, 0, sizeof(master));
	if (stat(dir, &st) == 0) {
		struct dirent *e;
		int empty = 1;

		if (!S_ISDIR(st.st_mode))
			return pv_diag_set(d, PV_EEXIST, -1, "%s exists and is not a folder", dir);
		if ((dp = opendir(dir)) == NULL)
			return pv_diag_set(d, PV_EIO, -1, "cannot read %s: %s", dir, strerror(errno));
		while ((e = readdir(dp)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				empty = 0;
		closedir(dp);
		if (!empty)
			return pv_diag_set(d, PV_EEXIST, -1, "%s is not empty: a vault is never created over "
			    "existing files", dir);
	}
	if (pv_mkdir_p(dir, 0700) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot create %s: %s", dir, strerror(errno));
	for (size_t i = 0; i < 3; i++) {
		if ((p = path_join(dir, sub[i])) == NULL)
			return PV_ENOMEM;
		rc = mkdir(p, 0700);
		free(p);
		if (rc != 0)
			return pv_diag_set(d, PV_EIO, -1, "cannot create %s/%s: %s", dir, sub[i], strerror(errno));
	}
	if (master_key_path != NULL) {
		if ((rc = pv_key_read(master_key_path, PV_KEY_MASTER, &master, d)) != 0)
			return rc;
	} else {
		if ((rc = pv_key_generate(&master, PV_KEY_MASTER)) != 0)
			return pv_diag_set(d, rc, -1, "no randomness for a master key");
		if ((p = path_join(dir, "master.key")) == NULL)
			return PV_ENOMEM;
		rc = pv_key_write(p, &master, d);
		free(p);
		if (rc != 0)
			goto done;
	}
	pv_key_id_hex(&master, keyid);
	if ((rc = pv_random(ik, sizeof(ik))) != 0) {
		pv_diag_set(d, rc, -1, "no randomness for the index key");
		goto done;
	}
	if ((rc = write_sealed_key(dir, "index.key.pvo", &master, ik, d)) != 0)
		goto done;
	if ((rc = pv_random(ik, sizeof(ik))) != 0 ||
	    (rc = write_sealed_key(dir, "ledger.key.pvo", &master, ik, d)) != 0)
		goto done;
	if ((p = path_join(dir, "index.db")) == NULL) {
		rc = PV_ENOMEM;
		goto done;
	}
	rc = store_index_sqlite.open(p, 1, &ix, d);
	free(p);
	if (rc != 0)
		goto done;
	if ((rc = store_index_sqlite.meta_set(ix, "master_key_id", keyid, d)) != 0)
		goto done;
	if ((rc = write_vault_file(dir, keyid, master_key_path == NULL, d)) != 0)
		goto done;
	rc = sync_dir(dir);
done:
	if (ix != NULL)
		store_index_sqlite.close(ix);
	pv_cleanse(ik, sizeof(ik));
	pv_key_clear(&master);
	return rc;
}

static int
load_master(const char *dir, const char *path, struct pv_key *k, struct pv_diag *d)
{
	char *p = NULL;
	int rc;

	if (path == NULL) {
		if ((p = path_join(dir, "master.key")) == NULL)
			return PV_ENOMEM;
		if (access(p, F_OK) != 0) {
			free(p);
			return pv_diag_set(d, PV_ENOTFOUND, -1, "this vault keeps its master key outside: give "
			    "--master-key FILE (or PACSVAULT_MASTER_KEY)");
		}
		path = p;
	}
	rc = pv_key_read(path, PV_KEY_MASTER, k, d);
	if (rc != 0 && d != NULL) {
		/* name the key file, not the vault: the key is what is wrong (issue #15) */
		char m[sizeof(d->msg) + 256];
		if (d->has_offset)
			snprintf(m, sizeof(m), "the master key %.200s: offset %llu: %s", path,
			    (unsigned long long)d->offset, d->msg);
		else
			snprintf(m, sizeof(m), "the master key %.200s: %s", path, d->msg);
		memcpy(d->msg, m, sizeof(d->msg) - 1);
		d->msg[sizeof(d->msg) - 1] = '\0';
		d->has_offset = 0;
	}
	free(p);
	return rc;
}

/*
 * Moves each staged object (tmp/ID.tmp) whose row committed to its place,
 * and shreds every other file of tmp/: objects of an import that was
 * killed, or whose batch failed, before its index commit. They were never
 * acknowledged, and they are complete copies of a patient's data: they
 * are not left readable. Only a writer, with no import running, calls it.
 */
static int
settle_staged(struct vault *v, struct pv_diag *d)
{
	char *t = path_join(v->dir, "tmp"), p[4096];
	DIR *dp;
	struct dirent *e;
	int rc = 0;

	if (t == NULL)
		return PV_ENOMEM;
	dp = opendir(t);
	if (dp == NULL) {
		rc = errno == ENOENT ? 0 : pv_diag_set(d, PV_EIO, -1, "cannot read %s: %s", t, strerror(errno));
		free(t);
		return rc;
	}
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);
		char objid[STORE_OBJID_HEX];
		uint8_t id[PV_SEALED_OBJID];
		int kind = STORE_OBJ_NONE;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", t, e->d_name);
		if (l == 36 && strcmp(e->d_name + 32, ".tmp") == 0) {
			memcpy(objid, e->d_name, 32);
			objid[32] = '\0';
			if (unhex(objid, id, sizeof(id)) == 0 &&
			    (kind = v->ops->object_kind(v->ix, objid, d)) < 0) {
				rc = kind;  /* the index cannot say: leave everything as it is */
				break;
			}
		}
		if (kind != STORE_OBJ_NONE && publish_object(v, kind == STORE_OBJ_INSTANCE ? "objects" :
		    "quarantine", objid) == 0) {
			v->settled_published++;
			continue;
		}
		shred_path(p);
		v->settled_shredded++;
	}
	closedir(dp);
	if (v->settled_shredded > 0)
		(void)sync_dir(t);
	free(t);
	return rc;
}

int
vault_settled(const struct vault *v, uint64_t *published, uint64_t *shredded)
{
	*published = v->settled_published;
	*shredded = v->settled_shredded;
	return v->settled_published + v->settled_shredded > 0;
}

int
vault_open(const char *dir, const char *master_key_path, int mode, struct vault **out, struct pv_diag *d)
{
	struct vault *v;
	char want[9], have[9], *p;
	uint8_t ik[PV_KEY_LEN];
	int rc;

	*out = NULL;
	if ((rc = read_vault_file(dir, want, d)) != 0)
		return rc;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return PV_ENOMEM;
	v->lockfd = v->rlockfd = -1;
	v->batch_files = 128;
	v->ops = &store_index_sqlite;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->wlock, NULL);
	pthread_mutex_init(&v->plock, NULL);
	pthread_cond_init(&v->cv_work, NULL);
	pthread_cond_init(&v->cv_done, NULL);
	if ((v->dir = strdup(dir)) == NULL) {
		rc = PV_ENOMEM;
		goto fail;
	}
	/* Readers run beside the writer (the index is SQLite in WAL mode; an object is in place
	 * before the row naming it commits); writers, and readers that want a still vault (fsck),
	 * wait for each other; a key rotation waits for all and holds all off. */
	/* In the order a rotation takes them (lock, then rlock): no two processes wait on each other. */
	if ((mode & (VAULT_WRITE | VAULT_QUIET)) != 0 &&
	    (rc = lock_vault_file(dir, "lock", LOCK_EX, &v->lockfd, d)) != 0)
		goto fail;
	if ((rc = lock_vault_file(dir, "rlock", LOCK_SH, &v->rlockfd, d)) != 0)
		goto fail;
	v->writer = (mode & VAULT_WRITE) != 0;
	if ((p = path_join(dir, "rotate.state")) == NULL) {
		rc = PV_ENOMEM;
		goto fail;
	}
	rc = access(p, F_OK);
	free(p);
	if (rc == 0) {
		rc = pv_diag_set(d, PV_EINVAL, -1, "a master key rotation is unfinished: run 'pacsvault vault "
		    "rotate-key' again with the same arguments");
		goto fail;
	}
	if ((rc = load_master(dir, master_key_path, &v->master, d)) != 0)
		goto fail;
	pv_key_id_hex(&v->master, have);
	if (strcmp(have, want) != 0) {
		rc = pv_diag_set(d, PV_EAUTH, -1, "master key %s is not this vault's (%s)", have, want);
		goto fail;
	}
	if ((rc = read_sealed_key(dir, "index.key.pvo", &v->master, ik, d)) != 0)
		goto fail;
	rc = derive_keys(v, ik);
	pv_cleanse(ik, sizeof(ik));
	if (rc != 0)
		goto fail;
	if ((p = path_join(dir, "index.db")) == NULL) {
		rc = PV_ENOMEM;
		goto fail;
	}
	rc = v->ops->open(p, 0, &v->ix, d);
	v->dbpath = p;
	if (rc != 0)
		goto fail;
	/* What an interrupted import left in tmp/: placed when its row committed, else shredded. */
	if (v->writer && (rc = settle_staged(v, d)) != 0)
		goto fail;
	*out = v;
	return 0;
fail:
	vault_close(v);
	return rc;
}

static void committer_stop(struct vault *v);

/* A read connection: one from the pool, else a new one. Give it back with reader_give. */
static int
reader_take(struct vault *v, struct store_index **ix, struct pv_diag *d)
{
	/* A handle that never writes (no committer) lends its one connection when it is free:
	 * a find or get process then opens the index once. */
	if (!v->writer && v->ix != NULL && pthread_mutex_trylock(&v->wlock) == 0) {
		*ix = v->ix;
		return 0;
	}
	pthread_mutex_lock(&v->plock);
	*ix = v->npool > 0 ? v->pool[--v->npool] : NULL;
	pthread_mutex_unlock(&v->plock);
	if (*ix != NULL)
		return 0;
	return v->ops->open(v->dbpath, 0, ix, d);
}

static void
reader_give(struct vault *v, struct store_index *ix)
{
	if (ix == NULL)
		return;
	if (ix == v->ix) {
		pthread_mutex_unlock(&v->wlock);
		return;
	}
	pthread_mutex_lock(&v->plock);
	if (v->npool < sizeof(v->pool) / sizeof(v->pool[0])) {
		v->pool[v->npool++] = ix;
		ix = NULL;
	}
	pthread_mutex_unlock(&v->plock);
	if (ix != NULL)
		v->ops->close(ix);
}

void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	committer_stop(v);
	/* A failed or unfinished batch leaves staged objects: no row names them, they go now. */
	if (v->writer && v->ix != NULL)
		(void)settle_staged(v, NULL);
	if (v->ix != NULL)
		v->ops->close(v->ix);
	for (size_t i = 0; i < v->npool; i++)
		v->ops->close(v->pool[i]);
	free(v->dbpath);
	if (v->lockfd >= 0)
		close(v->lockfd);
	if (v->rlockfd >= 0)
		close(v->rlockfd);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->wlock);
	pthread_mutex_destroy(&v->plock);
	pthread_cond_destroy(&v->cv_work);
	pthread_cond_destroy(&v->cv_done);
	pv_key_clear(&v->master);
	pv_cleanse(v->k_blind, sizeof(v->k_blind));
	pv_cleanse(v->k_col, sizeof(v->k_col));
	pv_cleanse(v->k_content, sizeof(v->k_content));
	free(v->queue);
	free(v->dir);
	free(v);
}

/* ---- import ---- */

void
vault_import_batching(struct vault *v, size_t files, vault_ack_fn ack, void *ctx)
{
	v->batch_files = files > 0 ? files : 1;
	v->ack = ack;
	v->ack_ctx = ctx;
}

void
vault_import_sync_each(struct vault *v, int on)
{
	atomic_store(&v->sync_each, on);
}

void
vault_set_commit_hook(struct vault *v, vault_commit_hook hook, void *ctx)
{
	v->hook = hook;
	v->hook_ctx = ctx;
}

int
vault_audit_key(struct vault *v, uint8_t key[PV_KEY_LEN])
{
	return read_sealed_key(v->dir, "ledger.key.pvo", &v->master, key, NULL);
}

int
vault_ledger_seed(struct vault *v, uint8_t seed[32], struct pv_diag *d)
{
	char *p = path_join(v->dir, "ledger.sign.pvo");
	int rc;

	if (p == NULL)
		return PV_ENOMEM;
	rc = access(p, F_OK);
	free(p);
	if (rc != 0)
		return PV_ENOTFOUND;
	return read_sealed_key(v->dir, "ledger.sign.pvo", &v->master, seed, d);
}

int
vault_set_ledger_seed(struct vault *v, const uint8_t seed[32], struct pv_diag *d)
{
	uint8_t have[32];
	int rc;

	if ((rc = vault_ledger_seed(v, have, NULL)) == 0) {
		rc = memcmp(have, seed, 32) == 0 ? 0 : pv_diag_set(d, PV_EEXIST, -1, "the vault keeps another "
		    "ledger signing key (ledger.sign.pvo)");
		pv_cleanse(have, sizeof(have));
		return rc;
	}
	if (rc != PV_ENOTFOUND)
		return pv_diag_set(d, rc, -1, "ledger.sign.pvo does not open with the master key");
	if ((rc = write_sealed_key(v->dir, "ledger.sign.pvo", &v->master, seed, d)) != 0)
		return rc;
	return sync_dir(v->dir) == 0 ? 0 : pv_diag_set(d, PV_EIO, -1, "cannot sync the vault folder");
}

/* The object id a sealed blob is bound to: its name, so that one cannot be put in another's place. */
static int
blob_objid(const char *name, uint8_t objid[PV_SEALED_OBJID], struct pv_diag *d)
{
	if (strcmp(name, "users.pvo") != 0 && strcmp(name, "projects.pvo") != 0 && strcmp(name, "tokens.pvo") != 0)
		return pv_diag_set(d, PV_EINVAL, -1, "%s: not a sealed blob of the vault", name);
	memset(objid, 0, PV_SEALED_OBJID);
	memcpy(objid, "blob:", 5);
	memcpy(objid + 5, name, strlen(name) < PV_SEALED_OBJID - 5 ? strlen(name) : PV_SEALED_OBJID - 5);
	return 0;
}

int
vault_blob_get(struct vault *v, const char *name, struct pv_buf *out, struct pv_diag *d)
{
	struct pv_opener o;
	uint8_t objid[PV_SEALED_OBJID], *chunk = NULL;
	char *p;
	int fd, rc;

	if ((rc = blob_objid(name, objid, d)) != 0)
		return rc;
	if ((p = path_join(v->dir, name)) == NULL)
		return PV_ENOMEM;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return errno == ENOENT ? PV_ENOTFOUND : pv_diag_set(d, PV_EIO, -1, "%s: %s", name, strerror(errno));
	if ((chunk = malloc(PV_SEALED_CHUNK)) == NULL) {
		close(fd);
		return PV_ENOMEM;
	}
	if ((rc = pv_opener_begin(&o, &v->master, fd, objid, d)) == 0) {
		for (uint64_t i = 0; rc == 0 && i < o.nchunks; i++) {
			size_t n = 0;

			if ((rc = pv_opener_chunk(&o, i, chunk, &n, d)) == 0 && pv_buf_append(out, chunk, n) != 0)
				rc = pv_diag_set(d, PV_ELIMIT, -1, "%s: too large", name);
		}
		pv_opener_free(&o);
	}
	pv_cleanse(chunk, PV_SEALED_CHUNK);
	free(chunk);
	close(fd);
	if (rc != 0)
		pv_diag_set_path(d, name);
	return rc;
}

int
vault_blob_put(struct vault *v, const char *name, const void *data, size_t n, struct pv_diag *d)
{
	struct pv_atomic af;
	struct pv_sealer s;
	uint8_t objid[PV_SEALED_OBJID];
	char *p;
	int rc;

	if ((rc = blob_objid(name, objid, d)) != 0)
		return rc;
	if ((p = path_join(v->dir, name)) == NULL)
		return PV_ENOMEM;
	rc = pv_atomic_open(&af, p, 0600, d);
	free(p);
	if (rc != 0)
		return rc;
	if ((rc = pv_sealer_begin(&s, &v->master, objid, af.fd, d)) == 0 &&
	    (n == 0 || (rc = pv_sealer_update(&s, data, n, d)) == 0))
		rc = pv_sealer_finish(&s, d);
	pv_sealer_free(&s);
	if (rc != 0) {
		pv_atomic_abort(&af);
		return rc;
	}
	if ((rc = pv_atomic_commit(&af, d)) != 0)
		return rc;
	return sync_dir(v->dir) == 0 ? 0 : pv_diag_set(d, PV_EIO, -1, "cannot sync the vault folder");
}

int
vault_setting_get(struct vault *v, const char *key, char *out, size_t n)
{
	char k[64];
	int rc;

	snprintf(k, sizeof(k), "setting.%s", key);
	pthread_mutex_lock(&v->wlock);
	rc = v->ops->meta_get(v->ix, k, out, n);
	pthread_mutex_unlock(&v->wlock);
	return rc;
}

int
vault_setting_set(struct vault *v, const char *key, const char *value, struct pv_diag *d)
{
	char k[64];
	int rc;

	snprintf(k, sizeof(k), "setting.%s", key);
	pthread_mutex_lock(&v->wlock);
	rc = v->ops->meta_set(v->ix, k, value, d);
	pthread_mutex_unlock(&v->wlock);
	return rc;
}

static void
qent_free(struct qent *e)
{
	if (e == NULL)
		return;
	for (int k = 0; k < 4; k++)
		pv_buf_free_scrub(&e->attrs[k]);
	free(e->modality);
	free(e->sop_class);
	free(e->qinfo);
	pv_cleanse(e, sizeof(*e));
	free(e);
}


/*
 * Under v->wlock (never v->lock), in the committer, once the objects of
 * batch b are durable: one index transaction with every row, the commit
 * hook (audit) before the commit; the caller then places the objects and
 * acknowledges, holding no lock. A row whose SOP Instance UID another
 * file of the run committed first is not inserted: its object goes and it
 * is acknowledged as a duplicate or a conflict. Any other failure rolls the
 * batch back, acknowledges nothing and makes every later batch fail
 * (v->sticky).
 */
static int
commit_batch_locked(struct vault *v, struct qent **b, size_t n, struct pv_diag *d)
{
	struct vault_batch_item *items = calloc(n, sizeof(*items));
	size_t ni = 0;
	int rc;

	if (items == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory committing a batch");
	if ((rc = v->ops->begin(v->ix, d)) != 0) {
		free(items);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct qent *e = b[i];

		if (e->kind == VAULT_QUARANTINED) {
			e->q.objid = e->item.objid;
			e->q.info = e->qinfo;
			e->q.info_n = e->qinfo_n;
			rc = v->ops->quarantine_put(v->ix, &e->q, d);
		} else {
			char objid[STORE_OBJID_HEX];
			uint8_t smac[STORE_MAC_LEN];
			uint64_t ssize;

			e->row.pat_attrs = (const uint8_t *)e->attrs[0].data;
			e->row.pat_attrs_n = e->attrs[0].len;
			e->row.study_attrs = (const uint8_t *)e->attrs[1].data;
			e->row.study_attrs_n = e->attrs[1].len;
			e->row.series_attrs = (const uint8_t *)e->attrs[2].data;
			e->row.series_attrs_n = e->attrs[2].len;
			e->row.inst_attrs = (const uint8_t *)e->attrs[3].data;
			e->row.inst_attrs_n = e->attrs[3].len;
			e->row.modality = e->modality;
			e->row.sop_class = e->sop_class;
			rc = v->ops->instance_put(v->ix, &e->row, d);
			if (rc == PV_EEXIST) {
				int ok = v->ops->instance_get(v->ix, e->row.sop_b, objid, &ssize, smac) == 0;

				discard_staged(v, e->row.objid);
				e->status = ok && pv_memeq_ct(e->row.mac, smac, STORE_MAC_LEN) ?
				    VAULT_DUPLICATE : VAULT_CONFLICT;
				pv_diag_clear(d);
				continue;
			}
		}
		if (rc != 0)
			goto fail;
		items[ni] = e->item;
		items[ni].cookie = e->cookie;
		items[ni++].status = e->status;
	}
	if (v->hook != NULL && ni > 0 && (rc = v->hook(v->hook_ctx, items, ni, d)) != 0) {
		pv_diag_set(d, rc, -1, "the batch's audit entries could not be written: nothing of it is "
		    "acknowledged");
		goto fail;
	}
	if ((rc = v->ops->commit(v->ix, d)) != 0)
		goto fail;
	pv_cleanse(items, n * sizeof(*items));
	free(items);
	return 0;
fail:
	v->ops->rollback(v->ix);
	pv_cleanse(items, n * sizeof(*items));
	free(items);
	return rc;
}

#define SMALL_BATCH 16

/* fdatasync of each object of b (in tmp/), then of tmp/ itself: the batch's names and bytes on disk. */
static int
sync_objects(struct vault *v, struct qent **b, size_t n, struct pv_diag *d)
{
	char p[4096];
	int fd;

	for (size_t i = 0; i < n; i++) {
		if ((b[i]->status != VAULT_STORED && b[i]->status != VAULT_QUARANTINED) || b[i]->synced)
			continue;
		staged_path(v, b[i]->item.objid, p, sizeof(p));
		if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0 || fdatasync(fd) != 0) {
			if (fd >= 0)
				close(fd);
			return pv_diag_set(d, PV_EIO, -1, "cannot sync a new object: nothing of this batch is acknowledged");
		}
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/tmp", v->dir);
	return sync_dir(p) == 0 ? 0 : pv_diag_set(d, PV_EIO, -1, "cannot sync tmp/: nothing of this batch is "
	    "acknowledged");
}

static void *
committer_main(void *arg)
{
	struct vault *v = arg;

	pthread_mutex_lock(&v->lock);
	while (!v->closing) {
		struct qent **b;
		size_t n;
		struct pv_diag d;
		int rc;

		if (v->nqueue < v->batch_files && !(v->flush_req && v->nqueue > 0)) {
			if (v->flush_req) {
				v->flush_req = 0;  /* nothing left: the flush is done */
				pthread_cond_broadcast(&v->cv_done);
				continue;
			}
			pthread_cond_wait(&v->cv_work, &v->lock);
			continue;
		}
		/* One batch of at most batch_files (--batch): what was queued meanwhile waits for the next. */
		n = v->nqueue < v->batch_files ? v->nqueue : v->batch_files;
		if (n < v->nqueue && (b = malloc(n * sizeof(*b))) != NULL) {
			memcpy(b, v->queue, n * sizeof(*b));
			memmove(v->queue, v->queue + n, (v->nqueue - n) * sizeof(*b));
			v->nqueue -= n;
		} else {
			b = v->queue;
			n = v->nqueue;
			v->queue = NULL;
			v->nqueue = v->capqueue = 0;
		}
		rc = v->sticky;
		pthread_cond_broadcast(&v->cv_done);  /* room in the queue */
		pthread_mutex_unlock(&v->lock);
		pv_diag_clear(&d);
		/* Every object of b was written and named before it was queued. A small batch (a C-STORE
		 * on one or a few associations) syncs its own files and tmp/; a large one the whole file
		 * system once, which costs the same for 1 or 1,000 files but also flushes what others wrote. */
		if (rc == 0 && n <= SMALL_BATCH)
			rc = sync_objects(v, b, n, &d);
		else if (rc == 0 && pv_sync_fs(v->dir) != 0)
			rc = pv_diag_set(&d, PV_EIO, -1, "syncfs of the vault failed: nothing of this batch is "
			    "acknowledged");
		/* Only this thread sets sticky: read without the queue's lock. The index transaction
		 * and the audit hook hold the writer connection's lock only, so workers go on sealing
		 * and queueing, and readers go on reading. */
		if (rc == 0) {
			pthread_mutex_lock(&v->wlock);
			rc = commit_batch_locked(v, b, n, &d);
			pthread_mutex_unlock(&v->wlock);
		}
		if (rc == 0) {
			/* Committed: each object goes to its place. One that cannot is durable in tmp/ with
			 * its row (the syncfs came first); get finds it there, and the close or the next
			 * writer places it. Then the acknowledgements, with no lock held. */
			for (size_t i = 0; i < n; i++)
				if (b[i]->status == VAULT_STORED || b[i]->status == VAULT_QUARANTINED)
					(void)publish_object(v, b[i]->kind == VAULT_QUARANTINED ? "quarantine" :
					    "objects", b[i]->item.objid);
			for (size_t i = 0; i < n; i++)
				if (v->ack != NULL)
					v->ack(v->ack_ctx, b[i]->cookie, b[i]->status);
		}
		pthread_mutex_lock(&v->lock);
		if (rc != 0 && v->sticky == 0) {
			v->sticky = rc;
			v->sticky_d = d;
		}
		for (size_t i = 0; i < n; i++)
			qent_free(b[i]);
		free(b);
		pthread_cond_broadcast(&v->cv_done);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* Under v->lock, in a worker: queues e for the committer (which it starts
 * the first time). Waits while four batches are already queued. */
static int
enqueue_locked(struct vault *v, struct qent *e)
{
	if (!v->committer_on) {
		if (pthread_create(&v->committer, NULL, committer_main, v) != 0)
			return PV_EINTERNAL;
		v->committer_on = 1;
	}
	while (v->sticky == 0 && v->nqueue >= 4 * v->batch_files)
		pthread_cond_wait(&v->cv_done, &v->lock);
	if (v->sticky != 0)
		return v->sticky;
	if (v->nqueue == v->capqueue) {
		size_t cap = v->capqueue ? v->capqueue * 2 : 64;
		void *p = realloc(v->queue, cap * sizeof(*v->queue));

		if (p == NULL)
			return PV_ENOMEM;
		v->queue = p;
		v->capqueue = cap;
	}
	v->queue[v->nqueue++] = e;
	if (v->nqueue >= v->batch_files)
		pthread_cond_signal(&v->cv_work);
	return 0;
}

int
vault_import_flush(struct vault *v, struct pv_diag *d)
{
	int rc;

	pthread_mutex_lock(&v->lock);
	if (v->committer_on) {
		v->flush_req = 1;
		pthread_cond_signal(&v->cv_work);
		while (v->flush_req && !v->closing)
			pthread_cond_wait(&v->cv_done, &v->lock);
	}
	rc = v->sticky;
	if (rc != 0)
		*d = v->sticky_d;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* Stops the committer; what is still queued was never acknowledged and is dropped. */
static void
committer_stop(struct vault *v)
{
	pthread_mutex_lock(&v->lock);
	if (!v->committer_on) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->closing = 1;
	pthread_cond_signal(&v->cv_work);
	pthread_mutex_unlock(&v->lock);
	pthread_join(v->committer, NULL);
	v->committer_on = 0;
	for (size_t i = 0; i < v->nqueue; i++)
		qent_free(v->queue[i]);
	v->nqueue = 0;
}

/* The content MAC of a whole file (duplicates). */
static int
file_mac(const struct vault *v, int fd, uint8_t mac[STORE_MAC_LEN])
{
	struct pv_mac *m = pv_mac_new(v->k_content, PV_KEY_LEN);
	uint8_t *buf = malloc(VAULT_IO_BUF);
	uint64_t off = 0;
	size_t used = 0;
	ssize_t r;
	int rc = 0;

	if (m == NULL || buf == NULL) {
		rc = PV_ENOMEM;
		goto done;
	}
	while ((r = pread(fd, buf, VAULT_IO_BUF, (off_t)off)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = PV_EIO;
			goto done;
		}
		if ((size_t)r > used)
			used = (size_t)r;
		if ((rc = pv_mac_update(m, buf, (size_t)r)) != 0)
			goto done;
		off += (uint64_t)r;
	}
	rc = pv_mac_final(m, mac);
done:
	pv_mac_free(m);
	if (buf != NULL)
		pv_cleanse(buf, used);  /* the file's bytes */
	free(buf);
	return rc;
}

/*
 * Seals the bytes of fd into tmp/ID.tmp, where it stays until the index row
 * naming it commits (not fsynced: the batch's syncfs makes it durable before
 * the index commit; publish_object then moves it into place). A killed
 * import thus leaves nothing in objects/ that no row names. objid gets the
 * new id, mac the content MAC.
 */
static int
seal_file(struct vault *v, int fd, char objid[STORE_OBJID_HEX], uint8_t mac[STORE_MAC_LEN], int *synced,
    struct pv_diag *d)
{
	int sync_now = atomic_load(&v->sync_each);

	struct pv_sealer s;
	struct pv_mac *m = NULL;
	uint8_t id[PV_SEALED_OBJID], *buf = NULL;
	char tmp[4096];
	uint64_t off = 0;
	size_t used = 0;  /* bytes of buf that ever held file data */
	int out = -1, made = 0, rc;
	ssize_t r;

	memset(&s, 0, sizeof(s));
	if ((rc = pv_random(id, sizeof(id))) != 0)
		return pv_diag_set(d, rc, -1, "no randomness");
	hex(id, sizeof(id), objid);
	staged_path(v, objid, tmp, sizeof(tmp));
	if ((m = pv_mac_new(v->k_content, PV_KEY_LEN)) == NULL || (buf = malloc(VAULT_IO_BUF)) == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto done;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot create a temporary in the vault: %s", strerror(errno));
		goto done;
	}
	made = 1;
	if ((rc = pv_sealer_begin(&s, &v->master, id, out, d)) != 0)
		goto done;
	while ((r = pread(fd, buf, VAULT_IO_BUF, (off_t)off)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = pv_diag_set(d, PV_EIO, (int64_t)off, "read failed: %s", strerror(errno));
			goto done;
		}
		if ((size_t)r > used)
			used = (size_t)r;
		if ((rc = pv_mac_update(m, buf, (size_t)r)) != 0 ||
		    (rc = pv_sealer_update(&s, buf, (size_t)r, d)) != 0)
			goto done;
		off += (uint64_t)r;
	}
	if ((rc = pv_sealer_finish(&s, d)) != 0 || (rc = pv_mac_final(m, mac)) != 0)
		goto done;
	*synced = 0;
	if (sync_now && fdatasync(out) != 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot sync a sealed object: %s", strerror(errno));
		goto done;
	}
	if (close(out) != 0) {
		out = -1;
		rc = pv_diag_set(d, PV_EIO, -1, "cannot write a sealed object: %s", strerror(errno));
		goto done;
	}
	out = -1;
	*synced = sync_now;
done:
	if (out >= 0)
		close(out);
	if (rc != 0 && made)
		shred_path(tmp);
	pv_sealer_free(&s);
	pv_mac_free(m);
	if (buf != NULL) {
		/* Only what was read in holds plaintext. */
		pv_cleanse(buf, used);
		free(buf);
	}
	return rc;
}

/* Reads the indexed attributes of f's data set as UTF-8 (trailing padding trimmed). */
static int
extract_attrs(struct dcm_file *f, struct attrs *a)
{
	struct dcm_charset cs;
	struct dcm_elem *e;
	const uint8_t *p;

	dcm_charset_default(&cs);
	if ((e = dcm_ds_find(&f->ds, 0x00080005u)) != NULL && dcm_file_value(f, e, &p) == 0)
		(void)dcm_charset_parse(p, e->length, &cs);
	for (const struct query_attr *q = query_attrs; q->tag != 0; q++) {
		struct pv_buf b;
		size_t len;

		if (q->computed || (e = dcm_ds_find(&f->ds, q->tag)) == NULL || e->seq != NULL)
			continue;
		if (e->length > 4 * VAULT_VALUE_MAX || dcm_file_value(f, e, &p) != 0)
			continue;
		len = e->length;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\0'))
			len--;
		pv_buf_init(&b, VAULT_VALUE_MAX + 8);
		if (dcm_charset_is_plain(p, len)) {
			if (pv_buf_append(&b, p, len > VAULT_VALUE_MAX ? VAULT_VALUE_MAX : len) != 0) {
				pv_buf_free(&b);
				continue;
			}
		} else {
			/* Unconvertible bytes become U+FFFD: the value is still indexed. */
			if (dcm_charset_to_utf8(&cs, (enum dcm_vr)e->vr, p, len, &b) == PV_ENOMEM) {
				pv_buf_free(&b);
				continue;
			}
		}
		if (pv_buf_putc(&b, '\0') != 0 || a->n >= 48) {
			pv_buf_free(&b);
			continue;
		}
		a->tag[a->n] = q->tag;
		a->val[a->n++] = b.data;   /* ownership moves to a */
	}
	return 0;
}

static int
uid_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= 64 && dcm_uid_valid(s, strlen(s));
}

static int
quarantine_file(struct vault *v, int fd, const char *path, const char *why, void *cookie, struct pv_diag *d)
{
	char objid[STORE_OBJID_HEX];
	uint8_t mac[STORE_MAC_LEN], aad[96], *sealed = NULL;
	struct qent *e;
	int synced = 0;
	struct stat st;
	size_t wl = strlen(why), pl = strlen(path), n = wl + 1 + pl, an;
	char *plain;
	int rc;

	if ((rc = seal_file(v, fd, objid, mac, &synced, d)) != 0)
		return rc;
	if ((plain = malloc(n)) == NULL || (sealed = malloc(n + PV_SEALED_SMALL_OVERHEAD)) == NULL) {
		free(plain);
		return PV_ENOMEM;
	}
	memcpy(plain, why, wl + 1);
	memcpy(plain + wl + 1, path, pl);
	an = col_aad("quarantine", NULL, objid, aad);
	rc = pv_seal_small(v->k_col, aad, an, plain, n, sealed);
	pv_cleanse(plain, n);
	free(plain);
	if (rc != 0) {
		free(sealed);
		return pv_diag_set(d, rc, -1, "sealing failed");
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		free(sealed);
		discard_staged(v, objid);
		return PV_ENOMEM;
	}
	e->cookie = cookie;
	e->kind = e->status = VAULT_QUARANTINED;
	e->synced = synced;
	memcpy(e->item.objid, objid, sizeof(e->item.objid));
	e->q.size = e->item.size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	e->q.stored = (int64_t)time(NULL);
	e->qinfo = sealed;
	e->qinfo_n = n + PV_SEALED_SMALL_OVERHEAD;
	pthread_mutex_lock(&v->lock);
	rc = enqueue_locked(v, e);
	pthread_mutex_unlock(&v->lock);
	if (rc != 0) {
		qent_free(e);
		discard_staged(v, objid);
		return pv_diag_set(d, rc, -1, "not stored in quarantine: %s", rc == PV_ENOMEM ? "out of memory" :
		    "an earlier batch could not be made durable");
	}
	return 0;
}

/* Under no lock: 1 when the stored instance with sop_b has the same bytes as fd. */
static int
same_bytes(struct vault *v, int fd, const uint8_t stored[STORE_MAC_LEN])
{
	uint8_t mac[STORE_MAC_LEN];

	if (file_mac(v, fd, mac) != 0)
		return -1;
	return pv_memeq_ct(mac, stored, STORE_MAC_LEN);
}

static void
remove_object(struct vault *v, const char *kind, const char *objid)
{
	char p[4096];

	object_path(v, kind, objid, p, sizeof(p));
	shred_path(p);
}

/*
 * The import of one instance whose bytes are in fd (a regular file, or an
 * anonymous memory file), also mapped at mem (n bytes) when not NULL: the
 * parser reads the mapping, else the file at path. label is what the
 * quarantine records as its origin. Takes fd (closes it).
 */
static int import_core(struct vault *v, int fd, const char *path, const void *mem, size_t memn, const char *label,
    void *cookie, int *status, char *reason, size_t rn, uint64_t *bytes);

int
vault_import_file(struct vault *v, const char *path, void *cookie, int *status, char *reason, size_t rn,
    uint64_t *bytes)
{
	struct stat st;
	int fd;

	*status = VAULT_FAILED;
	reason[0] = '\0';
	*bytes = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(reason, rn, "cannot read: %s", fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return PV_EIO;
	}
	return import_core(v, fd, path, NULL, 0, path, cookie, status, reason, rn, bytes);
}

/* ---- ingest from memory and streams: an anonymous memory file, never a path on disk ---- */

struct vault_ingest {
	struct vault *v;
	int fd;
	uint64_t n, max;
	int failed;
	char label[256];
};

int
vault_ingest_begin(struct vault *v, const char *label, uint64_t max, struct vault_ingest **out, struct pv_diag *d)
{
	struct vault_ingest *g;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	g->v = v;
	g->max = max != 0 ? max : VAULT_INGEST_MAX;
	snprintf(g->label, sizeof(g->label), "%s", label != NULL ? label : "(stream)");
	/* Memory only (tmpfs-like, swapped only where the system swaps): the clear bytes never get
	 * a name in any file system; the sealed object is all that reaches the vault. */
	if ((g->fd = memfd_create("pacsvault-ingest", MFD_CLOEXEC)) < 0) {
		free(g);
		return pv_diag_set(d, PV_EIO, -1, "cannot make an anonymous memory file: %s", strerror(errno));
	}
	*out = g;
	return 0;
}

int
vault_ingest_write(struct vault_ingest *g, const void *p, size_t n, struct pv_diag *d)
{
	if (g->failed)
		return pv_diag_set(d, PV_EINVAL, -1, "this ingest failed already");
	if (n > g->max - g->n) {
		g->failed = 1;
		return pv_diag_set(d, PV_ELIMIT, (int64_t)g->n, "an instance over %llu bytes: refused",
		    (unsigned long long)g->max);
	}
	if (pv_write_all(g->fd, p, n) != 0) {
		g->failed = 1;
		return pv_diag_set(d, PV_EIO, (int64_t)g->n, "cannot buffer the instance: %s", strerror(errno));
	}
	g->n += n;
	return 0;
}

void
vault_ingest_abort(struct vault_ingest *g)
{
	if (g == NULL)
		return;
	if (g->fd >= 0) {
		/* the clear bytes go now, not when the last reference to the memory file does */
		if (ftruncate(g->fd, 0) != 0) {
			/* nothing more to do: closing frees it */
		}
		close(g->fd);
	}
	free(g);
}

int
vault_ingest_end(struct vault_ingest *g, void *cookie, int *status, char *reason, size_t rn, uint64_t *bytes)
{
	void *map = NULL;
	uint64_t n = g->n;
	int fd, rc;

	*status = VAULT_FAILED;
	reason[0] = '\0';
	*bytes = 0;
	if (g->failed) {
		snprintf(reason, rn, "the instance was not received whole: not stored");
		vault_ingest_abort(g);
		return PV_EINVAL;
	}
	if (n > 0 && (map = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE, g->fd, 0)) == MAP_FAILED) {
		snprintf(reason, rn, "cannot map the received instance: %s", strerror(errno));
		vault_ingest_abort(g);
		return PV_EIO;
	}
	fd = g->fd;
	g->fd = -1;  /* import_core closes it; the memory goes with the mapping */
	rc = import_core(g->v, fd, NULL, n > 0 ? map : "", (size_t)n, g->label, cookie, status, reason, rn, bytes);
	if (map != NULL)
		munmap(map, (size_t)n);
	vault_ingest_abort(g);
	return rc;
}

int
vault_import_mem(struct vault *v, const void *p, size_t n, const char *label, void *cookie, int *status,
    char *reason, size_t rn, uint64_t *bytes)
{
	struct vault_ingest *g;
	struct pv_diag d;
	int rc;

	*status = VAULT_FAILED;
	*bytes = 0;
	pv_diag_clear(&d);
	if ((rc = vault_ingest_begin(v, label, 0, &g, &d)) != 0 || (rc = vault_ingest_write(g, p, n, &d)) != 0) {
		pv_diag_format(&d, NULL, reason, rn);
		vault_ingest_abort(g);
		return rc;
	}
	return vault_ingest_end(g, cookie, status, reason, rn, bytes);
}

int
vault_import_fd(struct vault *v, int fd, const char *label, void *cookie, int *status, char *reason, size_t rn,
    uint64_t *bytes)
{
	struct vault_ingest *g;
	struct pv_diag d;
	uint8_t *buf;
	int rc;

	*status = VAULT_FAILED;
	*bytes = 0;
	pv_diag_clear(&d);
	if ((buf = malloc(VAULT_IO_BUF)) == NULL) {
		snprintf(reason, rn, "out of memory");
		return PV_ENOMEM;
	}
	if ((rc = vault_ingest_begin(v, label, 0, &g, &d)) != 0) {
		pv_diag_format(&d, NULL, reason, rn);
		free(buf);
		return rc;
	}
	for (;;) {
		ssize_t r = read(fd, buf, VAULT_IO_BUF);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = pv_diag_set(&d, PV_EIO, (int64_t)g->n, "cannot read the instance: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((rc = vault_ingest_write(g, buf, (size_t)r, &d)) != 0)
			break;
	}
	pv_cleanse(buf, VAULT_IO_BUF);
	free(buf);
	if (rc != 0) {
		pv_diag_format(&d, NULL, reason, rn);
		vault_ingest_abort(g);
		return rc;
	}
	return vault_ingest_end(g, cookie, status, reason, rn, bytes);
}

static int
import_core(struct vault *v, int fd, const char *path, const void *mem, size_t memn, const char *label,
    void *cookie, int *status, char *reason, size_t rn, uint64_t *bytes)
{
	struct dcm_reader_opts ro;
	struct dcm_file *f = NULL;
	struct attrs a;
	struct pv_diag d;
	struct store_instance_row row;
	struct qent *e;
	int synced = 0;
	struct pv_buf bp, bs, bse, bi;
	char objid[STORE_OBJID_HEX], key[2 * VAULT_VALUE_MAX + 2];
	const char *pid, *issuer, *sop, *study, *series, *acc, *cls, *mod;
	uint8_t mac[STORE_MAC_LEN], smac[STORE_MAC_LEN];
	uint64_t ssize;
	struct stat st;
	int rc;

	*status = VAULT_FAILED;
	reason[0] = '\0';
	*bytes = 0;
	memset(&a, 0, sizeof(a));
	memset(&row, 0, sizeof(row));
	pv_diag_clear(&d);
	pv_buf_init(&bp, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bs, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bse, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bi, VAULT_ATTRS_MAX * 2);
	if (fstat(fd, &st) != 0) {
		snprintf(reason, rn, "cannot read: %s", strerror(errno));
		close(fd);
		return PV_EIO;
	}
	*bytes = (uint64_t)st.st_size;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	dcm_reader_opts_default(&ro);
	if (mem != NULL) {
		struct dcm_reader *r = NULL;

		if ((rc = dcm_reader_open_mem(mem, memn, &ro, &r, &d)) == 0)
			rc = dcm_file_read(r, &f, &d);
		else
			dcm_reader_free(r);
	} else {
		rc = dcm_file_open(path, &ro, &f, &d);
	}
	if (rc != 0) {
		pv_diag_format(&d, NULL, reason, rn);
		if (rc == PV_ENOTDICOM) {
			/* a README or an index beside the images: not an instance, not a damaged one */
			*status = VAULT_SKIPPED;
			snprintf(reason, rn, "not a DICOM file");
			rc = 0;
			goto done;
		}
		goto quarantine;
	}
	if (dcm_ds_find(&f->ds, 0x00041220u) != NULL) {
		/* a DICOMDIR (Directory Record Sequence): an index of files, not an instance */
		*status = VAULT_SKIPPED;
		snprintf(reason, rn, "a DICOMDIR, not an instance");
		goto done;
	}
	extract_attrs(f, &a);
	sop = attrs_get(&a, 0x00080018u);
	study = attrs_get(&a, 0x0020000du);
	series = attrs_get(&a, 0x0020000eu);
	cls = attrs_get(&a, 0x00080016u);
	if (!uid_ok(sop) || !uid_ok(study) || !uid_ok(series) || !uid_ok(cls)) {
		snprintf(reason, rn, "no valid %s (an instance needs SOP Class, SOP Instance, Study and "
		    "Series Instance UIDs)", !uid_ok(sop) ? "SOPInstanceUID" : !uid_ok(study) ?
		    "StudyInstanceUID" : !uid_ok(series) ? "SeriesInstanceUID" : "SOPClassUID");
		goto quarantine;
	}
	pid = attrs_get(&a, 0x00100020u);
	issuer = attrs_get(&a, 0x00100021u);
	acc = attrs_get(&a, 0x00080050u);
	mod = attrs_get(&a, 0x00080060u);
	if (pid == NULL)
		pid = "";
	snprintf(key, sizeof(key), "%s%c%s", pid, 1, issuer != NULL ? issuer : "");
	blind(v, "patient", key, row.pat_key_b);
	blind(v, "PatientID", pid, row.pid_b);
	blind(v, "StudyInstanceUID", study, row.study_b);
	if (acc != NULL && acc[0] != '\0') {
		blind(v, "AccessionNumber", acc, row.acc_b);
		row.has_acc = 1;
	}
	blind(v, "SeriesInstanceUID", series, row.series_b);
	blind(v, "SOPInstanceUID", sop, row.sop_b);

	/* Already there? Same bytes: a duplicate; other bytes: a conflict. */
	{
		struct store_index *rix;

		if ((rc = reader_take(v, &rix, NULL)) == 0) {
			rc = v->ops->instance_get(rix, row.sop_b, objid, &ssize, smac);
			reader_give(v, rix);
		}
	}
	if (rc == 0) {
		int same = same_bytes(v, fd, smac);

		*status = same > 0 ? VAULT_DUPLICATE : VAULT_CONFLICT;
		if (same <= 0)
			snprintf(reason, rn, "another instance with this SOP Instance UID and other bytes is "
			    "stored: not replaced");
		rc = same < 0 ? PV_EIO : 0;
		goto done;
	}
	if ((rc = seal_file(v, fd, objid, mac, &synced, &d)) != 0) {
		pv_diag_format(&d, NULL, reason, rn);
		goto done;
	}
	if ((rc = attrs_seal(v, &a, QUERY_PATIENT, "patient", row.pat_key_b, NULL, &bp)) != 0 ||
	    (rc = attrs_seal(v, &a, QUERY_STUDY, "study", row.study_b, NULL, &bs)) != 0 ||
	    (rc = attrs_seal(v, &a, QUERY_SERIES, "series", row.series_b, NULL, &bse)) != 0 ||
	    (rc = attrs_seal(v, &a, QUERY_IMAGE, "instance", row.sop_b, objid, &bi)) != 0) {
		snprintf(reason, rn, "cannot seal the index columns: %s", pv_strerror(rc));
		discard_staged(v, objid);
		goto done;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->modality = strdup(mod != NULL ? mod : "")) == NULL ||
	    (e->sop_class = strdup(cls)) == NULL) {
		qent_free(e);
		discard_staged(v, objid);
		snprintf(reason, rn, "out of memory");
		rc = PV_ENOMEM;
		goto done;
	}
	e->cookie = cookie;
	e->kind = e->status = VAULT_STORED;
	e->synced = synced;
	e->row = row;
	memcpy(e->row.objid, objid, sizeof(objid));
	e->row.size = (uint64_t)st.st_size;
	memcpy(e->row.mac, mac, sizeof(mac));
	e->row.stored = (int64_t)time(NULL);
	/* The sealed columns move to the queue entry. */
	e->attrs[0] = bp;
	e->attrs[1] = bs;
	e->attrs[2] = bse;
	e->attrs[3] = bi;
	pv_buf_init(&bp, 0);
	pv_buf_init(&bs, 0);
	pv_buf_init(&bse, 0);
	pv_buf_init(&bi, 0);
	memcpy(e->item.objid, objid, sizeof(e->item.objid));
	snprintf(e->item.sop_uid, sizeof(e->item.sop_uid), "%s", sop);
	snprintf(e->item.series_uid, sizeof(e->item.series_uid), "%s", series);
	snprintf(e->item.study_uid, sizeof(e->item.study_uid), "%s", study);
	snprintf(e->item.sop_class, sizeof(e->item.sop_class), "%s", cls);
	snprintf(e->item.patient_id, sizeof(e->item.patient_id), "%s", pid);
	snprintf(e->item.issuer, sizeof(e->item.issuer), "%s", issuer != NULL ? issuer : "");
	e->item.size = e->row.size;
	pthread_mutex_lock(&v->lock);
	rc = enqueue_locked(v, e);
	pthread_mutex_unlock(&v->lock);
	if (rc != 0) {
		qent_free(e);
		discard_staged(v, objid);
		snprintf(reason, rn, "not stored: %s", rc == PV_ENOMEM ? "out of memory" :
		    "an earlier batch could not be made durable");
		goto done;
	}
	*status = VAULT_STORED;
	goto done;
quarantine:
	{
		struct pv_diag qd;
		char why[512];

		snprintf(why, sizeof(why), "%s", reason);
		pv_diag_clear(&qd);
		if ((rc = quarantine_file(v, fd, label, why, cookie, &qd)) != 0) {
			pv_diag_format(&qd, NULL, reason, rn);
		} else {
			*status = VAULT_QUARANTINED;
		}
	}
done:
	attrs_free(&a);
	pv_buf_free_scrub(&bp);
	pv_buf_free_scrub(&bs);
	pv_buf_free_scrub(&bse);
	pv_buf_free_scrub(&bi);
	dcm_file_free(f);
	close(fd);
	return rc;
}

/* ---- find ---- */

struct find_ctx {
	struct vault *v;
	int level;
	const struct query_key *keys;
	size_t nkeys;
	vault_match_fn fn;
	void *ctx;
	struct pv_diag *d;
	int err;
};

static void
match_add(struct vault_match *m, uint32_t tag, const char *v)
{
	if (m->n < 48) {
		m->tag[m->n] = tag;
		m->value[m->n++] = v;
	}
}

static int
find_row(void *arg, const struct store_row *r)
{
	struct find_ctx *c = arg;
	struct attrs a;
	struct vault_match m;
	char counts[3][24], objid[STORE_OBJID_HEX];
	int rc = 0;

	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	m.level = c->level;
	if (attrs_open(c->v, r->pat_attrs, r->pat_attrs_n, "patient", r->pat_key_b, NULL, &a) != 0 ||
	    (c->level >= QUERY_STUDY &&
	    attrs_open(c->v, r->study_attrs, r->study_attrs_n, "study", r->study_b, NULL, &a) != 0) ||
	    (c->level >= QUERY_SERIES &&
	    attrs_open(c->v, r->series_attrs, r->series_attrs_n, "series", r->series_b, NULL, &a) != 0)) {
		rc = pv_diag_set(c->d, PV_EINTEGRITY, -1, "integrity error: index: a sealed %s row does not "
		    "open (changed or moved rows)", c->level >= QUERY_SERIES ? "patient/study/series" : "patient/study");
		goto done;
	}
	if (c->level == QUERY_IMAGE) {
		snprintf(objid, sizeof(objid), "%s", r->objid != NULL ? r->objid : "");
		if (strlen(objid) != 32 ||
		    attrs_open(c->v, r->inst_attrs, r->inst_attrs_n, "instance", r->sop_b, objid, &a) != 0) {
			rc = pv_diag_set(c->d, PV_EINTEGRITY, -1, "integrity error: index: the sealed instance "
			    "row of object %s does not open (changed or moved rows)", objid);
			goto done;
		}
		m.objid = r->objid;
		m.size = r->size;
	}
	snprintf(counts[0], sizeof(counts[0]), "%llu", (unsigned long long)r->n_studies);
	snprintf(counts[1], sizeof(counts[1]), "%llu", (unsigned long long)r->n_series);
	snprintf(counts[2], sizeof(counts[2]), "%llu", (unsigned long long)r->n_instances);
	for (size_t i = 0; i < c->nkeys; i++) {
		const struct query_key *k = &c->keys[i];
		const char *val;

		switch (k->attr->tag) {
		case 0x00080061u:
			val = r->modalities != NULL ? r->modalities : "";
			if (!query_key_match_any(k, val))
				goto done;
			continue;
		case 0x00080060u:
			val = r->modality;
			break;
		case 0x00080016u:
			val = r->sop_class;
			break;
		default:
			if (k->attr->computed)
				continue;
			val = attrs_get(&a, k->attr->tag);
			break;
		}
		if (!query_key_match(k, val))
			goto done;
	}
	for (const struct query_attr *q = query_attrs; q->tag != 0; q++) {
		if (q->level > c->level)
			continue;
		if (q->tag == 0x00080060u)
			match_add(&m, q->tag, r->modality);
		else if (q->tag == 0x00080016u)
			match_add(&m, q->tag, r->sop_class);
		else if (q->tag == 0x00080061u)
			match_add(&m, q->tag, c->level == QUERY_STUDY ? (r->modalities ? r->modalities : "") : NULL);
		else if (q->tag == 0x00201200u)
			match_add(&m, q->tag, c->level == QUERY_PATIENT ? counts[0] : NULL);
		else if (q->tag == 0x00201206u)
			match_add(&m, q->tag, c->level == QUERY_STUDY ? counts[1] : NULL);
		else if (q->tag == 0x00201208u)
			match_add(&m, q->tag, c->level == QUERY_STUDY ? counts[2] : NULL);
		else if (q->tag == 0x00201209u)
			match_add(&m, q->tag, c->level == QUERY_SERIES ? counts[2] : NULL);
		else
			match_add(&m, q->tag, attrs_get(&a, q->tag));
	}
	rc = c->fn(c->ctx, &m);
done:
	attrs_free(&a);
	return rc;
}

int
vault_find(struct vault *v, int level, const struct query_key *keys, size_t nkeys, vault_match_fn fn,
    void *ctx, struct pv_diag *d)
{
	struct store_filter f;
	uint8_t (*b)[STORE_BLIND_LEN] = NULL;
	size_t nb = 0, cap = 0;
	const char **classes = NULL;
	size_t ncls = 0;
	struct find_ctx c;
	/* Where each blind list starts in b. */
	size_t at[5] = { 0 }, cnt[5] = { 0 };
	static const uint32_t btags[5] = { 0x00100020u, 0x0020000du, 0x00080050u, 0x0020000eu, 0x00080018u };
	int rc;

	memset(&f, 0, sizeof(f));
	f.level = level;
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].attr->level > level)
			return pv_diag_set(d, PV_EINVAL, -1, "%s is a %s key; this query is at %s level",
			    keys[i].attr->keyword, query_level_name(keys[i].attr->level), query_level_name(level));
	for (int t = 0; t < 5; t++) {
		at[t] = nb;
		for (size_t i = 0; i < nkeys; i++) {
			const struct query_key *k = &keys[i];
			const char *p;

			if (k->attr->tag != btags[t] || (k->kind != QK_SINGLE && k->kind != QK_LIST))
				continue;
			if (cnt[t] > 0) {
				/* Two keys for one attribute: match both in C, narrow by the first. */
				continue;
			}
			p = k->value;
			for (;;) {
				const char *e = k->kind == QK_LIST ? strchr(p, '\\') : NULL;
				size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
				char one[VAULT_VALUE_MAX + 1];

				if (nb == cap) {
					size_t nc = cap ? cap * 2 : 16;
					void *q = realloc(b, nc * sizeof(*b));

					if (q == NULL) {
						free(b);
						return PV_ENOMEM;
					}
					b = q;
					cap = nc;
				}
				if (n > VAULT_VALUE_MAX)
					n = VAULT_VALUE_MAX;
				memcpy(one, p, n);
				one[n] = '\0';
				blind(v, k->attr->keyword, one, b[nb++]);
				cnt[t]++;
				if (e == NULL)
					break;
				p = e + 1;
			}
		}
	}
	f.pid_b = cnt[0] ? (const uint8_t (*)[STORE_BLIND_LEN])b + at[0] : NULL;
	f.n_pid = cnt[0];
	f.study_b = cnt[1] ? (const uint8_t (*)[STORE_BLIND_LEN])b + at[1] : NULL;
	f.n_study = cnt[1];
	f.acc_b = cnt[2] ? (const uint8_t (*)[STORE_BLIND_LEN])b + at[2] : NULL;
	f.n_acc = cnt[2];
	f.series_b = cnt[3] ? (const uint8_t (*)[STORE_BLIND_LEN])b + at[3] : NULL;
	f.n_series = cnt[3];
	f.sop_b = cnt[4] ? (const uint8_t (*)[STORE_BLIND_LEN])b + at[4] : NULL;
	f.n_sop = cnt[4];
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].attr->tag == 0x00080060u && keys[i].kind == QK_SINGLE && f.modality == NULL)
			f.modality = keys[i].value;
		if (keys[i].attr->tag == 0x00080016u && (keys[i].kind == QK_SINGLE || keys[i].kind == QK_LIST) &&
		    classes == NULL) {
			const char *p = keys[i].value;

			ncls = 1;
			for (const char *q = p; *q != '\0'; q++)
				ncls += *q == '\\';
			if (ncls > STORE_MAX_LIST || (classes = calloc(ncls, sizeof(*classes))) == NULL) {
				free(b);
				return ncls > STORE_MAX_LIST ? pv_diag_set(d, PV_ELIMIT, -1, "too many SOP classes") :
				    PV_ENOMEM;
			}
			/* Split a copy in place. */
			char *copy = strdup(p);

			if (copy == NULL) {
				free(b);
				free(classes);
				return PV_ENOMEM;
			}
			ncls = 0;
			for (char *s = copy, *e; s != NULL; s = e) {
				e = strchr(s, '\\');
				if (e != NULL)
					*e++ = '\0';
				classes[ncls++] = s;
			}
			f.sop_class = classes;
			f.n_sop_class = ncls;
		}
	}
	memset(&c, 0, sizeof(c));
	c.v = v;
	c.level = level;
	c.keys = keys;
	c.nkeys = nkeys;
	c.fn = fn;
	c.ctx = ctx;
	c.d = d;
	{
		/* A connection of its own: the rows go to the caller with no vault lock held. */
		struct store_index *rix;

		if ((rc = reader_take(v, &rix, d)) == 0) {
			rc = v->ops->query(rix, &f, find_row, &c, d);
			reader_give(v, rix);
		}
	}
	if (classes != NULL) {
		free((void *)classes[0]);
		free(classes);
	}
	free(b);
	return rc;
}

/* ---- resolve, get, rm ---- */

struct resolve_ctx {
	struct vault_instance *v;
	size_t n, cap;
};

/* Appends a zeroed instance to *v (n used, cap allocated); NULL when out of memory. */
static struct vault_instance *
instance_push(struct vault_instance **v, size_t *n, size_t *cap)
{
	struct vault_instance *in;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = realloc(*v, nc * sizeof(**v));

		if (p == NULL)
			return NULL;
		*v = p;
		*cap = nc;
	}
	in = &(*v)[(*n)++];
	memset(in, 0, sizeof(*in));
	return in;
}

static int
resolve_one(void *arg, const struct vault_match *m)
{
	struct resolve_ctx *c = arg;
	struct vault_instance *in;

	if ((in = instance_push(&c->v, &c->n, &c->cap)) == NULL)
		return PV_ENOMEM;
	snprintf(in->objid, sizeof(in->objid), "%s", m->objid);
	in->size = m->size;
	for (size_t i = 0; i < m->n; i++) {
		const char *s = m->value[i] != NULL ? m->value[i] : "";

		if (m->tag[i] == 0x00080018u)
			snprintf(in->sop_uid, sizeof(in->sop_uid), "%s", s);
		else if (m->tag[i] == 0x0020000eu)
			snprintf(in->series_uid, sizeof(in->series_uid), "%s", s);
		else if (m->tag[i] == 0x0020000du)
			snprintf(in->study_uid, sizeof(in->study_uid), "%s", s);
		else if (m->tag[i] == 0x00100020u)
			snprintf(in->patient_id, sizeof(in->patient_id), "%s", s);
		else if (m->tag[i] == 0x00100021u)
			snprintf(in->issuer, sizeof(in->issuer), "%s", s);
	}
	return 0;
}

int
vault_resolve(struct vault *v, const char *uid, struct vault_instance **out, size_t *n, int *level,
    struct pv_diag *d)
{
	static const char *const kw[] = { "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID" };
	static const int lv[] = { QUERY_IMAGE, QUERY_SERIES, QUERY_STUDY };
	struct resolve_ctx c;
	int rc = 0;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	if (!uid_ok(uid))
		return pv_diag_set(d, PV_EINVAL, -1, "not a valid UID");
	for (int i = 0; i < 3 && c.n == 0; i++) {
		struct query_key k;
		char arg[128];

		snprintf(arg, sizeof(arg), "%s=%s", kw[i], uid);
		if ((rc = query_key_parse(arg, &k, d)) != 0) {
			query_key_free(&k);
			break;
		}
		rc = vault_find(v, QUERY_IMAGE, &k, 1, resolve_one, &c, d);
		query_key_free(&k);
		if (rc != 0)
			break;
		*level = lv[i];
	}
	if (rc != 0) {
		free(c.v);
		return rc;
	}
	if (c.n == 0)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "no instance, series or study with this UID in the vault");
	for (size_t i = 0; i < c.n; i++)
		blind(v, "SOPInstanceUID", c.v[i].sop_uid, c.v[i].sop_b);
	*out = c.v;
	*n = c.n;
	return 0;
}

/* Opens an object and streams its verified plaintext to fd (-1: verify only), checking the MAC when given. */
static int
open_object(struct vault *v, const char *kind, const char *objid, int fd, struct pv_buf *mem, const uint8_t *mac,
    struct pv_diag *d)
{
	struct pv_opener o;
	struct pv_mac *m = NULL;
	uint8_t id[PV_SEALED_OBJID], got[STORE_MAC_LEN], *buf = NULL;
	char p[4096];
	int in, rc;

	memset(&o, 0, sizeof(o));
	if (unhex(objid, id, sizeof(id)) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "object id '%.40s' is malformed", objid);
	object_path(v, kind, objid, p, sizeof(p));
	if ((in = open(p, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT) {
		/* Committed a moment ago by an import running beside this reader, and not yet moved
		 * from tmp/ (or moved in between: then the first path again). */
		char q[4096];

		staged_path(v, objid, q, sizeof(q));
		if ((in = open(q, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT)
			in = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (in < 0)
		return pv_diag_set(d, errno == ENOENT ? PV_ENOTFOUND : PV_EIO, -1, "object %s: %s", objid,
		    strerror(errno));
	(void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((buf = malloc(PV_SEALED_CHUNK)) == NULL ||
	    (mac != NULL && (m = pv_mac_new(v->k_content, PV_KEY_LEN)) == NULL)) {
		rc = PV_ENOMEM;
		goto done;
	}
	if ((rc = pv_opener_begin(&o, &v->master, in, id, d)) != 0)
		goto done;
	for (uint64_t i = 0; i < o.nchunks; i++) {
		size_t n;

		if ((rc = pv_opener_chunk(&o, i, buf, &n, d)) != 0)
			goto done;
		if (m != NULL && (rc = pv_mac_update(m, buf, n)) != 0)
			goto done;
		if (fd >= 0 && pv_write_all(fd, buf, n) != 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "write failed: %s", strerror(errno));
			goto done;
		}
		if (mem != NULL && pv_buf_append(mem, buf, n) != 0) {
			rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory for the instance");
			goto done;
		}
	}
	if (m != NULL && (rc = pv_mac_final(m, got)) != 0)
		goto done;
	if (m != NULL && !pv_memeq_ct(got, mac, STORE_MAC_LEN))
		rc = pv_diag_set(d, PV_EINTEGRITY, -1, "integrity error: object %s opens but is not the "
		    "instance the index holds (content MAC differs)", objid);
done:
	/* In the vault every object was written sealed under the vault's key (checked at open): a
	 * malformed one, or one without a slot for the key, is a damaged one, unless shredded. */
	if (rc == PV_EPARSE || rc == PV_ETRUNC || (rc == PV_EAUTH && !pv_sealed_shredded(in))) {
		rc = PV_EINTEGRITY;
		if (d != NULL)
			d->code = PV_EINTEGRITY;
	}
	if (rc != 0 && d != NULL && d->msg[0] != '\0' && strstr(d->msg, objid) == NULL) {
		char msg[PV_DIAG_MSG + 64];

		snprintf(msg, sizeof(msg), "%sobject %.32s: %s", rc == PV_EINTEGRITY ? "integrity error: " : "",
		    objid, d->msg);
		msg[sizeof(d->msg) - 1] = '\0';
		memcpy(d->msg, msg, sizeof(d->msg));
	}
	pv_opener_free(&o);
	pv_mac_free(m);
	if (buf != NULL) {
		pv_cleanse(buf, PV_SEALED_CHUNK);
		free(buf);
	}
	close(in);
	return rc;
}

/*
 * The index still maps the instance to inst's object: get and get_mem open
 * nothing else. Every chunk then authenticates under the object's own key,
 * and the object id is bound to the instance's sealed row (vault_resolve
 * opened it with the id as associated data): the content MAC would check
 * the same thing again, so only fsck recomputes it.
 */
static int
instance_object(struct vault *v, const struct vault_instance *inst, struct pv_diag *d)
{
	char objid[STORE_OBJID_HEX];
	uint8_t mac[STORE_MAC_LEN];
	uint64_t size;
	int rc;

	{
		struct store_index *rix;

		if ((rc = reader_take(v, &rix, d)) == 0) {
			rc = v->ops->instance_get(rix, inst->sop_b, objid, &size, mac);
			reader_give(v, rix);
		}
	}
	if (rc != 0)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "instance not in the index");
	if (strcmp(objid, inst->objid) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "index: instance rows disagree on object %s", inst->objid);
	return 0;
}

int
vault_get(struct vault *v, const struct vault_instance *inst, int fd, struct pv_diag *d)
{
	int rc;

	if ((rc = instance_object(v, inst, d)) != 0)
		return rc;
	return open_object(v, "objects", inst->objid, fd, NULL, NULL, d);
}

int
vault_get_mem(struct vault *v, const struct vault_instance *inst, struct pv_buf *out, struct pv_diag *d)
{
	int rc;

	if ((rc = instance_object(v, inst, d)) != 0)
		return rc;
	pv_buf_reset(out);
	rc = open_object(v, "objects", inst->objid, -1, out, NULL, d);
	if (rc != 0)
		pv_buf_free_scrub(out);
	return rc;
}

/*
 * rm's order for one sealed object at dir/kind/...: its wrapped data key
 * destroyed (durably: the body can never be opened again), then its index
 * row (remove_row, in one transaction), then the file. sop_b or objid
 * names the row for remove_row.
 */
static int
shred_object(struct vault *v, const char *kind, const char *objid, const uint8_t *sop_b,
    int (*remove_row)(struct store_index *, const uint8_t *, const char *, const struct store_index_ops *,
    struct pv_diag *), struct pv_diag *d)
{
	char p[4096], dir[4096];
	int fd, rc;

	object_path(v, kind, objid, p, sizeof(p));
	if ((fd = open(p, O_RDWR | O_CLOEXEC)) >= 0) {
		rc = pv_sealed_shred(fd, d);
		close(fd);
		if (rc != 0)
			return rc;
	} else if (errno != ENOENT) {
		return pv_diag_set(d, PV_EIO, -1, "object %s: %s", objid, strerror(errno));
	}
	pthread_mutex_lock(&v->wlock);
	if ((rc = v->ops->begin(v->ix, d)) == 0) {
		if ((rc = remove_row(v->ix, sop_b, objid, v->ops, d)) == 0)
			rc = v->ops->commit(v->ix, d);
		if (rc != 0)
			v->ops->rollback(v->ix);
	}
	pthread_mutex_unlock(&v->wlock);
	if (rc != 0)
		return rc;
	if (unlink(p) != 0 && errno != ENOENT)
		return pv_diag_set(d, PV_EIO, -1, "object %s shredded but not removed: %s", objid, strerror(errno));
	if (strcmp(kind, "objects") == 0)
		snprintf(dir, sizeof(dir), "%s/objects/%.2s", v->dir, objid);
	else
		snprintf(dir, sizeof(dir), "%s/%s", v->dir, kind);
	(void)sync_dir(dir);
	return 0;
}

static int
rm_instance_row(struct store_index *ix, const uint8_t *sop_b, const char *objid, const struct store_index_ops *ops,
    struct pv_diag *d)
{
	(void)objid;
	return ops->instance_remove(ix, sop_b, d);
}

static int
rm_quarantine_row(struct store_index *ix, const uint8_t *sop_b, const char *objid, const struct store_index_ops *ops,
    struct pv_diag *d)
{
	(void)sop_b;
	return ops->quarantine_remove(ix, objid, d);
}

int
vault_rm(struct vault *v, const struct vault_instance *inst, struct pv_diag *d)
{
	if (!v->writer)
		return pv_diag_set(d, PV_EINVAL, -1, "vault opened read-only");
	return shred_object(v, "objects", inst->objid, inst->sop_b, rm_instance_row, d);
}

/* ---- fsck ---- */

struct idset {
	char (*v)[STORE_OBJID_HEX];
	size_t n, cap;
};

static int
idset_add(struct idset *s, const char *id)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, nc * sizeof(*s->v));

		if (p == NULL)
			return PV_ENOMEM;
		s->v = p;
		s->cap = nc;
	}
	snprintf(s->v[s->n++], STORE_OBJID_HEX, "%s", id);
	return 0;
}

static int
idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
idset_has(const struct idset *s, const char *id)
{
	return s->n > 0 && bsearch(id, s->v, s->n, sizeof(*s->v), idcmp) != NULL;
}

struct fsck_ctx {
	struct vault *v;
	vault_fsck_report_fn report;
	void *rctx;
	struct vault_fsck *out;
	struct idset seen;
	struct vault_instance *drop;   /* rows to remove on repair */
	size_t ndrop, capdrop;
	int err;
};

static int
fsck_row(void *arg, const struct vault_match *m)
{
	struct fsck_ctx *c = arg;
	struct pv_diag d;
	char objid[STORE_OBJID_HEX], ix_objid[STORE_OBJID_HEX];
	uint8_t mac[STORE_MAC_LEN], sop_b[STORE_BLIND_LEN];
	const char *sop = NULL;
	uint64_t size;
	int rc;

	c->out->instances++;
	snprintf(objid, sizeof(objid), "%s", m->objid);
	if (idset_add(&c->seen, objid) != 0)
		return PV_ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		if (m->tag[i] == 0x00080018u)
			sop = m->value[i];
	blind(c->v, "SOPInstanceUID", sop != NULL ? sop : "", sop_b);
	if (c->v->ops->instance_get(c->v->ix, sop_b, ix_objid, &size, mac) != 0 || strcmp(ix_objid, objid) != 0) {
		pv_diag_clear(&d);
		pv_diag_set(&d, PV_EINTEGRITY, -1, "index row's UID does not lead back to it");
		c->out->bad++;
		c->report(c->rctx, "bad", objid, &d);
		return 0;
	}
	pv_diag_clear(&d);
	rc = open_object(c->v, "objects", objid, -1, NULL, mac, &d);
	if (rc == 0) {
		c->out->objects_ok++;
		return 0;
	}
	if (rc == PV_ENOTFOUND)
		c->out->missing++;
	else
		c->out->bad++;
	c->report(c->rctx, rc == PV_ENOTFOUND ? "missing" : "bad", objid, &d);
	/* Missing or shredded (an interrupted rm): nothing can be read; the row goes on repair. */
	if (rc == PV_ENOTFOUND || rc == PV_EAUTH) {
		struct vault_instance *in;

		if ((in = instance_push(&c->drop, &c->ndrop, &c->capdrop)) == NULL)
			return PV_ENOMEM;
		snprintf(in->objid, sizeof(in->objid), "%s", objid);
		memcpy(in->sop_b, sop_b, sizeof(sop_b));
	}
	return 0;
}

static int
fsck_quarantine(void *arg, const struct store_quarantine_row *r)
{
	struct fsck_ctx *c = arg;
	struct pv_diag d;
	int rc;

	c->out->quarantined++;
	if (idset_add(&c->seen, r->objid) != 0)
		return PV_ENOMEM;
	pv_diag_clear(&d);
	if ((rc = open_object(c->v, "quarantine", r->objid, -1, NULL, NULL, &d)) != 0) {
		c->out->bad++;
		c->report(c->rctx, rc == PV_ENOTFOUND ? "missing" : "bad", r->objid, &d);
	}
	return 0;
}

/* Walks dir (objects/XY/ or quarantine/) for objects the index does not know. */
static int
fsck_walk(struct fsck_ctx *c, const char *path, int depth, const char *kind, int repair)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	char sub[4096];

	if (dp == NULL)
		return errno == ENOENT ? 0 : PV_EIO;
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);
		uint8_t id[PV_SEALED_OBJID];
		char objid[STORE_OBJID_HEX];
		struct pv_diag d;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (depth == 0 && strcmp(kind, "objects") == 0) {
			if (fsck_walk(c, sub, 1, kind, repair) != 0) {
				closedir(dp);
				return PV_EIO;
			}
			continue;
		}
		pv_diag_clear(&d);
		if (l != 36 || strcmp(e->d_name + 32, ".pvo") != 0) {
			pv_diag_set(&d, PV_EINTEGRITY, -1, "a file that is not a vault object: %s", sub);
			c->report(c->rctx, "stray", "-", &d);
			continue;
		}
		memcpy(objid, e->d_name, 32);
		objid[32] = '\0';
		if (unhex(objid, id, sizeof(id)) != 0 || idset_has(&c->seen, objid))
			continue;
		c->out->orphans++;
		pv_diag_set(&d, PV_ENOTFOUND, -1, "object not in the index (an import that was never "
		    "acknowledged)%s", repair ? ": shredded and removed" : "");
		c->report(c->rctx, "orphan", objid, &d);
		if (repair)
			remove_object(c->v, kind, objid);
	}
	closedir(dp);
	return 0;
}

int
vault_fsck(struct vault *v, int repair, vault_fsck_report_fn report, void *ctx, struct vault_fsck *out,
    struct pv_diag *d)
{
	struct fsck_ctx c;
	char p[4096];
	uint8_t ik[PV_KEY_LEN];
	DIR *dp;
	struct dirent *e;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.v = v;
	c.report = report;
	c.rctx = ctx;
	c.out = out;
	if (repair && !v->writer)
		return pv_diag_set(d, PV_EINVAL, -1, "repair needs the vault opened for writing");
	if ((rc = read_sealed_key(v->dir, "index.key.pvo", &v->master, ik, d)) != 0 ||
	    (rc = read_sealed_key(v->dir, "ledger.key.pvo", &v->master, ik, d)) != 0)
		return rc;
	pv_cleanse(ik, sizeof(ik));
	if ((rc = v->ops->check(v->ix, d)) != 0)
		return rc;
	if ((rc = vault_find(v, QUERY_IMAGE, NULL, 0, fsck_row, &c, d)) != 0)
		goto done;
	if ((rc = v->ops->quarantine_list(v->ix, fsck_quarantine, &c, d)) != 0)
		goto done;
	if (c.seen.n > 0)  /* an empty index: no array at all */
		qsort(c.seen.v, c.seen.n, sizeof(*c.seen.v), idcmp);
	snprintf(p, sizeof(p), "%s/objects", v->dir);
	if ((rc = fsck_walk(&c, p, 0, "objects", repair)) != 0)
		goto done;
	snprintf(p, sizeof(p), "%s/quarantine", v->dir);
	if ((rc = fsck_walk(&c, p, 0, "quarantine", repair)) != 0)
		goto done;
	snprintf(p, sizeof(p), "%s/tmp", v->dir);
	if ((dp = opendir(p)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			struct pv_diag td;

			if (e->d_name[0] == '.')
				continue;
			out->temporaries++;
			pv_diag_clear(&td);
			pv_diag_set(&td, PV_ETRUNC, -1, "an object an interrupted import left in tmp/%s", repair ?
			    ": shredded" : " (the next import, rm or fsck --repair moves it into place if its row "
			    "committed, else shreds it)");
			report(ctx, "temporary", e->d_name, &td);
			if (repair) {
				char tp[4400];

				snprintf(tp, sizeof(tp), "%s/%s", p, e->d_name);
				shred_path(tp);
			}
		}
		closedir(dp);
	}
	if (repair) {
		if ((rc = v->ops->begin(v->ix, d)) != 0)
			goto done;
		for (size_t i = 0; i < c.ndrop && rc == 0; i++)
			rc = v->ops->instance_remove(v->ix, c.drop[i].sop_b, d);
		if (rc == 0)
			rc = v->ops->prune(v->ix, &out->pruned, d);
		if (rc == 0)
			rc = v->ops->commit(v->ix, d);
		else
			v->ops->rollback(v->ix);
		if (rc == 0) {
			for (size_t i = 0; i < c.ndrop; i++) {
				object_path(v, "objects", c.drop[i].objid, p, sizeof(p));
				(void)unlink(p);
			}
		}
	}
done:
	free(c.seen.v);
	free(c.drop);
	return rc;
}

int
vault_quarantine_list(struct vault *v, vault_quarantine_fn fn, void *ctx, struct pv_diag *d);

struct qlist_ctx {
	struct vault *v;
	vault_quarantine_fn fn;
	void *ctx;
};

static int
qlist_row(void *arg, const struct store_quarantine_row *r)
{
	struct qlist_ctx *c = arg;
	uint8_t aad[96], *plain;
	size_t an, n;
	int rc;

	if (r->info_n < PV_SEALED_SMALL_OVERHEAD || strlen(r->objid) != 32)
		return PV_EINTEGRITY;
	n = r->info_n - PV_SEALED_SMALL_OVERHEAD;
	if ((plain = malloc(n + 1)) == NULL)
		return PV_ENOMEM;
	an = col_aad("quarantine", NULL, r->objid, aad);
	if ((rc = pv_open_small(c->v->k_col, aad, an, r->info, r->info_n, plain)) == 0) {
		size_t wl;

		plain[n] = '\0';
		wl = strlen((char *)plain);
		rc = c->fn(c->ctx, r->objid, r->size, (char *)plain, wl < n ? (char *)plain + wl + 1 : "");
	}
	pv_cleanse(plain, n);
	free(plain);
	return rc;
}

int
vault_quarantine_list(struct vault *v, vault_quarantine_fn fn, void *ctx, struct pv_diag *d)
{
	struct qlist_ctx c = { v, fn, ctx };
	struct store_index *rix;
	int rc;


	/* A reader's connection: the caller's callback holds no vault lock. */
	if ((rc = reader_take(v, &rix, d)) != 0)
		return rc;
	rc = v->ops->quarantine_list(rix, qlist_row, &c, d);
	reader_give(v, rix);
	if (rc == PV_EINTEGRITY)
		pv_diag_set(d, rc, -1, "a sealed quarantine row does not open");
	return rc;
}

/* Is objid a quarantined object of this vault? 0, or PV_ENOTFOUND / an index error. */
static int
quarantined(struct vault *v, const char *objid, struct pv_diag *d)
{
	uint8_t id[PV_SEALED_OBJID];
	int kind;

	if (strlen(objid) != 32 || unhex(objid, id, sizeof(id)) != 0)
		return pv_diag_set(d, PV_EINVAL, -1, "not an object id (32 hex digits, as 'pacsvault "
		    "vault quarantine' lists them)");
	pthread_mutex_lock(&v->wlock);
	kind = v->ops->object_kind(v->ix, objid, d);
	pthread_mutex_unlock(&v->wlock);
	if (kind < 0)
		return kind;
	if (kind != STORE_OBJ_QUARANTINE)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "not in the quarantine");
	return 0;
}

int
vault_quarantine_get(struct vault *v, const char *objid, int fd, struct pv_diag *d)
{
	int rc;

	if ((rc = quarantined(v, objid, d)) != 0)
		return rc;
	return open_object(v, "quarantine", objid, fd, NULL, NULL, d);
}

int
vault_quarantine_remove(struct vault *v, const char *objid, struct pv_diag *d)
{
	int rc;

	if (!v->writer)
		return pv_diag_set(d, PV_EINVAL, -1, "vault opened read-only");
	if ((rc = quarantined(v, objid, d)) != 0)
		return rc;
	return shred_object(v, "quarantine", objid, NULL, rm_quarantine_row, d);
}

/* ---- rotate-key ---- */

struct rot_walk {
	const struct pv_key *old, *nw;
	int drop;                 /* second pass: drop the old slots */
	uint64_t done, total;
	void (*progress)(void *, uint64_t, uint64_t);
	void *pctx;
	struct pv_diag *d;
};

static int
rot_file(struct rot_walk *w, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return pv_diag_set(w->d, PV_EIO, -1, "%s: %s", path, strerror(errno));
	if (w->drop)
		rc = pv_sealed_drop_other_slots(fd, w->nw, w->d);
	else
		rc = pv_sealed_rewrap(fd, w->old, w->nw, NULL, w->d);
	close(fd);
	if (rc != 0 && strstr(path, "/tmp/") != NULL) {
		/* A staged object an interrupted import left that does not open is one whose seal
		 * never finished: never committed, so shredded (a committed one rewraps). */
		shred_path(path);
		rc = 0;
		pv_diag_clear(w->d);
	} else if (rc == PV_EAUTH && strstr(path, ".key.pvo") == NULL) {
		/* The vault's key was checked: no slot for it means a shredded object (an rm that
		 * was interrupted before its index rows went); it has nothing left to wrap. */
		rc = 0;
		pv_diag_clear(w->d);
	}
	if (rc != 0) {
		pv_diag_set_path(w->d, path);
		return rc;
	}
	w->done++;
	if (w->progress != NULL)
		w->progress(w->pctx, w->done, w->total);
	return 0;
}

/* Applies rot_file (count only, when w is NULL) to every object of the vault. */
static int
rot_walk(const char *dir, struct rot_walk *w, uint64_t *count)
{
	static const char *const kinds[] = { "objects", "quarantine", "tmp" };
	char p[2048], q[4096];
	int rc;

	static const char *const keys[] = { "index.key.pvo", "ledger.key.pvo", "ledger.sign.pvo", "users.pvo",
		"projects.pvo", "tokens.pvo" };

	for (int i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, keys[i]);
		if (i >= 2 && access(p, F_OK) != 0)
			continue;   /* a vault made before the ledger's signing key was sealed; one without users */
		if (w != NULL && (rc = rot_file(w, p)) != 0)
			return rc;
		(*count)++;
	}
	for (int k = 0; k < 3; k++) {
		DIR *dp, *sp;
		struct dirent *e, *f;

		snprintf(p, sizeof(p), "%s/%s", dir, kinds[k]);
		if ((dp = opendir(p)) == NULL)
			continue;
		while ((e = readdir(dp)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(q, sizeof(q), "%s/%s", p, e->d_name);
			if (k > 0) {
				/* quarantine/ID.pvo; tmp/ID.tmp, staged by an import that was killed */
				if (strlen(e->d_name) == 36 && strcmp(e->d_name + 32, k == 1 ? ".pvo" : ".tmp") == 0) {
					(*count)++;
					if (w != NULL && (rc = rot_file(w, q)) != 0) {
						closedir(dp);
						return rc;
					}
				}
				continue;
			}
			if ((sp = opendir(q)) == NULL)
				continue;
			while ((f = readdir(sp)) != NULL) {
				char r[4400];

				if (strlen(f->d_name) != 36 || strcmp(f->d_name + 32, ".pvo") != 0)
					continue;
				(*count)++;
				snprintf(r, sizeof(r), "%s/%s", q, f->d_name);
				if (w != NULL && (rc = rot_file(w, r)) != 0) {
					closedir(sp);
					closedir(dp);
					return rc;
				}
			}
			closedir(sp);
		}
		closedir(dp);
	}
	return 0;
}

int
vault_rotate_key(const char *dir, const char *master_key_path, const char *new_key_path,
    void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx, char newid[9], uint64_t *objects,
    struct pv_diag *d)
{
	struct pv_key old, nw;
	struct rot_walk w;
	char want[9], have[9], state_old[9] = "", state_new[9] = "", line[64];
	char *state = NULL, *next = NULL, *inside = NULL;
	int lockfd = -1, rlockfd = -1, rc, keep_inside;
	uint64_t total = 0;
	FILE *f;

	memset(&old, 0, sizeof(old));
	memset(&nw, 0, sizeof(nw));
	*objects = 0;
	if ((rc = read_vault_file(dir, want, d)) != 0)
		return rc;
	/* The writers' lock, then every reader's: nobody opens an object while its slots change. */
	if ((rc = lock_vault_file(dir, "lock", LOCK_EX, &lockfd, d)) != 0)
		return rc;
	if ((rc = lock_vault_file(dir, "rlock", LOCK_EX, &rlockfd, d)) != 0) {
		close(lockfd);
		return rc;
	}
	state = path_join(dir, "rotate.state");
	next = path_join(dir, "master.key.new");
	inside = path_join(dir, "master.key");
	if (state == NULL || next == NULL || inside == NULL) {
		rc = PV_ENOMEM;
		goto done;
	}
	keep_inside = master_key_path == NULL;
	if ((f = fopen(state, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL || sscanf(line, "rotate %8s %8s", state_old, state_new) != 2)
			state_old[0] = '\0';
		fclose(f);
		if (state_old[0] == '\0') {
			rc = pv_diag_set(d, PV_EPARSE, -1, "rotate.state is damaged");
			goto done;
		}
	}
	/* Run again after it finished: the vault names the new key already. */
	if (state_old[0] == '\0' && new_key_path != NULL) {
		char nid[9];

		if ((rc = pv_key_read(new_key_path, PV_KEY_MASTER, &nw, d)) != 0)
			goto done;
		pv_key_id_hex(&nw, nid);
		pv_key_clear(&nw);
		if (strcmp(nid, want) == 0) {
			snprintf(newid, 9, "%s", nid);
			rc = rot_walk(dir, NULL, objects);
			goto done;
		}
	}
	/* The vault file names the new key already: only rotate.state was left. */
	if (state_old[0] != '\0' && strcmp(want, state_new) == 0) {
		snprintf(newid, 9, "%s", state_new);
		keep_inside = access(inside, F_OK) == 0;
		goto cleanup;
	}
	if ((rc = load_master(dir, master_key_path, &old, d)) != 0)
		goto done;
	pv_key_id_hex(&old, have);
	/* An inside rotation that got past its commit point: master.key is the new key already. */
	if (state_old[0] != '\0' && strcmp(have, state_new) == 0 && keep_inside) {
		nw = old;
		goto finish;
	}
	if (strcmp(have, want) != 0) {
		rc = pv_diag_set(d, PV_EAUTH, -1, "master key %s is not this vault's (%s)", have, want);
		goto done;
	}
	if (new_key_path != NULL) {
		if ((rc = pv_key_read(new_key_path, PV_KEY_MASTER, &nw, d)) != 0)
			goto done;
		/* A vault that keeps its key inside gets the given key as master.key at the commit
		 * point: a copy of it beside the old one first (earlier versions renamed a
		 * master.key.new that was never written, and the rotation could not finish). */
		if (keep_inside) {
			struct pv_key have_next;

			if (pv_key_read(next, PV_KEY_MASTER, &have_next, NULL) == 0 &&
			    memcmp(have_next.id, nw.id, sizeof(nw.id)) != 0) {
				pv_key_clear(&have_next);
				if (state_old[0] != '\0') {
					rc = pv_diag_set(d, PV_EINVAL, -1, "master.key.new is not the key the unfinished "
					    "rotation is to");
					goto done;
				}
				if (unlink(next) != 0) {
					rc = pv_diag_set(d, PV_EIO, -1, "cannot remove master.key.new: %s", strerror(errno));
					goto done;
				}
			}
			pv_key_clear(&have_next);
			if (access(next, F_OK) != 0 && (unlink(next) == 0 || errno == ENOENT) &&
			    (rc = pv_key_write(next, &nw, d)) != 0)
				goto done;
		}
	} else if (!keep_inside) {
		rc = pv_diag_set(d, PV_EINVAL, -1, "this vault keeps its master key outside: give the new "
		    "key with --new-master-key FILE ('pacsvault keygen --type master')");
		goto done;
	} else if (access(next, F_OK) == 0 && (state_old[0] != '\0' ||
	    pv_key_read(next, PV_KEY_MASTER, &nw, NULL) == 0)) {
		/* A rotation that wrote its next key (and maybe began): that key again. */
		if ((rc = pv_key_read(next, PV_KEY_MASTER, &nw, d)) != 0)
			goto done;
	} else {
		/* No rotate.state: no object was wrapped under master.key.new yet, so a next key that
		 * does not read (a kill while an older version wrote it) is dropped, not trusted. */
		if (unlink(next) != 0 && errno != ENOENT) {
			rc = pv_diag_set(d, PV_EIO, -1, "cannot remove master.key.new: %s", strerror(errno));
			goto done;
		}
		if ((rc = pv_key_generate(&nw, PV_KEY_MASTER)) != 0 || (rc = pv_key_write(next, &nw, d)) != 0)
			goto done;
	}
	pv_key_id_hex(&nw, newid);
	if (strcmp(newid, have) == 0) {
		rc = pv_diag_set(d, PV_EINVAL, -1, "the new master key is the current one");
		goto done;
	}
	if (state_old[0] != '\0' && strcmp(state_new, newid) != 0) {
		rc = pv_diag_set(d, PV_EINVAL, -1, "an unfinished rotation is to key %s, not %s: finish it "
		    "with that key first", state_new, newid);
		goto done;
	}
	if (state_old[0] == '\0') {
		struct pv_atomic af;

		snprintf(line, sizeof(line), "rotate %s %s\n", have, newid);
		if ((rc = pv_atomic_open(&af, state, 0600, d)) != 0)
			goto done;
		if (pv_write_all(af.fd, line, strlen(line)) != 0) {
			pv_atomic_abort(&af);
			rc = pv_diag_set(d, PV_EIO, -1, "cannot write rotate.state");
			goto done;
		}
		if ((rc = pv_atomic_commit(&af, d)) != 0)
			goto done;
	}
	memset(&w, 0, sizeof(w));
	w.old = &old;
	w.nw = &nw;
	w.progress = progress;
	w.pctx = ctx;
	w.d = d;
	if ((rc = rot_walk(dir, NULL, &total)) != 0)
		goto done;
	w.total = 2 * total;
	/* Pass 1: a wrap under the new key beside the old one. Pass 2: the old wraps go. */
	if ((rc = rot_walk(dir, &w, objects)) != 0)
		goto done;
	w.drop = 1;
	*objects = 0;
	if ((rc = rot_walk(dir, &w, objects)) != 0)
		goto done;
	if (keep_inside) {
		/* The commit point: master.key becomes the new key in one rename. */
		if (rename(next, inside) != 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "cannot install the new master key: %s", strerror(errno));
			goto done;
		}
		if (sync_dir(dir) != 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "cannot sync the vault folder");
			goto done;
		}
	}
finish:
	pv_key_id_hex(&nw, newid);
	{
		struct store_index *ix = NULL;
		char *dbp = path_join(dir, "index.db");

		if (dbp == NULL) {
			rc = PV_ENOMEM;
			goto done;
		}
		rc = store_index_sqlite.open(dbp, 0, &ix, d);
		free(dbp);
		if (rc == 0)
			rc = store_index_sqlite.meta_set(ix, "master_key_id", newid, d);
		if (ix != NULL)
			store_index_sqlite.close(ix);
		if (rc != 0)
			goto done;
	}
	if ((rc = write_vault_file(dir, newid, keep_inside, d)) != 0)
		goto done;
cleanup:
	if (unlink(state) != 0 || sync_dir(dir) != 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot remove rotate.state");
		goto done;
	}
	if (*objects == 0)
		(void)rot_walk(dir, NULL, objects);
	rc = 0;
done:
	if (rlockfd >= 0)
		close(rlockfd);
	if (lockfd >= 0)
		close(lockfd);
	pv_key_clear(&old);
	pv_key_clear(&nw);
	free(state);
	free(next);
	free(inside);
	return rc;
}

/* ---- bench support ---- */

int
vault_bench_fill(struct vault *v, uint64_t n, unsigned per_study, struct pv_diag *d)
{
	struct pv_buf bp, bs, bse, bi;
	uint64_t i;
	int rc = 0;

	if (!v->writer)
		return pv_diag_set(d, PV_EINVAL, -1, "vault opened read-only");
	if (per_study == 0)
		per_study = 100;
	pv_buf_init(&bp, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bs, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bse, VAULT_ATTRS_MAX * 2);
	pv_buf_init(&bi, VAULT_ATTRS_MAX * 2);
	for (i = 0; i < n && rc == 0; i++) {
		/* 4 studies per patient, 4 series per study, per_study / 4 instances per series. */
		uint64_t study = i / per_study, patient = study / 4, series = i / (per_study / 4 ? per_study / 4 : 1);
		struct store_instance_row row;
		struct attrs a;
		char pid[32], name[48], suid[64], seuid[64], sop[64], date[16], acc[32], num[16], key[64];
		uint8_t id[PV_SEALED_OBJID];

		memset(&a, 0, sizeof(a));
		memset(&row, 0, sizeof(row));
		snprintf(pid, sizeof(pid), "BENCH%08llu", (unsigned long long)patient);
		snprintf(name, sizeof(name), "PATIENT%llu^GIVEN%llu", (unsigned long long)patient,
		    (unsigned long long)(patient % 97));
		snprintf(suid, sizeof(suid), "2.25.1%llu", (unsigned long long)study);
		snprintf(seuid, sizeof(seuid), "2.25.2%llu", (unsigned long long)series);
		snprintf(sop, sizeof(sop), "2.25.3%llu", (unsigned long long)i);
		snprintf(date, sizeof(date), "20%02llu%02llu%02llu", (unsigned long long)(study % 20),
		    (unsigned long long)(1 + study % 12), (unsigned long long)(1 + study % 28));
		snprintf(acc, sizeof(acc), "A%09llu", (unsigned long long)study);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(i % per_study + 1));
		{
			const uint32_t tags[] = { 0x00100020u, 0x00100010u, 0x0020000du, 0x00080020u, 0x00080050u,
			    0x0020000eu, 0x00080018u, 0x00200013u };
			const char *vals[] = { pid, name, suid, date, acc, seuid, sop, num };

			for (size_t k = 0; k < 8; k++) {
				a.tag[a.n] = tags[k];
				if ((a.val[a.n++] = strdup(vals[k])) == NULL)
					rc = PV_ENOMEM;
			}
		}
		snprintf(key, sizeof(key), "%s%c", pid, 1);
		blind(v, "patient", key, row.pat_key_b);
		blind(v, "PatientID", pid, row.pid_b);
		blind(v, "StudyInstanceUID", suid, row.study_b);
		blind(v, "AccessionNumber", acc, row.acc_b);
		row.has_acc = 1;
		blind(v, "SeriesInstanceUID", seuid, row.series_b);
		blind(v, "SOPInstanceUID", sop, row.sop_b);
		row.modality = series % 4 == 3 ? "MR" : "CT";
		row.sop_class = "1.2.840.10008.5.1.4.1.1.2";
		if (rc == 0 && (rc = pv_random(id, sizeof(id))) == 0) {
			hex(id, sizeof(id), row.objid);
			if ((rc = attrs_seal(v, &a, QUERY_PATIENT, "patient", row.pat_key_b, NULL, &bp)) == 0 &&
			    (rc = attrs_seal(v, &a, QUERY_STUDY, "study", row.study_b, NULL, &bs)) == 0 &&
			    (rc = attrs_seal(v, &a, QUERY_SERIES, "series", row.series_b, NULL, &bse)) == 0)
				rc = attrs_seal(v, &a, QUERY_IMAGE, "instance", row.sop_b, row.objid, &bi);
		}
		attrs_free(&a);
		if (rc != 0)
			break;
		row.pat_attrs = (const uint8_t *)bp.data;
		row.pat_attrs_n = bp.len;
		row.study_attrs = (const uint8_t *)bs.data;
		row.study_attrs_n = bs.len;
		row.series_attrs = (const uint8_t *)bse.data;
		row.series_attrs_n = bse.len;
		row.inst_attrs = (const uint8_t *)bi.data;
		row.inst_attrs_n = bi.len;
		row.stored = (int64_t)time(NULL);
		if (i % 20000 == 0 && (rc = v->ops->begin(v->ix, d)) != 0)
			break;
		if ((rc = v->ops->instance_put(v->ix, &row, d)) != 0)
			break;
		if ((i + 1) % 20000 == 0 || i + 1 == n)
			rc = v->ops->commit(v->ix, d);
	}
	if (rc != 0)
		v->ops->rollback(v->ix);
	pv_buf_free(&bp);
	pv_buf_free(&bs);
	pv_buf_free(&bse);
	pv_buf_free(&bi);
	return rc;
}
