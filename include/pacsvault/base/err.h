/*
 * err.h: error codes and the user-facing diagnostic.
 *
 * Every fallible function returns an int: 0 (PV_OK) or a negative PV_E*
 * code. pv_strerror() maps a code to a fixed string. Functions that can say
 * more take an optional caller-owned struct pv_diag (may be NULL) and fill it
 * with a message, the byte offset in the input and the tag path. Diagnostics
 * never carry element values: only tags, offsets and lengths, so that an
 * error message cannot leak patient data.
 */
#ifndef PV_BASE_ERR_H
#define PV_BASE_ERR_H

#include <stddef.h>
#include <stdint.h>

enum {
	PV_OK = 0,
	PV_ENOMEM = -1,       /* allocation failed */
	PV_EIO = -2,          /* read, write or fsync failed (errno kept in diag) */
	PV_EPARSE = -3,       /* input does not follow its format */
	PV_ELIMIT = -4,       /* a length, depth or size is over its cap */
	PV_EINVAL = -5,       /* bad argument or option */
	PV_EUNSUPPORTED = -6, /* valid but not handled (e.g. a codec) */
	PV_EAUTH = -7,        /* authentication failed */
	PV_EINTEGRITY = -8,   /* a MAC, hash or signature does not verify */
	PV_ENOTFOUND = -9,    /* no such file, element or object */
	PV_EEXIST = -10,      /* already exists */
	PV_ETRUNC = -11,      /* input ended early */
	PV_ECHARSET = -12,    /* text cannot be converted */
	PV_EINTERNAL = -13,   /* a bug: an invariant did not hold */
	PV_ENOTDICOM = -14,   /* not a DICOM file at all (a README in a folder): walks skip it */
	PV_EHELD = -15        /* held back: the de-identification pipeline will not release it */
};

#define PV_ERR_COUNT 16

/* Returns a static, never-NULL description of code. */
const char *pv_strerror(int code);

/* Returns the symbolic name ("PV_EPARSE") of code. */
const char *pv_errname(int code);

#define PV_DIAG_MSG 256
#define PV_DIAG_PATH 160

struct pv_diag {
	int code;                 /* the PV_E* code, 0 when unset */
	int sys_errno;            /* errno for PV_EIO, else 0 */
	int has_offset;           /* offset is meaningful */
	uint64_t offset;          /* byte offset in the input */
	char path[PV_DIAG_PATH];  /* tag path, e.g. "(0008,1115)[0].(0020,000e)" */
	char msg[PV_DIAG_MSG];    /* what went wrong, no element values */
};

/* Clears d (no-op when d is NULL). */
void pv_diag_clear(struct pv_diag *d);

/*
 * Records the first error only (sticky): a later call on a diag that already
 * holds an error changes nothing. Returns code, so callers can write
 * "return pv_diag_set(d, PV_EPARSE, off, "...")". d may be NULL.
 * offset < 0 means no offset.
 */
int pv_diag_set(struct pv_diag *d, int code, int64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the tag path of d if it has none yet. */
void pv_diag_set_path(struct pv_diag *d, const char *path);

/*
 * Formats "FILE: offset N: path: message (PV_EPARSE)" into out (always
 * NUL-terminated, truncated to outsz). file may be NULL.
 */
void pv_diag_format(const struct pv_diag *d, const char *file, char *out, size_t outsz);

#endif
