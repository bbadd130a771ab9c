/* log.c: the append-only audit log on disk (see log.h). */
#include "pacsvault/ledger/log.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* The journal of a log held open by a long-lived writer (lg_log_hold): see log.h. */
#define JR_MAGIC "PVLJ"
#define JR_VERSION 1u
#define JR_HDR 48
#define JR_SETTLE ((uint64_t)8 << 20)   /* settled (files synced, HEAD written) beyond this */
#define JR_BODY_MAX ((uint64_t)1 << 30)
enum { F_DAT = 1, F_IDX = 2, F_CP = 3, F_LVL = 16 };

struct lg_log {
	char *dir;
	char origin[LG_NAME_MAX];
	uint8_t seed[32], pub[32];
	int has_seed;               /* a signing seed is held (key file, or given by lg_log_set_seed) */
	int sealed;                 /* no key file: the seed is kept sealed by the caller (a vault) */
	int fd_dat, fd_idx, fd_cp, fd_lock;
	int fd_lvl[LG_MAX_PROOF];
	uint64_t committed;         /* entries durable (HEAD) */
	uint64_t dat_end;           /* end of entries.dat including pending */
	uint64_t dat_committed;
	uint64_t lvl_written[LG_MAX_PROOF];  /* hashes of level k in its file (pending included) */
	uint64_t cp_len;
	uint64_t cp_last;           /* offset of the last checkpoint record, UINT64_MAX when none */
	int fd_jr, fd_wait;         /* the journal; the waiters' file (lock_log) */
	int hold;                   /* commits go to the journal (lg_log_hold) */
	uint64_t jr_len;            /* bytes of committed records in the journal, not yet settled */
	uint8_t dirty[3 + LG_MAX_PROOF];  /* written since last synced: entries.dat, .idx, checkpoints, tree.K */
	struct pv_buf pend_dat, pend_idx;
	struct lg_tree t;
};

static int open_checkpoint(const uint8_t *note, size_t n, const struct lg_verifier *v, const char *origin,
    struct lg_checkpoint *c, struct pv_diag *d);

static int
joinpath(char *out, size_t n, const char *dir, const char *name)
{
	return snprintf(out, n, "%s/%s", dir, name) < (int)n ? 0 : PV_ELIMIT;
}

static int
open_file(const char *dir, const char *name, int flags, int *fd)
{
	char p[4096];
	if (joinpath(p, sizeof(p), dir, name) != 0)
		return PV_ELIMIT;
	*fd = open(p, flags | O_CLOEXEC, 0600);
	return *fd >= 0 ? 0 : (errno == ENOENT ? PV_ENOTFOUND : PV_EIO);
}

static int
read_small(const char *dir, const char *name, char *buf, size_t n, size_t *len)
{
	int fd, rc;
	ssize_t r;
	if ((rc = open_file(dir, name, O_RDONLY, &fd)) != 0)
		return rc;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return PV_EIO;
	buf[r] = '\0';
	*len = (size_t)r;
	return 0;
}

static int
write_atomic(const char *dir, const char *name, const void *p, size_t n, mode_t mode, struct pv_diag *d)
{
	char path[4096];
	struct pv_atomic af;
	int rc;
	if (joinpath(path, sizeof(path), dir, name) != 0)
		return PV_ELIMIT;
	if ((rc = pv_atomic_open(&af, path, mode, d)) != 0)
		return rc;
	if (pv_write_all(af.fd, p, n) != 0) {
		pv_atomic_abort(&af);
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot write", name);
	}
	return pv_atomic_commit(&af, d);
}

