/* dicomweb.c: metadata, bulk data and frames of an instance on the egress chokepoint (see dicomweb.h). */
#include "pacsvault/svc/dicomweb.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/ts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PIXEL 0x7FE00010u

/* The bytes of instance i and its parsed file (bulk values left in the bytes). */
static int
open_instance(struct svc_egress *e, size_t i, struct pv_buf *b, struct dcm_file **f, struct pv_diag *d)
{
	struct dcm_reader_opts ro;
	struct dcm_reader *r = NULL;
	int rc;

	*f = NULL;
	if ((rc = svc_egress_mem(e, i, b, d)) != 0)
		return rc;
	memset(&ro, 0, sizeof(ro));
	if ((rc = dcm_reader_open_mem(b->data, b->len, &ro, &r, d)) != 0)
		return rc;
	if ((rc = dcm_file_read(r, f, d)) != 0)
		return rc;   /* (the reader is the file's, or freed by the failed read) */
	return 0;
}

int
svc_egress_metadata(struct svc_egress *e, size_t i, const char *bulk_prefix, struct pv_buf *out, struct pv_diag *d)
{
	struct pv_buf b;
	struct dcm_file *f = NULL;
	int rc;

	pv_buf_init(&b, (size_t)4 << 30);
	if ((rc = open_instance(e, i, &b, &f, d)) == 0)
		rc = dcm_json_write_uri(f, bulk_prefix, 1024, out, d);
	dcm_file_free(f);
	pv_buf_free_scrub(&b);
	return rc;
}

int
svc_egress_range(struct svc_egress *e, size_t i, uint64_t off, uint64_t len, struct pv_buf *out, struct pv_diag *d)
{
	struct pv_buf b;
	int rc;

	pv_buf_init(&b, (size_t)4 << 30);
	if ((rc = svc_egress_mem(e, i, &b, d)) == 0) {
		if (off > b.len || len > b.len - off)
			rc = pv_diag_set(d, PV_EINVAL, -1, "the range is outside the instance");
		else
			rc = pv_buf_append(out, b.data + off, (size_t)len);
	}
	pv_buf_free_scrub(&b);
	return rc;
}

static uint32_t
us_value(struct dcm_file *f, uint32_t tag, uint32_t dflt)
{
	struct dcm_elem *el = dcm_ds_find(&f->ds, tag);
	const uint8_t *p;

	if (el == NULL || el->length < 2 || dcm_file_value(f, el, &p) != 0)
		return dflt;
	return (uint32_t)(p[0] | p[1] << 8);   /* (values in the tree are little endian) */
}

static uint32_t
is_value(struct dcm_file *f, uint32_t tag, uint32_t dflt)
{
	struct dcm_elem *el = dcm_ds_find(&f->ds, tag);
	const uint8_t *p;
	char b[16];
	unsigned long v;
	char *end;

	if (el == NULL || el->length == 0 || el->length >= sizeof(b) || dcm_file_value(f, el, &p) != 0)
		return dflt;
	memcpy(b, p, el->length);
	b[el->length] = '\0';
	v = strtoul(b + strspn(b, " "), &end, 10);
	return v > 0 && v < 1000000 && (*end == '\0' || *end == ' ') ? (uint32_t)v : dflt;
}

int
svc_egress_frames(struct svc_egress *e, size_t i, const uint32_t *frames, size_t nf, struct pv_buf *out,
    size_t *ends, char ts[65], struct pv_diag *d)
{
	struct pv_buf b;
	struct dcm_file *f = NULL;
	struct dcm_elem *px;
	int rc;

	ts[0] = '\0';
	if (nf == 0 || nf > SVC_FRAMES_MAX)
		return pv_diag_set(d, PV_EINVAL, -1, "1 to %d frames at a time", SVC_FRAMES_MAX);
	pv_buf_init(&b, (size_t)4 << 30);
	if ((rc = open_instance(e, i, &b, &f, d)) != 0)
		goto out;
	snprintf(ts, 65, "%s", f->ts != NULL ? f->ts->uid : "");
	if ((px = dcm_ds_find(&f->ds, TAG_PIXEL)) == NULL) {
		rc = pv_diag_set(d, PV_ENOTFOUND, -1, "the instance has no pixel data");
		goto out;
	}
	uint32_t nframes = is_value(f, 0x00280008u, 1);
	for (size_t k = 0; k < nf; k++)
		if (frames[k] == 0 || frames[k] > nframes) {
			rc = pv_diag_set(d, PV_EINVAL, -1, "frame %u: the instance has %u", frames[k], nframes);
			goto out;
		}
	if (px->flags & DCM_EF_ENCAPS) {
		struct dcm_seq *sq = px->seq;
		uint32_t nfr = sq != NULL && sq->nfrags > 0 ? sq->nfrags - 1 : 0;   /* after the Basic Offset Table */

		if (nfr == 0 || (nfr != nframes && nframes != 1)) {
			rc = pv_diag_set(d, PV_EUNSUPPORTED, -1, "%u fragments for %u frames: the frames cannot be told apart",
			    nfr, nframes);
			goto out;
		}
		for (size_t k = 0; k < nf && rc == 0; k++) {
			uint32_t from = nframes == 1 ? 1 : frames[k], to = nframes == 1 ? nfr : frames[k];
			for (uint32_t g = from; g <= to && rc == 0; g++) {
				const struct dcm_frag *fr = &sq->frags[g];
				if (fr->ref) {
					if (fr->v.off > b.len || fr->length > b.len - fr->v.off)
						rc = pv_diag_set(d, PV_EINTEGRITY, -1, "a fragment lies outside the instance");
					else
						rc = pv_buf_append(out, b.data + fr->v.off, fr->length);
				} else {
					rc = pv_buf_append(out, fr->v.bytes, fr->length);
				}
			}
			ends[k] = out->len;
		}
	} else {
		uint32_t rows = us_value(f, 0x00280010u, 0), cols = us_value(f, 0x00280011u, 0),
		    spp = us_value(f, 0x00280002u, 1), ba = us_value(f, 0x00280100u, 0);
		uint64_t fb = (uint64_t)rows * cols * spp * (ba / 8);
		const uint8_t *p;

		if (ba == 0 || ba % 8 != 0 || fb == 0 || (f->ts != NULL && f->ts->big_endian)) {
			rc = pv_diag_set(d, PV_EUNSUPPORTED, -1, "native frames of %u bits allocated%s are not cut out", ba,
			    f->ts != NULL && f->ts->big_endian ? " (big endian)" : "");
			goto out;
		}
		if ((rc = dcm_file_value(f, px, &p)) != 0)
			goto out;
		if ((uint64_t)px->length < fb * nframes) {
			rc = pv_diag_set(d, PV_EINTEGRITY, -1, "the pixel data is shorter than its frames");
			goto out;
		}
		for (size_t k = 0; k < nf && rc == 0; k++) {
			rc = pv_buf_append(out, p + fb * (frames[k] - 1), (size_t)fb);
			ends[k] = out->len;
		}
	}
out:
	dcm_file_free(f);
	pv_buf_free_scrub(&b);
	return rc;
}
