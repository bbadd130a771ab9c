/*
 * fsutil.h: atomic file writes and careful file I/O.
 *
 * An atomic write creates a temporary file beside the target (O_EXCL, the
 * final mode), the caller writes it, and pv_atomic_commit() fsyncs it,
 * renames it over the target and fsyncs the directory: a reader sees the old
 * file or the whole new one, never a part, even after a crash.
 * pv_atomic_abort() removes the temporary. Either must be called once.
 */
#ifndef PV_BASE_FSUTIL_H
#define PV_BASE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pacsvault/base/err.h"

struct pv_atomic {
	int fd;            /* write here */
	char *path;        /* final path (owned) */
	char *tmp;         /* temporary path (owned), NULL for an unnamed one */
	int noreplace;     /* pv_atomic_open_new: the commit never replaces an existing file */
};

/*
 * Opens a temporary beside path with the given mode: an unnamed file in
 * path's folder (O_TMPFILE) where the file system has them, named into
 * place at commit (no temporary name ever visible, nothing left behind by
 * a crash, one directory change per file); else a named temporary.
 */
int pv_atomic_open(struct pv_atomic *af, const char *path, mode_t mode, struct pv_diag *d)
	__attribute__((warn_unused_result));
/*
 * As pv_atomic_open, for a file that must not exist: PV_EEXIST now when
 * path exists, and the commit fails with PV_EEXIST (leaving what is there)
 * when one appeared meanwhile: it is created, never replaced.
 */
int pv_atomic_open_new(struct pv_atomic *af, const char *path, mode_t mode, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* fsync, rename over the target, fsync the directory; releases af. */
int pv_atomic_commit(struct pv_atomic *af, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Rename over the target without fsync: still atomic for readers (never a
 * partial file), durable only after a later pv_sync_dir_fs(). For batches
 * that sync once at the end. Releases af.
 */
int pv_atomic_commit_nosync(struct pv_atomic *af, struct pv_diag *d) __attribute__((warn_unused_result));

/* syncfs() of the file system holding path: makes earlier nosync commits durable. */
int pv_sync_fs(const char *path) __attribute__((warn_unused_result));
/* Closes and unlinks the temporary; releases af. Safe on a released af. */
void pv_atomic_abort(struct pv_atomic *af);

/* Tests only: 1 makes pv_atomic_open use named temporaries, as on a file
 * system without O_TMPFILE (the fallback is tested on every machine). */
void pv_atomic_named_only(int on);

/* Writes all n bytes (retrying short writes and EINTR). */
int pv_write_all(int fd, const void *p, size_t n) __attribute__((warn_unused_result));
/* Writes all n bytes at off (retrying short writes and EINTR). */
int pv_pwrite_all(int fd, const void *p, size_t n, uint64_t off) __attribute__((warn_unused_result));
/* Reads exactly n bytes at off; PV_ETRUNC when the file is shorter. */
int pv_pread_all(int fd, void *p, size_t n, uint64_t off) __attribute__((warn_unused_result));

/*
 * Copies n bytes from in at in_off to out at its current position, with
 * copy_file_range when the kernel allows it, else read/write.
 */
int pv_copy_range(int in, uint64_t in_off, int out, uint64_t n) __attribute__((warn_unused_result));

/* Reads a whole file of at most max bytes into *out (caller frees). */
int pv_read_file(const char *path, size_t max, unsigned char **out, size_t *len,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* mkdir -p with mode for each created directory. */
int pv_mkdir_p(const char *path, mode_t mode) __attribute__((warn_unused_result));

#endif
