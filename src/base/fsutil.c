/* fsutil.c: atomic file writes and careful file I/O. */
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int
pv_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PV_EIO;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pv_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	unsigned char *c = p;
	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return PV_EIO;
		}
		if (r == 0)
			return PV_ETRUNC;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
pv_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PV_EIO;
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
pv_copy_range(int in, uint64_t in_off, int out, uint64_t n)
{
	loff_t off = (loff_t)in_off;
	unsigned char buf[65536];

	while (n > 0) {
		ssize_t r = copy_file_range(in, &off, out, NULL, n, 0);
		if (r > 0) {
			n -= (uint64_t)r;
			continue;
		}
		if (r == 0)
			return PV_ETRUNC;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP && errno != EBADF)
			return PV_EIO;
		break;
	}
	while (n > 0) {
		size_t chunk = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		int rc = pv_pread_all(in, buf, chunk, (uint64_t)off);
		if (rc != 0)
			return rc;
		if ((rc = pv_write_all(out, buf, chunk)) != 0)
			return rc;
		off += (loff_t)chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * Temporary names: a random per-process prefix (one getrandom) and a
 * counter, so a batch of thousands of files does not pay a syscall each;
 * O_EXCL still refuses any collision.
 */
static int
tmp_name_prefix(uint32_t *prefix)
{
	static _Atomic uint32_t cached;
	static _Atomic int ready;
	uint32_t v;

	if (atomic_load(&ready)) {
		*prefix = atomic_load(&cached);
		return 0;
	}
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		return -1;
	atomic_store(&cached, v);
	atomic_store(&ready, 1);
	*prefix = atomic_load(&cached);  /* a racing thread may have set its own: either is fine */
	return 0;
}

static _Atomic int named_only;

void
pv_atomic_named_only(int on)
{
	atomic_store(&named_only, on);
}

/* 1 when an open file can be named through /proc/self/fd (linkat of an O_TMPFILE). */
static int
proc_fd_ok(void)
{
	static _Atomic int state;  /* 0 unknown, 1 yes, 2 no */
	int s = atomic_load(&state);

	if (atomic_load(&named_only))
		return 0;
	if (s == 0) {
		s = access("/proc/self/fd", X_OK) == 0 ? 1 : 2;
		atomic_store(&state, s);
	}
	return s == 1;
}

/*
 * A temporary name beside af->path in af->tmp: a per-process random prefix
 * and a counter (O_EXCL or link() still refuse a collision).
 */
static int
tmp_name(struct pv_atomic *af, struct pv_diag *d)
{
	static _Atomic uint64_t counter;
	size_t n = pv_size_add(strlen(af->path), 48);
	uint32_t prefix;

	if (tmp_name_prefix(&prefix) != 0)
		return pv_diag_set(d, PV_EIO, -1, "no randomness for a temporary name");
	if ((af->tmp = malloc(n)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	snprintf(af->tmp, n, "%s.tmp-%08x-%llx", af->path, (unsigned)prefix,
	    (unsigned long long)atomic_fetch_add(&counter, 1));
	return 0;
}

/*
 * Gives the unnamed temporary of af its final name: linkat() through
 * /proc/self/fd (*fresh = 1: the name is new); when the name exists
 * already, through a named temporary renamed over it (the same
 * replace-or-create as rename()).
 */
static int
name_anon(struct pv_atomic *af, int *fresh, struct pv_diag *d)
{
	char fdpath[64];
	int rc;

	*fresh = 0;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", af->fd);
	if (linkat(AT_FDCWD, fdpath, AT_FDCWD, af->path, AT_SYMLINK_FOLLOW) == 0) {
		*fresh = 1;
		return 0;
	}
	if (errno != EEXIST)
		return pv_diag_set(d, PV_EIO, -1, "cannot name the new file: %s", strerror(errno));
	if (af->noreplace)
		return pv_diag_set(d, PV_EEXIST, -1, "exists; not replaced");
	if ((rc = tmp_name(af, d)) != 0)
		return rc;
	if (linkat(AT_FDCWD, fdpath, AT_FDCWD, af->tmp, AT_SYMLINK_FOLLOW) != 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot name the new file: %s", strerror(errno));
		free(af->tmp);
		af->tmp = NULL;  /* nothing was made under it */
		return rc;
	}
	if (rename(af->tmp, af->path) != 0)
		return pv_diag_set(d, PV_EIO, -1, "rename failed");  /* abort unlinks af->tmp */
	free(af->tmp);
	af->tmp = NULL;
	return 0;
}

int
pv_atomic_open(struct pv_atomic *af, const char *path, mode_t mode, struct pv_diag *d)
{
	int rc;

	af->fd = -1;
	af->tmp = NULL;
	af->noreplace = 0;
	if ((af->path = pv_strdup(path)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (proc_fd_ok()) {
		char *dir = pv_strdup(path);
		if (dir == NULL) {
			pv_atomic_abort(af);
			return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		}
		af->fd = open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		free(dir);
		if (af->fd >= 0)
			return 0;
		/* EOPNOTSUPP, EISDIR, EINVAL...: no unnamed files here; a named one */
	}
	if ((rc = tmp_name(af, d)) != 0) {
		pv_atomic_abort(af);
		return rc;
	}
	af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (af->fd < 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot create a file beside %s", path);
		free(af->tmp);
		af->tmp = NULL;
		pv_atomic_abort(af);
		return rc;
	}
	return 0;
}

int
pv_atomic_open_new(struct pv_atomic *af, const char *path, mode_t mode, struct pv_diag *d)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) == 0)
		return pv_diag_set(d, PV_EEXIST, -1, "exists; not replaced");
	if ((rc = pv_atomic_open(af, path, mode, d)) != 0)
		return rc;
	af->noreplace = 1;
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char *copy = pv_strdup(path);
	int fd, rc = 0;

	if (copy == NULL)
		return PV_ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = PV_EIO;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/*
 * Puts af's file in place and releases af: fsync first when durable, the
 * unnamed file named (or the named temporary closed and renamed), then,
 * when durable, the folder synced. On a failure nothing is left under a
 * name this made: a fresh name given before a failing close() goes again.
 */
static int
atomic_finish(struct pv_atomic *af, int durable, struct pv_diag *d)
{
	int rc = 0, fresh = 0;

	if (af->fd < 0 || af->path == NULL)
		return pv_diag_set(d, PV_EINTERNAL, -1, "atomic file already released");
	if (durable && fsync(af->fd) != 0)
		rc = pv_diag_set(d, PV_EIO, -1, "fsync failed");
	else if (af->tmp == NULL)
		rc = name_anon(af, &fresh, d);
	if (close(af->fd) != 0 && rc == 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "close failed");
		if (fresh)
			unlink(af->path);
	}
	af->fd = -1;
	if (rc == 0 && af->tmp != NULL && af->noreplace) {
		/* link() never replaces: then the temporary name goes */
		if (link(af->tmp, af->path) != 0)
			rc = errno == EEXIST ? pv_diag_set(d, PV_EEXIST, -1, "exists; not replaced") :
			    pv_diag_set(d, PV_EIO, -1, "cannot name the new file: %s", strerror(errno));
		else
			(void)unlink(af->tmp);
	} else if (rc == 0 && af->tmp != NULL && rename(af->tmp, af->path) != 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "rename failed");
	}
	if (rc != 0) {
		pv_atomic_abort(af);
		return rc;
	}
	free(af->tmp);
	af->tmp = NULL;
	if (durable && fsync_dir_of(af->path) != 0)
		rc = pv_diag_set(d, PV_EIO, -1, "directory fsync failed");
	free(af->path);
	af->path = NULL;
	return rc;
}

int
pv_atomic_commit(struct pv_atomic *af, struct pv_diag *d)
{
	return atomic_finish(af, 1, d);
}

int
pv_atomic_commit_nosync(struct pv_atomic *af, struct pv_diag *d)
{
	return atomic_finish(af, 0, d);
}

int
pv_sync_fs(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return PV_EIO;
	if (syncfs(fd) != 0)
		rc = PV_EIO;
	close(fd);
	return rc;
}

void
pv_atomic_abort(struct pv_atomic *af)
{
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp != NULL)
		unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	af->tmp = NULL;
	af->path = NULL;
}