/* Writes vkey, origin, HEAD (and key when clear) into a new folder. */
static int
create_log(const char *dir, const char *origin, const uint8_t seed[32], int clear, struct pv_diag *d)
{
	uint8_t pub[32];
	struct pv_buf vk;
	char head[64];
	int rc, n;

	if (!lg_name_valid(origin, strlen(origin)))
		return pv_diag_set(d, PV_EINVAL, -1, "the log's origin must be a key name (no spaces, no '+')");
	if (pv_mkdir_p(dir, 0700) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot create the folder", dir);
	{
		char p[4096];
		struct stat st;
		if (joinpath(p, sizeof(p), dir, "HEAD") != 0)
			return PV_ELIMIT;
		if (stat(p, &st) == 0)
			return pv_diag_set(d, PV_EEXIST, -1, "%s: a ledger exists there already", dir);
	}
	if ((rc = pv_ed25519_public(seed, pub)) != 0)
		return pv_diag_set(d, rc, -1, "Ed25519 unavailable");
	pv_buf_init(&vk, 4096);
	if ((rc = lg_vkey_format(origin, pub, &vk)) != 0) {
		pv_buf_free(&vk);
		return pv_diag_set(d, rc, -1, "cannot format the verifier key");
	}
	rc = write_atomic(dir, "vkey", vk.data, vk.len, 0644, d);
	pv_buf_free(&vk);
	if (rc == 0 && clear)
		rc = write_atomic(dir, "key", seed, 32, 0600, d);
	if (rc == 0)
		rc = write_atomic(dir, "origin", origin, strlen(origin), 0644, d);
	n = snprintf(head, sizeof(head), "pacsvault-ledger 1\nsize 0\n");
	if (rc == 0)
		rc = write_atomic(dir, "HEAD", head, (size_t)n, 0644, d);
	return rc;
}

int
lg_log_create(const char *dir, const char *origin, struct pv_diag *d)
{
	uint8_t seed[32];
	int rc;

	if ((rc = pv_random(seed, sizeof(seed))) != 0)
		return rc;
	rc = create_log(dir, origin, seed, 1, d);
	pv_cleanse(seed, sizeof(seed));
	return rc;
}

int
lg_log_create_sealed(const char *dir, const char *origin, const uint8_t seed[32], struct pv_diag *d)
{
	return create_log(dir, origin, seed, 0, d);
}

/* The size line (the second) of a checkpoint note's text, without verifying anything. */
static int
note_size(const char *s, uint64_t *size)
{
	const char *p = strchr(s, '\n');
	uint64_t v = 0;
	int digits = 0;

	if (p == NULL)
		return PV_EPARSE;
	for (p++; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (digits == 0 || *p != '\n')
		return PV_EPARSE;
	*size = v;
	return 0;
}

/*
 * HEAD: "pacsvault-ledger 1\nsize N\n", or version 2 with the line
 * "checkpoints LEN LAST\n": the checkpoints file's committed length and the
 * offset of its last record (open and the signer find the last checkpoint
 * without reading them all). *cp_len is UINT64_MAX for version 1.
 */
static int
parse_head(const char *s, uint64_t *size, uint64_t *cp_len, uint64_t *cp_last)
{
	char *end;
	int v2;

	*cp_len = *cp_last = UINT64_MAX;
	if (strncmp(s, "pacsvault-ledger 1\nsize ", 24) == 0)
		v2 = 0;
	else if (strncmp(s, "pacsvault-ledger 2\nsize ", 24) == 0)
		v2 = 1;
	else
		return PV_EPARSE;
	if (s[24] < '0' || s[24] > '9')
		return PV_EPARSE;
	errno = 0;
	unsigned long long v = strtoull(s + 24, &end, 10);
	if (errno != 0 || end == s + 24)
		return PV_EPARSE;
	*size = v;
	if (!v2)
		return strcmp(end, "\n") == 0 ? 0 : PV_EPARSE;
	if (strncmp(end, "\ncheckpoints ", 13) != 0 || end[13] < '0' || end[13] > '9')
		return PV_EPARSE;
	const char *q = end + 13;
	unsigned long long a = strtoull(q, &end, 10), b;
	if (errno != 0 || end == q || *end != ' ' || ((end[1] < '0' || end[1] > '9') && end[1] != '-'))
		return PV_EPARSE;
	q = end + 1;
	if (strncmp(q, "-\n", 2) == 0) {
		b = UINT64_MAX;
		end = (char *)q + 1;
	} else {
		b = strtoull(q, &end, 10);
		if (errno != 0 || end == q || b >= a)
			return PV_EPARSE;
	}
	if (strcmp(end, "\n") != 0 || (a == 0) != (b == UINT64_MAX))
		return PV_EPARSE;
	*cp_len = a;
	*cp_last = b;
	return 0;
}

static int
format_head(char *out, size_t n, uint64_t size, uint64_t cp_len, uint64_t cp_last)
{
	char last[24];

	if (cp_last == UINT64_MAX)
		snprintf(last, sizeof(last), "-");
	else
		snprintf(last, sizeof(last), "%llu", (unsigned long long)cp_last);
	return snprintf(out, n, "pacsvault-ledger 2\nsize %llu\ncheckpoints %llu %s\n", (unsigned long long)size,
	    (unsigned long long)cp_len, last);
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * flock on DIR/lock, waiting at most wait_ms: another pacsvault process
 * holding the log past that is an error, never a hang.
 */
static int
lock_log(const char *dir, int how, unsigned wait_ms, int *fd, struct pv_diag *d)
{
	int rc = open_file(dir, "lock", O_RDWR | O_CREAT, fd), wfd = -1;
	unsigned waited = 0;

	if (rc != 0)
		return pv_diag_set(d, rc, -1, "%s: cannot open the ledger's lock file", dir);
	while (flock(*fd, how | LOCK_NB) != 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if (waited >= wait_ms) {
			close(*fd);
			*fd = -1;
			if (wfd >= 0)
				close(wfd);
			return pv_diag_set(d, PV_EEXIST, -1, "%s: the ledger is in use by another process", dir);
		}
		/* Said to a holder that keeps the log open between commits (lg_log_contended): a
		 * shared lock on "wait" while this one waits. */
		if (wfd < 0 && open_file(dir, "wait", O_RDWR | O_CREAT, &wfd) == 0 && flock(wfd, LOCK_SH | LOCK_NB) != 0) {
			close(wfd);
			wfd = -1;
		}
		nanosleep(&ts, NULL);
		waited += 5;
	}
	if (wfd >= 0)
		close(wfd);
	return 0;
}

void
lg_log_close(struct lg_log *l)
{
	if (l == NULL)
		return;
	if (l->jr_len > 0) {
		struct pv_diag d;
		/* (left in the journal when this fails: the next open settles it) */
		if (lg_log_settle(l, &d) != 0)
			pv_diag_clear(&d);
	}
	if (l->fd_lock >= 0)
		close(l->fd_lock);  /* releases the lock */
	if (l->fd_jr >= 0)
		close(l->fd_jr);
	if (l->fd_wait >= 0)
		close(l->fd_wait);
	if (l->fd_dat >= 0)
		close(l->fd_dat);
	if (l->fd_idx >= 0)
		close(l->fd_idx);
	if (l->fd_cp >= 0)
		close(l->fd_cp);
	for (int k = 0; k < LG_MAX_PROOF; k++)
		if (l->fd_lvl[k] >= 0)
			close(l->fd_lvl[k]);
	pv_buf_free(&l->pend_dat);
	pv_buf_free(&l->pend_idx);
	lg_tree_free(&l->t);
	pv_cleanse(l->seed, sizeof(l->seed));
	free(l->dir);
	free(l);
}

static int
level_fd(struct lg_log *l, int k)
{
	char name[16];
	if (l->fd_lvl[k] < 0) {
		snprintf(name, sizeof(name), "tree.%d", k);
		if (open_file(l->dir, name, O_RDWR | O_CREAT, &l->fd_lvl[k]) != 0)
			return -1;
	}
	return l->fd_lvl[k];
}

/* The tree's reader of hashes that are only on disk (merkle.h). */
static int
tree_fetch(void *ctx, int k, uint64_t i, uint8_t out[LG_HASH])
{
	struct lg_log *l = ctx;
	int fd = level_fd(l, k);

	if (fd < 0)
		return PV_EIO;
	return pv_pread_all(fd, out, LG_HASH, i * LG_HASH) == 0 ? 0 : PV_EIO;
}

/*
 * The log's keys: the seed from DIR/key when it is there (a log that keeps
 * its own key; the public key derived from it), else the public key from
 * DIR/vkey (a log whose seed its owner keeps sealed). *has_seed says which.
 */
static int
read_key_files(const char *dir, const char *origin, uint8_t seed[32], uint8_t pub[32], int *has_seed,
    struct pv_diag *d)
{
	struct lg_verifier v;
	struct stat st;
	char text[1024];
	size_t n;
	int fd, rc;

	*has_seed = 0;
	rc = open_file(dir, "key", O_RDONLY, &fd);
	if (rc == 0) {
		ssize_t r = -1;
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) == 0)
			r = read(fd, seed, 32);
		close(fd);
		if (r != 32 || pv_ed25519_public(seed, pub) != 0) {
			pv_cleanse(seed, 32);
			return pv_diag_set(d, PV_EPARSE, -1, "%s: the ledger's key is short or readable by others", dir);
		}
		*has_seed = 1;
		return 0;
	}
	if (rc != PV_ENOTFOUND)
		return pv_diag_set(d, PV_EIO, -1, "%s: the ledger's key cannot be read", dir);
	if (read_small(dir, "vkey", text, sizeof(text), &n) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "%s: the ledger has neither its key nor its verifier key (vkey)", dir);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	if (lg_vkey_parse(text, &v) != 0 || v.type != LG_SIG_ED25519 || strcmp(v.name, origin) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "%s: the ledger's verifier key (vkey) is not a key of this log", dir);
	memcpy(pub, v.pub, 32);
	return 0;
}

int
lg_log_open(const char *dir, struct lg_log **out, struct pv_diag *d)
{
	return lg_log_open_wait(dir, 0, out, d);
}

/* The descriptor of a file of the log, by its number in journal records. */
static int
file_fd(struct lg_log *l, uint32_t f)
{
	if (f == F_DAT)
		return l->fd_dat;
	if (f == F_IDX)
		return l->fd_idx;
	if (f == F_CP)
		return l->fd_cp;
	if (f >= F_LVL && f < F_LVL + LG_MAX_PROOF)
		return level_fd(l, (int)(f - F_LVL));
	return -1;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/*
 * Checks that a record's sections extend the log exactly from its state
 * (committed entries, entries.dat's end, the checkpoints' end) to size,
 * and writes them into the files when apply is set.
 */
static int
jr_sections(struct lg_log *l, const uint8_t *body, uint64_t blen, uint64_t size, uint64_t cp_after, int apply,
    uint64_t *dat_end)
{
	uint64_t pos = 0, base = l->committed, dat_to = l->dat_committed, cp_to = l->cp_len;
	uint64_t lvl_to[LG_MAX_PROOF];

	for (int k = 0; k < LG_MAX_PROOF; k++)
		lvl_to[k] = base >> k;
	while (pos < blen) {
		if (blen - pos < 16)
			return PV_EINTEGRITY;
		uint32_t f = be32(body + pos), n = be32(body + pos + 4);
		uint64_t off = be64(body + pos + 8);
		const uint8_t *p = body + pos + 16;
		if (blen - pos - 16 < n)
			return PV_EINTEGRITY;
		if (f == F_DAT && off == dat_to)
			dat_to += n;
		else if (f == F_IDX && off == base * 8 && n == (size - base) * 8)
			;
		else if (f == F_CP && off == cp_to)
			cp_to += n;
		else if (f >= F_LVL && f < F_LVL + LG_MAX_PROOF && off == lvl_to[f - F_LVL] * LG_HASH &&
		    n == ((size >> (f - F_LVL)) - lvl_to[f - F_LVL]) * LG_HASH)
			lvl_to[f - F_LVL] = size >> (f - F_LVL);
		else
			return PV_EINTEGRITY;
		if (apply) {
			int fd = file_fd(l, f);
			if (fd < 0 || pv_pwrite_all(fd, p, n, off) != 0)
				return PV_EIO;
			l->dirty[f >= F_LVL ? 3 + (f - F_LVL) : f - 1] = 1;
		}
		pos += 16 + (uint64_t)n;
	}
	for (int k = 0; k < LG_MAX_PROOF; k++)
		if (lvl_to[k] != size >> k)
			return PV_EINTEGRITY;
	if (cp_to != cp_after)
		return PV_EINTEGRITY;
	*dat_end = dat_to;
	return 0;
}

/* The state after a batch of size entries whose entries end at dat_end was written. */
static void
advance(struct lg_log *l, uint64_t size, uint64_t dat_end, uint64_t cp_len, uint64_t cp_last)
{
	for (int k = 0; k < LG_MAX_PROOF; k++) {
		l->t.count[k] = l->t.base[k] = size >> k;
		l->lvl_written[k] = size >> k;
	}
	l->t.size = l->committed = size;
	l->dat_end = l->dat_committed = dat_end;
	l->cp_len = cp_len;
	l->cp_last = cp_last;
}

/*
 * Replays the journal's committed records into the files (a holder that
 * stopped without settling: a crash). A record cut short or failing its
 * CRC ends the journal (its commit never returned); one that does not
 * continue the log is an error: the journal or the files were changed.
 */
static int
jr_replay(struct lg_log *l, uint64_t *replayed, struct pv_diag *d)
{
	struct stat st;
	uint64_t pos = 0, len;
	uint8_t h[JR_HDR];

	*replayed = 0;
	if (fstat(l->fd_jr, &st) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot read the ledger's journal", l->dir);
	len = (uint64_t)st.st_size;
	while (len - pos >= JR_HDR + 4 && pv_pread_all(l->fd_jr, h, JR_HDR, pos) == 0) {
		uint64_t base = be64(h + 8), size = be64(h + 16), cpl = be64(h + 24), cpa = be64(h + 32), blen = be32(h + 44);
		uint64_t dat_end;
		uint8_t *rec;
		int rc;

		if (memcmp(h, JR_MAGIC, 4) != 0 || be32(h + 4) != JR_VERSION || blen > JR_BODY_MAX ||
		    len - pos - JR_HDR - 4 < blen)
			break;
		if ((rec = malloc(JR_HDR + blen + 4)) == NULL)
			return PV_ENOMEM;
		memcpy(rec, h, JR_HDR);
		if (pv_pread_all(l->fd_jr, rec + JR_HDR, blen + 4, pos + JR_HDR) != 0 ||
		    crc32(0L, rec, (uInt)(JR_HDR + blen)) != be32(rec + JR_HDR + blen)) {
			free(rec);
			if (pos + JR_HDR + blen + 4 < len)  /* not the torn last write: damage */
				return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's journal is damaged at byte %llu "
				    "(a record that fails its check is followed by more)", l->dir, (unsigned long long)pos);
			break;
		}
		if (size <= l->committed) {
			/* settled already (a crash between HEAD and the journal's truncation) */
			free(rec);
			pos += JR_HDR + blen + 4;
			continue;
		}
		if (base != l->committed || size < base) {
			free(rec);
			return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's journal continues from entry %llu, its "
			    "files end at %llu: they were changed; see 'pacsvault ledger verify'", l->dir,
			    (unsigned long long)base, (unsigned long long)l->committed);
		}
		rc = jr_sections(l, rec + JR_HDR, blen, size, cpl, 0, &dat_end);
		if (rc == 0)
			rc = jr_sections(l, rec + JR_HDR, blen, size, cpl, 1, &dat_end);
		free(rec);
		if (rc != 0)
			return pv_diag_set(d, rc == PV_EIO ? PV_EIO : PV_EINTEGRITY, -1, "%s: a record of the ledger's journal "
			    "does not fit its files (entries %llu to %llu)%s", l->dir, (unsigned long long)base,
			    (unsigned long long)size, rc == PV_EIO ? ": cannot write it" : ": they were changed");
		advance(l, size, dat_end, cpl, cpa);
		pos += JR_HDR + blen + 4;
		(*replayed)++;
	}
	if (pos != len && ftruncate(l->fd_jr, (off_t)pos) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot cut the ledger's journal", l->dir);
	l->jr_len = pos;
	return 0;
}

int
lg_log_open_wait(const char *dir, unsigned wait_ms, struct lg_log **out, struct pv_diag *d)
{
	struct lg_log *l;
	char buf[512];
	size_t n;
	int rc;
	uint64_t head_cp_len, head_cp_last;

	*out = NULL;
	if ((l = pv_calloc(1, sizeof(*l))) == NULL)
		return PV_ENOMEM;
	l->fd_dat = l->fd_idx = l->fd_cp = l->fd_lock = l->fd_jr = l->fd_wait = -1;
	for (int k = 0; k < LG_MAX_PROOF; k++)
		l->fd_lvl[k] = -1;
	l->cp_last = UINT64_MAX;
	pv_buf_init(&l->pend_dat, (size_t)1 << 30);
	pv_buf_init(&l->pend_idx, (size_t)1 << 28);
	if ((l->dir = strdup(dir)) == NULL || (rc = lg_tree_init(&l->t)) != 0) {
		lg_log_close(l);
		return PV_ENOMEM;
	}
	l->t.fetch = tree_fetch;
	l->t.fetch_ctx = l;
	if (read_small(dir, "HEAD", buf, sizeof(buf), &n) != 0 ||
	    parse_head(buf, &l->committed, &head_cp_len, &head_cp_last) != 0) {
		lg_log_close(l);
		return pv_diag_set(d, PV_EPARSE, -1, "%s: not a ledger (no readable HEAD)", dir);
	}
	/* One process at a time: opening cuts uncommitted tails, which would
	 * destroy the batch another process has written but not yet committed. */
	if ((rc = lock_log(dir, LOCK_EX, wait_ms, &l->fd_lock, d)) != 0) {
		lg_log_close(l);
		return rc;
	}
	/* HEAD again, under the lock: a commit may have landed in between */
	if (read_small(dir, "HEAD", buf, sizeof(buf), &n) != 0 ||
	    parse_head(buf, &l->committed, &head_cp_len, &head_cp_last) != 0) {
		lg_log_close(l);
		return pv_diag_set(d, PV_EPARSE, -1, "%s: not a ledger (no readable HEAD)", dir);
	}
	if (read_small(dir, "origin", l->origin, sizeof(l->origin), &n) != 0 || !lg_name_valid(l->origin, n)) {
		lg_log_close(l);
		return pv_diag_set(d, PV_EPARSE, -1, "%s: the ledger's origin is missing", dir);
	}
	if ((rc = read_key_files(dir, l->origin, l->seed, l->pub, &l->has_seed, d)) != 0) {
		lg_log_close(l);
		return rc;
	}
	l->sealed = !l->has_seed;
	if ((rc = open_file(dir, "entries.dat", O_RDWR | O_CREAT, &l->fd_dat)) != 0 ||
	    (rc = open_file(dir, "entries.idx", O_RDWR | O_CREAT, &l->fd_idx)) != 0 ||
	    (rc = open_file(dir, "checkpoints", O_RDWR | O_CREAT, &l->fd_cp)) != 0 ||
	    (rc = open_file(dir, "journal", O_RDWR | O_CREAT, &l->fd_jr)) != 0) {
		lg_log_close(l);
		return pv_diag_set(d, rc, -1, "%s: cannot open the ledger's files", dir);
	}
	/* Recovery: everything is cut back to what HEAD committed. */
	uint64_t N = l->committed;
	struct stat st;
	if (fstat(l->fd_idx, &st) != 0 || (uint64_t)st.st_size < N * 8) {
		lg_log_close(l);
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: entries.idx is shorter than the committed size %llu", dir,
		    (unsigned long long)N);
	}
	l->dat_committed = 0;
	if (N > 0) {
		uint8_t b[8], lb[4];
		if (pv_pread_all(l->fd_idx, b, 8, (N - 1) * 8) != 0 || pv_pread_all(l->fd_dat, lb, 4, be64(b)) != 0) {
			lg_log_close(l);
			return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the last committed entry is missing", dir);
		}
		l->dat_committed = be64(b) + 4 + be32(lb);
	}
	if (ftruncate(l->fd_idx, (off_t)(N * 8)) != 0 || ftruncate(l->fd_dat, (off_t)l->dat_committed) != 0 ||
	    fstat(l->fd_dat, &st) != 0 || (uint64_t)st.st_size != l->dat_committed) {
		lg_log_close(l);
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: entries.dat is shorter than its index", dir);
	}
	l->dat_end = l->dat_committed;
	for (int k = 0; k < LG_MAX_PROOF && (N >> k) > 0; k++) {
		uint64_t cnt = N >> k;
		int fd = level_fd(l, k);
		if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < cnt * LG_HASH || ftruncate(fd, (off_t)(cnt * LG_HASH)) != 0) {
			lg_log_close(l);
			return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: tree.%d is shorter than the committed size", dir, k);
		}
		/* Nothing is read now: the tree reads what a proof or an append needs (tree_fetch). */
		l->t.count[k] = l->t.base[k] = cnt;
		l->lvl_written[k] = cnt;
	}
	l->t.size = N;
	/* checkpoints: drop a partial record left by a crash. HEAD (version 2) says where the
	 * committed ones end and where the last begins; whole records after that (a checkpoint
	 * signed by 'ledger checkpoint' since) are read, a version 1 HEAD reads them all. */
	{
		uint64_t pos = 0, len, last = UINT64_MAX;
		uint8_t lb[4];
		if (fstat(l->fd_cp, &st) != 0) {
			lg_log_close(l);
			return PV_EIO;
		}
		len = (uint64_t)st.st_size;
		if (head_cp_len != UINT64_MAX) {
			if (head_cp_len > len || (head_cp_last != UINT64_MAX && (pv_pread_all(l->fd_cp, lb, 4, head_cp_last) != 0 ||
			    head_cp_last + 4 + be32(lb) != head_cp_len))) {
				lg_log_close(l);
				return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the checkpoints file is not the one HEAD committed "
				    "(cut or rewritten); see 'pacsvault ledger verify'", dir);
			}
			pos = head_cp_len;
			last = head_cp_last;
		}
		/* A whole record stays unless it is of a size HEAD never committed (signed with the
		 * batch it covers, whose commit a crash stopped before HEAD). */
		while (pos + 4 <= len && pv_pread_all(l->fd_cp, lb, 4, pos) == 0 && pos + 4 + be32(lb) <= len &&
		    be32(lb) <= 65536) {
			char cpb[96];
			uint64_t csz;
			size_t k = be32(lb) < sizeof(cpb) - 1 ? be32(lb) : sizeof(cpb) - 1;
			if (pv_pread_all(l->fd_cp, cpb, k, pos + 4) != 0)
				break;
			cpb[k] = '\0';
			if (note_size(cpb, &csz) == 0 && csz > N)
				break;
			last = pos;
			pos += 4 + be32(lb);
		}
		if (pos != len && ftruncate(l->fd_cp, (off_t)pos) != 0) {
			lg_log_close(l);
			return PV_EIO;
		}
		l->cp_len = pos;
		l->cp_last = last;
	}
	/* Then the journal's committed records, settled at once: after open the journal is empty. */
	{
		uint64_t replayed;
		if ((rc = jr_replay(l, &replayed, d)) != 0 || (l->jr_len > 0 && (rc = lg_log_settle(l, d)) != 0)) {
			lg_log_close(l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

uint64_t
lg_log_size(const struct lg_log *l)
{
	return l->t.size;
}

struct lg_tree *
lg_log_tree(struct lg_log *l)
{
	return &l->t;
}

const char *
lg_log_origin(const struct lg_log *l)
{
	return l->origin;
}

int
lg_log_append(struct lg_log *l, const void *entry, size_t n, uint64_t *index, struct pv_diag *d)
{
	uint8_t hdr[8], leaf[LG_HASH];
	int rc;

	if (n > LG_ENTRY_MAX)
		return pv_diag_set(d, PV_ELIMIT, -1, "an entry is over %u bytes", LG_ENTRY_MAX);
	if (l->sealed && !l->has_seed)
		return pv_diag_set(d, PV_EAUTH, -1, "%s: this ledger signs every commit with a key its vault keeps "
		    "sealed: append through the vault (its master key)", l->dir);
	for (int i = 0; i < 8; i++)
		hdr[i] = (uint8_t)(l->dat_end >> (56 - 8 * i));
	if ((rc = pv_buf_append(&l->pend_idx, hdr, 8)) != 0)
		return rc;
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	if ((rc = pv_buf_append(&l->pend_dat, hdr, 4)) != 0 || (rc = pv_buf_append(&l->pend_dat, entry, n)) != 0)
		return rc;
	if ((rc = lg_leaf_hash(l->t.h, entry, n, leaf)) != 0 || (rc = lg_tree_append(&l->t, leaf)) != 0)
		return rc;
	l->dat_end += 4 + n;
	*index = l->t.size - 1;
	return 0;
}

/* Signs a checkpoint of the first size entries; its record (u32 length, note) is appended to rec. */
static int
sign_record(struct lg_log *l, uint64_t size, struct pv_buf *rec, struct pv_diag *d)
{
	struct lg_checkpoint c;
	struct pv_buf body, note;
	uint8_t lb[4];
	int rc;

	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", l->origin);
	c.size = size;
	if ((rc = lg_tree_root(&l->t, size, c.root)) != 0)
		return pv_diag_set(d, rc, -1, "cannot compute the tree's root");
	pv_buf_init(&body, 4096);
	pv_buf_init(&note, 65536);
	if ((rc = lg_checkpoint_format(&c, &body)) == 0)
		rc = lg_note_sign(body.data, body.len, l->origin, l->seed, &note);
	if (rc != 0) {
		rc = pv_diag_set(d, rc, -1, "cannot sign a checkpoint");
	} else {
		put32(lb, (uint32_t)note.len);
		if ((rc = pv_buf_append(rec, lb, 4)) == 0)
			rc = pv_buf_append(rec, note.data, note.len);
	}
	pv_buf_free(&body);
	pv_buf_free(&note);
	return rc;
}

int
lg_log_has_seed(const struct lg_log *l)
{
	return l->has_seed;
}

int
lg_log_sealed(const struct lg_log *l)
{
	return l->sealed;
}

int
lg_log_seed(const struct lg_log *l, uint8_t seed[32])
{
	if (!l->has_seed)
		return PV_ENOTFOUND;
	memcpy(seed, l->seed, 32);
	return 0;
}

/* The verifier of the log's own key. */
static int
own_verifier(const struct lg_log *l, struct lg_verifier *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", l->origin);
	memcpy(v->pub, l->pub, 32);
	v->type = LG_SIG_ED25519;
	return lg_key_id(v->name, v->pub, &v->key_id);
}

int
lg_log_set_seed(struct lg_log *l, const uint8_t seed[32], struct pv_diag *d)
{
	uint8_t pub[32], root[LG_HASH];
	struct lg_verifier v;
	struct lg_checkpoint c;
	struct pv_buf last;
	int rc;

	if (pv_ed25519_public(seed, pub) != 0)
		return pv_diag_set(d, PV_EINTERNAL, -1, "Ed25519 unavailable");
	if (memcmp(pub, l->pub, 32) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's verifier key (vkey) is not its owner's "
		    "signing key: the key file was replaced", l->dir);
	/* Never sign over what no signature covered: entries a writer without the key added. */
	if (own_verifier(l, &v) != 0)
		return PV_EINTERNAL;
	pv_buf_init(&last, 65536);
	rc = lg_log_last_checkpoint(l, &last, d);
	if (rc == 0 && last.len == 0 && l->committed != 0)
		rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's %llu entries are covered by no signed "
		    "checkpoint (checkpoints were removed): not signing over them; see 'pacsvault ledger verify'",
		    l->dir, (unsigned long long)l->committed);
	else if (rc == 0 && last.len > 0) {
		struct pv_diag cd;

		pv_diag_clear(&cd);
		if (open_checkpoint((const uint8_t *)last.data, last.len, &v, l->origin, &c, &cd) != 0)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the last checkpoint does not verify: %s", l->dir, cd.msg);
		else if (c.size != l->committed)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the last signed checkpoint covers %llu of the "
			    "ledger's %llu entries (entries added without the key, or checkpoints removed): not "
			    "signing over them; see 'pacsvault ledger verify'", l->dir, (unsigned long long)c.size,
			    (unsigned long long)l->committed);
		else if (lg_tree_root(&l->t, c.size, root) != 0 || memcmp(root, c.root, LG_HASH) != 0)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's entries are not the ones its last "
			    "checkpoint signed (rewritten): see 'pacsvault ledger verify'", l->dir);
	}
	pv_buf_free(&last);
	if (rc != 0)
		return rc;
	memcpy(l->seed, seed, 32);
	l->has_seed = 1;
	return 0;
}

