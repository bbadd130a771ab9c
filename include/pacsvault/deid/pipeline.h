/*
 * pipeline.h: the de-identification of one instance, in the order every
 * way out uses (pacsvault deid, export --deid, the server's research
 * egress): the output check's view of the original, the burned-in text
 * risk, pixel rules or text detection and OCR, the header (deid_apply),
 * BurnedInAnnotation NO when pixels were cleaned, pixel metadata (JPEG
 * comments, Exif/XMP/IPTC, extra fragments) stripped, then the output
 * check (gate.h) on the result. docs/DEID.md.
 */
#ifndef PV_DEID_PIPELINE_H
#define PV_DEID_PIPELINE_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/dicom/dataset.h"

struct deid_pipeline {
	const struct deid_config *cfg;
	const struct pixrules *rules;  /* pixel rules (clean_pixels) */
	int clean_pixels;              /* --clean-pixel-data */
	int no_ocr;                    /* no text detection or OCR when no rule matches */
	int no_verify;                 /* no output check (unsafe; tests and measurements) */
};

struct deid_outcome {
	int held;                      /* not to be released as de-identified: reason says why */
	int gated;                     /* held by the output check (reason: kind and tag path, no value) */
	char reason[320];
	struct deid_counts counts;
	const char *pix_rule;          /* the pixel rule (or "ocr-and-text-detection") that cleaned it */
	struct pixclean_result pix;
};

/*
 * De-identifies f in place. 0 with o filled: o->held says whether the
 * result may leave as de-identified (a held file's header is de-identified
 * all the same, for a reviewer); non-zero: an error in d, f unusable.
 * report (may be NULL) gets deid_apply's per-element report.
 */
int deid_process(const struct deid_pipeline *p, struct dcm_file *f, struct deid_outcome *o, struct pv_buf *report,
    struct pv_diag *d) __attribute__((warn_unused_result));

#endif