int
pv_read_file(const char *path, size_t max, unsigned char **out, size_t *len, struct pv_diag *d)
{
	struct stat st;
	unsigned char *p = NULL;
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rc = pv_diag_set(d, e == ENOENT ? PV_ENOTFOUND : PV_EIO, -1, "cannot open");
		if (d != NULL)
			d->sys_errno = e;  /* "No such file or directory", "Permission denied" */
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = pv_diag_set(d, PV_EIO, -1, "cannot stat");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pv_diag_set(d, PV_EINVAL, -1, "not a regular file");
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		rc = pv_diag_set(d, PV_ELIMIT, -1, "file is %lld bytes, over the %zu-byte limit",
		    (long long)st.st_size, max);
		goto fail;
	}
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto fail;
	}
	if ((rc = pv_pread_all(fd, p, (size_t)st.st_size, 0)) != 0) {
		pv_diag_set(d, rc, -1, "read failed");
		goto fail;
	}
	p[st.st_size] = 0;
	close(fd);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
fail:
	free(p);
	close(fd);
	return rc;
}

int
pv_mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	char *copy;
	int rc = 0;

	/* The common case in a batch: the folder is there already (one stat). */
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : PV_EIO;
	if ((copy = pv_strdup(path)) == NULL)
		return PV_ENOMEM;
	for (char *p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, mode) != 0 && errno != EEXIST) {
				rc = PV_EIO;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return rc;
}