int
lg_log_check_extends(struct lg_log *l, const uint8_t *note, size_t n, struct pv_diag *d)
{
	struct lg_verifier v;
	struct lg_checkpoint c;
	struct pv_diag cd;
	uint8_t root[LG_HASH];

	if (own_verifier(l, &v) != 0)
		return PV_EINTERNAL;
	pv_diag_clear(&cd);
	if (open_checkpoint(note, n, &v, l->origin, &c, &cd) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the last checkpoint copied outside does not verify with "
		    "the ledger's key: %s", l->dir, cd.msg);
	if (c.size > l->committed)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger has %llu entries, the last checkpoint copied "
		    "outside covers %llu: its tail was cut; not signing; see 'pacsvault ledger verify'", l->dir,
		    (unsigned long long)l->committed, (unsigned long long)c.size);
	if (lg_tree_root(&l->t, c.size, root) != 0 || memcmp(root, c.root, LG_HASH) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "%s: the ledger's first %llu entries are not the ones the last "
		    "checkpoint copied outside signed (rewritten); not signing; see 'pacsvault ledger verify'", l->dir,
		    (unsigned long long)c.size);
	return 0;
}

int
lg_log_forget_key(struct lg_log *l, struct pv_diag *d)
{
	struct pv_buf note, vk;
	char p[4096];
	int rc, fd;

	if (l->sealed)
		return 0;
	/* The verifier key beside the log, then a checkpoint of everything so far signed while
	 * the key is still held, then the clear key overwritten, synced and unlinked. */
	pv_buf_init(&vk, 4096);
	if ((rc = lg_vkey_format(l->origin, l->pub, &vk)) == 0)
		rc = write_atomic(l->dir, "vkey", vk.data, vk.len, 0644, d);
	pv_buf_free(&vk);
	if (rc != 0)
		return rc;
	pv_buf_init(&note, 65536);
	rc = l->committed > 0 ? lg_log_checkpoint(l, &note, d) : 0;
	pv_buf_free(&note);
	if (rc != 0)
		return rc;
	if (joinpath(p, sizeof(p), l->dir, "key") != 0)
		return PV_ELIMIT;
	if ((fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		uint8_t zero[32] = { 0 };
		if (pv_pwrite_all(fd, zero, sizeof(zero), 0) != 0 || fsync(fd) != 0) {
			close(fd);
			return pv_diag_set(d, PV_EIO, -1, "%s: cannot overwrite the ledger's clear key", l->dir);
		}
		close(fd);
	}
	if (unlink(p) != 0 && errno != ENOENT)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot remove the ledger's clear key: %s", l->dir, strerror(errno));
	{
		int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) != 0) {
			if (dfd >= 0)
				close(dfd);
			return pv_diag_set(d, PV_EIO, -1, "%s: cannot sync the ledger folder", l->dir);
		}
		close(dfd);
	}
	l->sealed = 1;
	return 0;
}

