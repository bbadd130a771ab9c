/*
 * writer.h: the Part 10 writer (PS3.10 7.1, PS3.5 7).
 *
 * Writes a struct dcm_file in any native transfer syntax (Implicit VR LE,
 * Explicit VR LE, Explicit VR BE, Deflated Explicit VR LE), or in the
 * file's own encapsulated syntax with the fragments and Basic Offset Table
 * passed through untouched. The preamble is 128 zero bytes (a source
 * preamble is never copied: it can hide data). The File Meta Information is
 * regenerated: group length, version 00\01, Media Storage SOP Class and
 * Instance UIDs (from the meta, else from the data set), the transfer
 * syntax, pacsvault's Implementation Class UID and Version Name; other meta
 * elements are kept. Values are padded to even length with the VR's padding
 * byte; sequences and items keep their defined or undefined length form,
 * defined lengths recomputed; group lengths (gggg,0000) recomputed. Bulk
 * values are streamed from the source (copy_file_range where the bytes are
 * unchanged), byte-swapped where the byte order changes.
 */
#ifndef PV_DICOM_WRITER_H
#define PV_DICOM_WRITER_H

#include <sys/types.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/ts.h"

/* pacsvault's Implementation Class UID (PS3.7 D.3.3.2), a 2.25 UUID-derived UID. */
#define DCM_IMPL_CLASS_UID "2.25.90636555595338052290735244068969108924"
#define DCM_IMPL_VERSION_NAME "PACSVAULT_010"

/*
 * Writes f in transfer syntax ts (NULL: the file's own) to fd at its current
 * position. PV_EUNSUPPORTED when the pixel data would need a codec.
 */
int dcm_write_fd(struct dcm_file *f, const struct dcm_ts *ts, int fd, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* Flags of dcm_write_path */
#define DCM_WRITE_DURABLE 0x1  /* fsync the file and its directory before returning */
#define DCM_WRITE_NEW 0x2      /* never replace an existing file: PV_EEXIST */

/*
 * Same to path, atomically: a temporary beside it, renamed over it, so a
 * reader never sees part of a file. With DCM_WRITE_DURABLE also fsync of
 * the file and the directory; without, the caller syncs later (pv_sync_fs).
 */
int dcm_write_path(struct dcm_file *f, const struct dcm_ts *ts, const char *path, mode_t mode,
    unsigned flags, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Appends the encoding of data set ds of f (no preamble, no meta) in the
 * native, undeflated syntax ts to out: for data sets inside data sets, such
 * as the Encrypted Content of PS3.15 E.1.2.
 */
int dcm_encode_dataset(struct dcm_file *f, const struct dcm_dataset *ds, const struct dcm_ts *ts,
    struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

#endif
