/*
 * json.h: the DICOM JSON model (PS3.18 F.2) of a data set.
 *
 * Strings are converted to UTF-8 from their Specific Character Set (items
 * inherit it and may override it). PN values become objects with
 * Alphabetic / Ideographic / Phonetic groups; IS, DS and binary numbers are
 * JSON numbers (a DS or IS that is not a valid number is kept as a string;
 * SV and UV beyond 2^53 as strings; non-finite floats as strings); AT as
 * "GGGGEEEE". Binary values up to inline_max bytes are InlineBinary
 * (base64), longer ones and all encapsulated pixel data are BulkDataURI
 * "file:PATH?offset=N&length=N" (offset and length of the value in the file,
 * for a deflated file in the inflated data set). File Meta Information is
 * not part of the model and is left out.
 */
#ifndef PV_DICOM_JSON_H
#define PV_DICOM_JSON_H

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/dicom/dataset.h"

/* Appends the JSON object for f's data set to out. path is used in BulkDataURIs. */
int dcm_json_write_file(struct dcm_file *f, const char *path, uint32_t inline_max,
    struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The same, compact, for the web: a BulkDataURI is prefix (a URI, used as
 * is) followed by "?offset=N&length=N".
 */
int dcm_json_write_uri(struct dcm_file *f, const char *prefix, uint32_t inline_max, struct pv_buf *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* 1 when s[0..n) (an IS or DS value, trimmed) is also a JSON number (RFC 8259 6), as DICOM JSON writes it. */
int dcm_json_number_ok(const char *s, size_t n);

#endif