/* HEAD, replaced atomically (temporary, fsync, rename, directory fsync): the commit record. */
static int
write_head(struct lg_log *l, struct pv_diag *d)
{
	char head[128];
	int n = format_head(head, sizeof(head), l->committed, l->cp_len, l->cp_last);

	return write_atomic(l->dir, "HEAD", head, (size_t)n, 0644, d);
}

/* Syncs every file of the log once: each write started first, so their I/O overlaps. */
static int
sync_files(struct lg_log *l, struct pv_diag *d)
{
	int fds[LG_MAX_PROOF + 3], which[LG_MAX_PROOF + 3], nfd = 0;

	for (int i = 0; i < 3 + LG_MAX_PROOF; i++) {
		int fd = i == 0 ? l->fd_dat : i == 1 ? l->fd_idx : i == 2 ? l->fd_cp : l->fd_lvl[i - 3];
		if (l->dirty[i] && fd >= 0) {
			which[nfd] = i;
			fds[nfd++] = fd;
		}
	}
	for (int i = 0; i < nfd; i++)
		(void)sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);  /* a hint: fdatasync decides */
	for (int i = 0; i < nfd; i++)
		if (fdatasync(fds[i]) != 0)
			return pv_diag_set(d, PV_EIO, -1, "cannot sync the ledger's %s", which[i] < 2 ? "entries" :
			    which[i] == 2 ? "checkpoints" : "tree");
	memset(l->dirty, 0, sizeof(l->dirty));
	return 0;
}

