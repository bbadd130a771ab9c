/*
 * dicomweb.h: what DICOMweb (PS3.18) retrieves of an instance, on the
 * egress chokepoint (svc_egress_mem: the identified bytes, or the
 * research project's de-identified copy), so that the network front end
 * never parses a stored instance or its pixels:
 *   its metadata as DICOM JSON, bulk data as BulkDataURIs under a prefix;
 *   a byte range of it (the bulk data those URIs name);
 *   frames of its pixel data as stored (native, or one compressed stream
 *   per frame), never decoded.
 */
#ifndef PV_SVC_DICOMWEB_H
#define PV_SVC_DICOMWEB_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/svc/svc.h"

#define SVC_FRAMES_MAX 4096

/* Instance i of e as DICOM JSON (one object) appended to out; values over 1 KiB of binary VRs by BulkDataURI. */
int svc_egress_metadata(struct svc_egress *e, size_t i, const char *bulk_prefix, struct pv_buf *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* Bytes off .. off+len of instance i of e (as svc_egress_mem gives it) into out. PV_EINVAL: out of range. */
int svc_egress_range(struct svc_egress *e, size_t i, uint64_t off, uint64_t len, struct pv_buf *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Frames (1-based numbers) of instance i: their bytes one after another in
 * out, frame k's from ends[k-1] (0 for the first) to ends[k]; ts gets the
 * transfer syntax UID they are in. PV_ENOTFOUND: no pixel data; PV_EINVAL:
 * a frame number out of range; PV_EUNSUPPORTED: compressed frames that
 * cannot be told apart (several fragments per frame without an offset
 * table), or a layout whose frames are not whole bytes.
 */
int svc_egress_frames(struct svc_egress *e, size_t i, const uint32_t *frames, size_t nf, struct pv_buf *out,
    size_t *ends, char ts[65], struct pv_diag *d) __attribute__((warn_unused_result));

#endif