int
lg_log_settle(struct lg_log *l, struct pv_diag *d)
{
	int rc;

	if (l->jr_len == 0)
		return 0;
	/* the files, then HEAD, then the journal emptied: a crash in between replays
	 * records HEAD already covers, which open skips */
	if ((rc = sync_files(l, d)) != 0 || (rc = write_head(l, d)) != 0)
		return rc;
	/* (not synced: records a crash brings back are all under HEAD, and skipped) */
	if (ftruncate(l->fd_jr, 0) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot empty the ledger's journal", l->dir);
	l->jr_len = 0;
	return 0;
}

void
lg_log_hold(struct lg_log *l, int on)
{
	l->hold = on;
}

int
lg_log_contended(struct lg_log *l)
{
	if (l->fd_wait < 0 && open_file(l->dir, "wait", O_RDWR | O_CREAT, &l->fd_wait) != 0)
		return 0;
	if (flock(l->fd_wait, LOCK_EX | LOCK_NB) != 0)
		return 1;   /* a waiter holds it shared (lock_log) */
	(void)flock(l->fd_wait, LOCK_UN);
	return 0;
}

/* One section of a journal record: file number, length, offset, bytes. */
static int
jr_put(struct pv_buf *rec, uint32_t f, const void *p, size_t n, uint64_t off)
{
	uint8_t h[16];
	int rc;

	put32(h, f);
	put32(h + 4, (uint32_t)n);
	put64(h + 8, off);
	if ((rc = pv_buf_append(rec, h, 16)) != 0)
		return rc;
	return pv_buf_append(rec, p, n);
}

int
lg_log_commit(struct lg_log *l, struct pv_diag *d)
{
	struct pv_buf cp, rec;
	int rc = 0;

	if (l->t.size == l->committed)
		return 0;
	/* A log whose seed is kept sealed signs a checkpoint of every batch, written with it:
	 * no committed entry is ever outside a signed checkpoint (open drops a checkpoint of
	 * a size HEAD never reached). */
	pv_buf_init(&cp, 65536 + 4);
	if (l->sealed && l->has_seed && (rc = sign_record(l, l->t.size, &cp, d)) != 0) {
		pv_buf_free(&cp);
		return rc;
	}
	uint64_t cp_last = cp.len > 0 ? l->cp_len : l->cp_last, cp_after = l->cp_len + cp.len;
	if (l->hold) {
		/* One record in the journal, one fdatasync: the commit. The files are written after
		 * it and synced when the journal is settled (lg_log_settle). */
		uint8_t h[JR_HDR], c4[4];

		pv_buf_init(&rec, (size_t)JR_BODY_MAX);
		memset(h, 0, sizeof(h));
		memcpy(h, JR_MAGIC, 4);
		put32(h + 4, JR_VERSION);
		put64(h + 8, l->committed);
		put64(h + 16, l->t.size);
		put64(h + 24, cp_after);
		put64(h + 32, cp_last);
		rc = pv_buf_append(&rec, h, JR_HDR);
		if (rc == 0)
			rc = jr_put(&rec, F_DAT, l->pend_dat.data, l->pend_dat.len, l->dat_committed);
		if (rc == 0)
			rc = jr_put(&rec, F_IDX, l->pend_idx.data, l->pend_idx.len, l->committed * 8);
		for (int k = 0; rc == 0 && k < LG_MAX_PROOF && l->t.count[k] > 0; k++)
			if (l->t.count[k] != l->lvl_written[k])
				rc = jr_put(&rec, F_LVL + (uint32_t)k, l->t.level[k] + (l->lvl_written[k] - l->t.base[k]) * LG_HASH,
				    (size_t)(l->t.count[k] - l->lvl_written[k]) * LG_HASH, l->lvl_written[k] * LG_HASH);
		if (rc == 0 && cp.len > 0)
			rc = jr_put(&rec, F_CP, cp.data, cp.len, l->cp_len);
		if (rc == 0 && rec.len - JR_HDR > JR_BODY_MAX)
			rc = PV_ELIMIT;
		if (rc == 0) {
			put32((uint8_t *)rec.data + 40, 0);
			put32((uint8_t *)rec.data + 44, (uint32_t)(rec.len - JR_HDR));
			put32(c4, (uint32_t)crc32(0L, (const Bytef *)rec.data, (uInt)rec.len));
			rc = pv_buf_append(&rec, c4, 4);
		}
		if (rc != 0)
			rc = pv_diag_set(d, rc, -1, "cannot build the ledger's journal record");
		else if (pv_pwrite_all(l->fd_jr, rec.data, rec.len, l->jr_len) != 0 || fdatasync(l->fd_jr) != 0)
			rc = pv_diag_set(d, PV_EIO, -1, "cannot write the ledger's journal");
		else {
			uint64_t dat_end;
			l->jr_len += rec.len;
			/* the files now, from the record itself (the replay's own path) */
			if (jr_sections(l, (const uint8_t *)rec.data + JR_HDR, rec.len - JR_HDR - 4, l->t.size, cp_after, 1, &dat_end) != 0)
				rc = pv_diag_set(d, PV_EIO, -1, "cannot write the ledger's files (the batch is in its journal)");
			else
				advance(l, l->t.size, dat_end, cp_after, cp_last);
		}
		pv_buf_free(&rec);
		pv_buf_free(&cp);
		if (rc != 0)
			return rc;
		lg_tree_spill(&l->t);
		pv_buf_reset(&l->pend_dat);
		pv_buf_reset(&l->pend_idx);
		return l->jr_len >= JR_SETTLE ? lg_log_settle(l, d) : 0;
	}
	/* Direct: the data first, each file synced once ... */
	l->dirty[0] = l->dirty[1] = 1;
	if (pv_pwrite_all(l->fd_dat, l->pend_dat.data, l->pend_dat.len, l->dat_committed) != 0 ||
	    pv_pwrite_all(l->fd_idx, l->pend_idx.data, l->pend_idx.len, l->committed * 8) != 0)
		rc = pv_diag_set(d, PV_EIO, -1, "cannot write the ledger's entries");
	for (int k = 0; rc == 0 && k < LG_MAX_PROOF && l->t.count[k] > 0; k++) {
		if (l->t.count[k] == l->lvl_written[k])
			continue;
		int fd = level_fd(l, k);
		l->dirty[3 + k] = 1;
		if (fd < 0 || pv_pwrite_all(fd, l->t.level[k] + (l->lvl_written[k] - l->t.base[k]) * LG_HASH,
		    (size_t)(l->t.count[k] - l->lvl_written[k]) * LG_HASH, l->lvl_written[k] * LG_HASH) != 0)
			rc = pv_diag_set(d, PV_EIO, -1, "cannot write the ledger's tree");
	}
	l->dirty[2] = cp.len > 0;
	if (rc == 0 && cp.len > 0 && pv_pwrite_all(l->fd_cp, cp.data, cp.len, l->cp_len) != 0)
		rc = pv_diag_set(d, PV_EIO, -1, "cannot store the checkpoint");
	pv_buf_free(&cp);
	if (rc != 0 || (rc = sync_files(l, d)) != 0)
		return rc;
	for (int k = 0; k < LG_MAX_PROOF && l->t.count[k] > 0; k++)
		l->lvl_written[k] = l->t.count[k];
	/* ... then the commit record */
	uint64_t was = l->committed, was_cp = l->cp_len, was_last = l->cp_last;
	l->committed = l->t.size;
	l->cp_len = cp_after;
	l->cp_last = cp_last;
	if ((rc = write_head(l, d)) != 0) {
		l->committed = was;
		l->cp_len = was_cp;
		l->cp_last = was_last;
		return rc;
	}
	l->dat_committed = l->dat_end;
	/* Everything is in the level files now: memory stays at one batch. */
	lg_tree_spill(&l->t);
	pv_buf_reset(&l->pend_dat);
	pv_buf_reset(&l->pend_idx);
	return 0;
}

int
lg_log_entry(struct lg_log *l, uint64_t i, struct pv_buf *out, struct pv_diag *d)
{
	uint8_t b[8], lb[4];
	if (i >= l->committed)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "no committed entry %llu", (unsigned long long)i);
	if (pv_pread_all(l->fd_idx, b, 8, i * 8) != 0 || pv_pread_all(l->fd_dat, lb, 4, be64(b)) != 0 ||
	    be32(lb) > LG_ENTRY_MAX)
		return pv_diag_set(d, PV_EIO, -1, "entry %llu cannot be read", (unsigned long long)i);
	size_t at = out->len;
	if (pv_buf_fill(out, 0, be32(lb)) != 0)
		return PV_ENOMEM;
	if (pv_pread_all(l->fd_dat, out->data + at, be32(lb), be64(b) + 4) != 0)
		return pv_diag_set(d, PV_EIO, -1, "entry %llu cannot be read", (unsigned long long)i);
	return 0;
}

int
lg_log_vkey(struct lg_log *l, struct pv_buf *out)
{
	return lg_vkey_format(l->origin, l->pub, out);
}

int
lg_log_last_checkpoint(struct lg_log *l, struct pv_buf *out, struct pv_diag *d)
{
	uint64_t last = l->cp_last;
	uint8_t lb[4];

	if (last == UINT64_MAX)
		return 0;
	if (pv_pread_all(l->fd_cp, lb, 4, last) != 0 || be32(lb) > 65536 || last + 4 + be32(lb) > l->cp_len)
		return pv_diag_set(d, PV_EIO, -1, "the last checkpoint cannot be read");
	size_t at = out->len;
	if (pv_buf_fill(out, 0, be32(lb)) != 0)
		return PV_ENOMEM;
	if (pv_pread_all(l->fd_cp, out->data + at, be32(lb), last + 4) != 0)
		return pv_diag_set(d, PV_EIO, -1, "the last checkpoint cannot be read");
	return 0;
}

int
lg_log_checkpoint_upto(struct lg_log *l, uint64_t max, struct pv_buf *out, uint64_t *size, struct pv_diag *d)
{
	uint64_t pos = 0, best = UINT64_MAX, best_size = 0;
	uint8_t lb[4];
	char head[96];

	*size = 0;
	while (pos + 4 <= l->cp_len && pv_pread_all(l->fd_cp, lb, 4, pos) == 0) {
		size_t k = be32(lb) < sizeof(head) - 1 ? be32(lb) : sizeof(head) - 1;
		uint64_t csz;

		if (pv_pread_all(l->fd_cp, head, k, pos + 4) != 0)
			break;
		head[k] = '\0';
		if (note_size(head, &csz) == 0 && csz <= max && (best == UINT64_MAX || csz >= best_size)) {
			best = pos;
			best_size = csz;
		}
		pos += 4 + be32(lb);
	}
	if (best == UINT64_MAX)
		return 0;
	if (pv_pread_all(l->fd_cp, lb, 4, best) != 0 || be32(lb) > 65536)
		return pv_diag_set(d, PV_EIO, -1, "a checkpoint cannot be read");
	size_t at = out->len;
	if (pv_buf_fill(out, 0, be32(lb)) != 0)
		return PV_ENOMEM;
	if (pv_pread_all(l->fd_cp, out->data + at, be32(lb), best + 4) != 0)
		return pv_diag_set(d, PV_EIO, -1, "a checkpoint cannot be read");
	*size = best_size;
	return 0;
}

/* Opens a checkpoint note with the log's key and parses its body. */
static int
open_checkpoint(const uint8_t *note, size_t n, const struct lg_verifier *v, const char *origin, struct lg_checkpoint *c,
    struct pv_diag *d)
{
	size_t tl;
	int verified;
	int rc = lg_note_open(note, n, v, 1, &tl, &verified, d);
	if (rc != 0)
		return rc;
	if ((rc = lg_checkpoint_parse((const char *)note, tl, c, d)) != 0)
		return rc;
	if (strcmp(c->origin, origin) != 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "its origin is not this log's");
	return 0;
}

int
lg_log_checkpoint(struct lg_log *l, struct pv_buf *out, struct pv_diag *d)
{
	struct lg_checkpoint c, prev;
	struct lg_verifier v;
	struct pv_buf body, note, last;
	uint8_t lb[4];
	int rc;

	if (!l->has_seed)
		return pv_diag_set(d, PV_EAUTH, -1, "%s: this ledger's signing key is kept sealed by its vault, "
		    "whose commands sign a checkpoint with every commit", l->dir);
	if ((rc = lg_log_settle(l, d)) != 0)   /* its record goes after what HEAD committed */
		return rc;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", l->origin);
	c.size = l->committed;
	if ((rc = lg_tree_root(&l->t, c.size, c.root)) != 0)
		return rc;
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", l->origin);
	memcpy(v.pub, l->pub, 32);
	if ((rc = lg_key_id(v.name, v.pub, &v.key_id)) != 0)
		return rc;
	pv_buf_init(&body, 4096);
	pv_buf_init(&note, 65536);
	pv_buf_init(&last, 65536);
	/* the previous checkpoint must be consistent with this one */
	if ((rc = lg_log_last_checkpoint(l, &last, d)) == 0 && last.len > 0) {
		if ((rc = open_checkpoint((const uint8_t *)last.data, last.len, &v, l->origin, &prev, d)) != 0) {
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "the last checkpoint does not open: %s", d->msg);
		} else {
			uint8_t r[LG_HASH], proof[LG_MAX_PROOF][LG_HASH];
			size_t len;
			if (prev.size > c.size || lg_tree_root(&l->t, prev.size, r) != 0 || memcmp(r, prev.root, LG_HASH) != 0)
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "the last checkpoint (size %llu) is not a prefix of this log",
				    (unsigned long long)prev.size);
			else if (prev.size > 0 && prev.size < c.size &&
			    (lg_tree_consistency(&l->t, prev.size, c.size, proof, &len) != 0 ||
			    lg_verify_consistency(l->t.h, prev.size, c.size, prev.root, c.root, (const uint8_t (*)[LG_HASH])proof, len) != 0))
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "no consistency proof from the last checkpoint");
		}
	}
	if (rc == 0 && (rc = lg_checkpoint_format(&c, &body)) == 0)
		rc = lg_note_sign(body.data, body.len, l->origin, l->seed, &note);
	if (rc == 0) {
		lb[0] = (uint8_t)(note.len >> 24);
		lb[1] = (uint8_t)(note.len >> 16);
		lb[2] = (uint8_t)(note.len >> 8);
		lb[3] = (uint8_t)note.len;
		if (pv_pwrite_all(l->fd_cp, lb, 4, l->cp_len) != 0 ||
		    pv_pwrite_all(l->fd_cp, note.data, note.len, l->cp_len + 4) != 0 || fdatasync(l->fd_cp) != 0)
			rc = pv_diag_set(d, PV_EIO, -1, "cannot store the checkpoint");
		else {
			l->cp_last = l->cp_len;
			l->cp_len += 4 + note.len;
		}
	}
	if (rc == 0)
		rc = pv_buf_append(out, note.data, note.len);
	pv_buf_free(&body);
	pv_buf_free(&note);
	pv_buf_free(&last);
	return rc;
}

/* A sequential reader in 1 MiB reads (verify walks both entry files in order). */
#define SEQ_BUF ((size_t)1 << 20)
struct seqr {
	int fd;
	uint8_t *buf;
	size_t pos, len;
	uint64_t off;
};

static int
seq_read(struct seqr *r, void *p, size_t n)
{
	uint8_t *o = p;
	while (n > 0) {
		if (r->pos == r->len) {
			ssize_t got;
			if (r->fd < 0)
				return PV_ETRUNC;
			do
				got = pread(r->fd, r->buf, SEQ_BUF, (off_t)r->off);
			while (got < 0 && errno == EINTR);
			if (got <= 0)
				return PV_ETRUNC;
			r->off += (uint64_t)got;
			r->pos = 0;
			r->len = (size_t)got;
		}
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(o, r->buf + r->pos, k);
		r->pos += k;
		o += k;
		n -= k;
	}
	return 0;
}

int
lg_log_verify(const char *dir, uint64_t *entries, uint64_t *checkpoints, struct pv_diag *d)
{
	return lg_log_verify_key(dir, NULL, entries, checkpoints, d);
}

int
lg_log_verify_key(const char *dir, const struct lg_verifier *vk, uint64_t *entries, uint64_t *checkpoints,
    struct pv_diag *d)
{
	struct lg_verify_opts o;
	struct lg_verify_result r;
	int rc;

	memset(&o, 0, sizeof(o));
	o.vk = vk;
	rc = lg_log_verify_ex(dir, &o, &r, d);
	*entries = r.entries;
	*checkpoints = r.checkpoints;
	return rc;
}

/*
 * Splits a file of one or more signed notes (each: text, a blank line, signature lines
 * that begin with U+2014) into notes: *len gets the length of the one at p.
 */
static int
next_note(const uint8_t *p, size_t n, size_t *len)
{
	size_t i = 0, sigs = 0;
	int in_sigs = 0;

	while (i < n) {
		const uint8_t *eol = memchr(p + i, '\n', n - i);
		size_t ll = eol != NULL ? (size_t)(eol - (p + i)) : n - i;
		int is_sig = ll >= 4 && memcmp(p + i, "\xe2\x80\x94 ", 4) == 0;

		if (in_sigs && !is_sig)
			break;
		if (!in_sigs && ll == 0 && i > 0)
			in_sigs = 1;
		else if (in_sigs)
			sigs++;
		i += ll + (eol != NULL);
	}
	if (sigs == 0)
		return PV_EPARSE;
	*len = i;
	return 0;
}

int
lg_log_verify_ex(const char *dir, const struct lg_verify_opts *o, struct lg_verify_result *res, struct pv_diag *d)
{
	char buf[512], origin[LG_NAME_MAX];
	size_t n;
	uint64_t N, vcp_len, vcp_last;
	uint8_t seed[32];
	struct lg_verifier v;
	struct lg_tree t;
	int fd_dat = -1, fd_idx = -1, fd_cp = -1, rc = 0, has_seed = 0;
	struct pv_buf e;
	uint64_t prev_end = 0, last_cp = 0;
	struct lg_checkpoint *anchor = NULL;
	size_t nanchor = 0;
	uint8_t *anchor_seen = NULL;
	uint64_t *entries, *checkpoints;

	int fd_lock = -1;

	memset(res, 0, sizeof(*res));
	entries = &res->entries;
	checkpoints = &res->checkpoints;
	/* Batches committed to the journal by a writer that stopped without settling them (a
	 * crash) are settled into the files first: opening the log does it. */
	{
		char jp[4096];
		struct stat jst;
		if (joinpath(jp, sizeof(jp), dir, "journal") == 0 && stat(jp, &jst) == 0 && jst.st_size > 0) {
			struct lg_log *jl;
			if ((rc = lg_log_open_wait(dir, o->wait_ms, &jl, d)) != 0)
				return rc;   /* (its message names what stopped it) */
			lg_log_close(jl);
		}
	}
	if (read_small(dir, "HEAD", buf, sizeof(buf), &n) != 0 || parse_head(buf, &N, &vcp_len, &vcp_last) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "not a ledger (no readable HEAD)");
	/* a shared lock: nobody appends or signs while the files are read */
	if ((rc = lock_log(dir, LOCK_SH, o->wait_ms, &fd_lock, d)) != 0)
		return rc;
	if (read_small(dir, "HEAD", buf, sizeof(buf), &n) != 0 || parse_head(buf, &N, &vcp_len, &vcp_last) != 0) {
		close(fd_lock);
		return pv_diag_set(d, PV_EPARSE, -1, "not a ledger (no readable HEAD)");
	}
	if (read_small(dir, "origin", origin, sizeof(origin), &n) != 0 || !lg_name_valid(origin, n)) {
		close(fd_lock);
		return pv_diag_set(d, PV_EPARSE, -1, "the ledger's origin is missing");
	}
	if (o->vk != NULL) {
		/* an auditor's copy: the verifier key given, the signing seed neither needed nor read */
		if (strcmp(o->vk->name, origin) != 0) {
			close(fd_lock);
			return pv_diag_set(d, PV_EAUTH, -1, "the verifier key is for '%.200s', not this log ('%.200s')",
			    o->vk->name, origin);
		}
		v = *o->vk;
		res->key_source = LG_KEY_GIVEN;
	} else {
		memset(&v, 0, sizeof(v));
		snprintf(v.name, sizeof(v.name), "%s", origin);
		v.type = LG_SIG_ED25519;
		if ((rc = read_key_files(dir, origin, seed, v.pub, &has_seed, d)) != 0 ||
		    (rc = lg_key_id(v.name, v.pub, &v.key_id)) != 0) {
			pv_cleanse(seed, sizeof(seed));
			close(fd_lock);
			return rc != 0 ? rc : PV_EPARSE;
		}
		pv_cleanse(seed, sizeof(seed));
		res->key_source = has_seed ? LG_KEY_FILE : LG_KEY_VKEY_FILE;
	}
	/* A log without its key file is one whose owner signs every commit: every entry must be
	 * covered by a checkpoint. (A copy of it stays so: the key file never comes back.) */
	{
		char kp[4096];
		struct stat kst;
		res->sealed = joinpath(kp, sizeof(kp), dir, "key") == 0 && lstat(kp, &kst) != 0;
	}
	/* Checkpoints held outside: each must open with the key. */
	for (size_t off = 0; o->anchors != NULL && off < o->anchors_len && rc == 0;) {
		size_t len;
		struct pv_diag cd;
		void *np;

		while (off < o->anchors_len && (o->anchors[off] == '\n' || o->anchors[off] == '\r'))
			off++;
		if (off == o->anchors_len)
			break;
		if (next_note(o->anchors + off, o->anchors_len - off, &len) != 0) {
			rc = pv_diag_set(d, PV_EPARSE, -1, "checkpoint %zu held outside is not a signed note", nanchor + 1);
			break;
		}
		if ((np = realloc(anchor, (nanchor + 1) * sizeof(*anchor))) == NULL) {
			rc = PV_ENOMEM;
			break;
		}
		anchor = np;
		pv_diag_clear(&cd);
		if (open_checkpoint(o->anchors + off, len, &v, origin, &anchor[nanchor], &cd) != 0) {
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %zu held outside does not verify with %s: %s "
			    "(the log's key was replaced, or it is another log's checkpoint)", nanchor + 1,
			    res->key_source == LG_KEY_GIVEN ? "the verifier key given" : "the log's own key", cd.msg);
			break;
		}
		nanchor++;
		off += len;
	}
	if (rc == 0 && nanchor > 0 && (anchor_seen = calloc(nanchor, 1)) == NULL)
		rc = PV_ENOMEM;
	if (rc != 0) {
		free(anchor);
		close(fd_lock);
		return rc;
	}
	if (lg_tree_init(&t) != 0) {
		close(fd_lock);
		return PV_ENOMEM;
	}
	pv_buf_init(&e, LG_ENTRY_MAX + 16);
	if (open_file(dir, "entries.dat", O_RDONLY, &fd_dat) != 0 || open_file(dir, "entries.idx", O_RDONLY, &fd_idx) != 0) {
		if (N > 0)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "the entry files are missing");
	}
	/* every entry: where the index says, right after the previous one (both files read in order) */
	{
		struct seqr ri = { fd_idx, NULL, 0, 0, 0 }, rd = { fd_dat, NULL, 0, 0, 0 };
		if ((ri.buf = malloc(SEQ_BUF)) == NULL || (rd.buf = malloc(SEQ_BUF)) == NULL)
			rc = PV_ENOMEM;
		for (uint64_t i = 0; i < N && rc == 0; i++) {
			uint8_t b[8], lb[4], leaf[LG_HASH];
			if (seq_read(&ri, b, 8) != 0) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "entry %llu: missing from the index (entries were deleted)",
				    (unsigned long long)i);
				break;
			}
			if (be64(b) != prev_end) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "entry %llu: the index does not follow the entries",
				    (unsigned long long)i);
				break;
			}
			if (seq_read(&rd, lb, 4) != 0 || be32(lb) > LG_ENTRY_MAX) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "entry %llu: missing or cut (entries were deleted)",
				    (unsigned long long)i);
				break;
			}
			pv_buf_reset(&e);
			if (pv_buf_fill(&e, 0, be32(lb)) != 0 || seq_read(&rd, e.data, be32(lb)) != 0) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "entry %llu: cut short", (unsigned long long)i);
				break;
			}
			prev_end = be64(b) + 4 + be32(lb);
			if (lg_leaf_hash(t.h, e.data, e.len, leaf) != 0 || lg_tree_append(&t, leaf) != 0) {
				rc = PV_ENOMEM;
				break;
			}
			(*entries)++;
		}
		free(ri.buf);
		free(rd.buf);
	}
	/* the stored tree must be the tree of the entries */
	for (int k = 0; k < LG_MAX_PROOF && rc == 0 && (N >> k) > 0; k++) {
		char name[16];
		int fd;
		uint64_t cnt = N >> k;
		uint8_t *h = malloc((size_t)cnt * LG_HASH);
		snprintf(name, sizeof(name), "tree.%d", k);
		if (h == NULL) {
			rc = PV_ENOMEM;
			break;
		}
		if (open_file(dir, name, O_RDONLY, &fd) != 0 || pv_pread_all(fd, h, (size_t)cnt * LG_HASH, 0) != 0) {
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "%s: missing or short", name);
		} else {
			for (uint64_t i = 0; i < cnt; i++)
				if (memcmp(h + i * LG_HASH, t.level[k] + i * LG_HASH, LG_HASH) != 0) {
					rc = pv_diag_set(d, PV_EINTEGRITY, -1,
					    "entry %llu: its hash does not match the stored tree (tree.%d, node %llu)",
					    (unsigned long long)(i << k), k, (unsigned long long)i);
					break;
				}
		}
		if (fd >= 0)
			close(fd);
		free(h);
	}
	/* every checkpoint: signed by the log, of a prefix of this log, consistent with the one before */
	if (rc == 0 && open_file(dir, "checkpoints", O_RDONLY, &fd_cp) == 0) {
		uint64_t pos = 0, k = 0;
		struct lg_checkpoint prev;
		int have_prev = 0;
		struct stat st;
		uint64_t len = fstat(fd_cp, &st) == 0 ? (uint64_t)st.st_size : 0;
		while (rc == 0 && pos + 4 <= len) {
			uint8_t lb[4], root[LG_HASH];
			struct lg_checkpoint c;
			struct pv_diag cd;
			if (pv_pread_all(fd_cp, lb, 4, pos) != 0 || be32(lb) > 65536 || pos + 4 + be32(lb) > len) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: cut short", (unsigned long long)k + 1);
				break;
			}
			pv_buf_reset(&e);
			if (pv_buf_fill(&e, 0, be32(lb)) != 0 || pv_pread_all(fd_cp, e.data, be32(lb), pos + 4) != 0) {
				rc = PV_EIO;
				break;
			}
			pv_diag_clear(&cd);
			if (open_checkpoint((const uint8_t *)e.data, e.len, &v, origin, &c, &cd) != 0) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: %s", (unsigned long long)k + 1, cd.msg);
				break;
			}
			if (c.size > N) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: size %llu is beyond the log's %llu entries (entries were deleted)",
				    (unsigned long long)k + 1, (unsigned long long)c.size, (unsigned long long)N);
				break;
			}
			if (lg_tree_root(&t, c.size, root) != 0 || memcmp(root, c.root, LG_HASH) != 0) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: its root is not the root of the log's first %llu entries",
				    (unsigned long long)k + 1, (unsigned long long)c.size);
				break;
			}
			if (have_prev && prev.size > c.size) {
				rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: smaller than the one before", (unsigned long long)k + 1);
				break;
			}
			if (have_prev && prev.size > 0 && prev.size < c.size) {
				uint8_t proof[LG_MAX_PROOF][LG_HASH];
				size_t plen;
				if (lg_tree_consistency(&t, prev.size, c.size, proof, &plen) != 0 ||
				    lg_verify_consistency(t.h, prev.size, c.size, prev.root, c.root, (const uint8_t (*)[LG_HASH])proof, plen) != 0) {
					rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %llu: not consistent with the one before",
					    (unsigned long long)k + 1);
					break;
				}
			}
			for (size_t a = 0; a < nanchor; a++)
				if (anchor[a].size == c.size && memcmp(anchor[a].root, c.root, LG_HASH) == 0)
					anchor_seen[a] = 1;
			last_cp = c.size;
			prev = c;
			have_prev = 1;
			pos += 4 + be32(lb);
			k++;
			(*checkpoints)++;
		}
	}
	/* Each checkpoint held outside: of a prefix of this log, and still stored in it. */
	for (size_t a = 0; a < nanchor && rc == 0; a++) {
		uint8_t root[LG_HASH];

		if (anchor[a].size > N)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %zu held outside covers %llu entries, the log "
			    "has %llu: its tail was cut", a + 1, (unsigned long long)anchor[a].size, (unsigned long long)N);
		else if (lg_tree_root(&t, anchor[a].size, root) != 0 || memcmp(root, anchor[a].root, LG_HASH) != 0)
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %zu held outside: the log's first %llu entries "
			    "are not the ones it signed (rewritten)", a + 1, (unsigned long long)anchor[a].size);
		else if (!anchor_seen[a])
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "checkpoint %zu held outside (size %llu) is not among the "
			    "log's stored checkpoints: one was dropped", a + 1, (unsigned long long)anchor[a].size);
		else
			res->anchors++;
	}
	if (rc == 0)
		res->uncovered = N - last_cp;
	if (rc == 0 && res->sealed && res->uncovered > 0)
		rc = pv_diag_set(d, PV_EINTEGRITY, -1, "entries %llu to %llu are covered by no signed checkpoint (its "
		    "owner signs every commit: the last checkpoint was dropped, or entries were added without the key)",
		    (unsigned long long)last_cp, (unsigned long long)N - 1);
	if (fd_dat >= 0)
		close(fd_dat);
	if (fd_idx >= 0)
		close(fd_idx);
	if (fd_cp >= 0)
		close(fd_cp);
	close(fd_lock);
	pv_buf_free(&e);
	lg_tree_free(&t);
	free(anchor);
	free(anchor_seen);
	return rc;
}
