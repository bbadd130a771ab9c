/*
 * pixclean.h: cleaning burned-in text out of the stored pixel values.
 *
 * Rules say where text is for a kind of image (modality, manufacturer,
 * model, size, ImageType, SOP class -> rectangles, or "everything outside
 * the ultrasound regions"); the rules file format is in docs/DEID.md. A
 * file is cleaned by overwriting the samples under the rectangles in every
 * frame: uncompressed data in place; RLE, JPEG Lossless and JPEG-LS by
 * decode, blank, re-encode with the same parameters; JPEG baseline and
 * extended in the DCT domain. Never an overlay: the values are gone.
 */
#ifndef PV_DEID_PIXCLEAN_H
#define PV_DEID_PIXCLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"
#include "pacsvault/codec/codec.h"
#include "pacsvault/dicom/dataset.h"

#define PIXRULES_MAX_RULES 4096
#define PIXRULES_MAX_RECTS 64      /* per rule */
#define PIXRULES_MAX_TEXT  (1u << 20)
#define PIX_MAX_REGIONS    16      /* ultrasound regions looked at */

struct pixrules;

/* What the rules look at, read from the original data set. */
struct pix_subject {
	char modality[17], manufacturer[65], model[65], image_type[129], sop_class[65];
	uint32_t rows, cols;
	struct pix_rect regions[PIX_MAX_REGIONS];  /* Sequence of Ultrasound Regions */
	unsigned nregions;
};

/*
 * Parses a rules file (text of n bytes; name is used in errors). Errors
 * name the line: "rules.txt:12: unknown condition 'colour'".
 */
int pixrules_parse(const char *text, size_t n, const char *name, struct pixrules **out, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* The built-in rules (see docs/DEID.md). */
int pixrules_builtin(struct pixrules **out) __attribute__((warn_unused_result));
extern const char pixrules_builtin_text[];

/* Appends the rules of src to dst (src is left empty and may be freed). */
int pixrules_merge(struct pixrules *dst, struct pixrules *src) __attribute__((warn_unused_result));
size_t pixrules_count(const struct pixrules *r);
void pixrules_free(struct pixrules *r);

/* Reads the attributes rules look at. 0, or PV_ENOTFOUND without pixel data. */
int pix_subject_read(struct dcm_file *f, struct pix_subject *s);

/*
 * The rectangles of every rule that matches s (clipped; together they are
 * the union of what the rules blank). *name gets the first matching rule's
 * name. Returns the number of rules that matched (0: none), or
 * PIXRULES_OVERFLOW when more than max rectangles would be needed.
 */
#define PIXRULES_OVERFLOW ((size_t)-1)
size_t pixrules_match(const struct pixrules *r, const struct pix_subject *s, struct pix_rect *rects,
    size_t max, size_t *nrects, const char **name);

struct pixclean_result {
	enum pix_codec codec;
	uint32_t frames;
	uint64_t changed;     /* pixels (or, for DCT-domain JPEG, 8x8 blocks) overwritten */
};

/*
 * Blanks the rectangles in every frame of f's pixel data, in f's own
 * transfer syntax. PV_EUNSUPPORTED (reason in d) for JPEG 2000, 12-bit
 * JPEG, 1-bit or 32-bit samples...: the caller quarantines such files.
 * Call before deid_apply (reads the original image attributes).
 */
int deid_pixclean(struct dcm_file *f, const struct pix_rect *r, size_t n, struct pixclean_result *res,
    struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * In JPEG 2000 and HTJ2K pixel data, every frame loses the COM segments of
 * its main header (j2kmeta_strip). In JPEG, JPEG Lossless and JPEG-LS pixel
 * data, every frame loses its
 * COM and text-carrying APPn segments and the bytes after its EOI
 * (jpegmeta_strip), and fragments past the last frame go: frames that
 * lost nothing and are one fragment each are left as they are. *removed
 * counts what went. Other syntaxes: 0, nothing done. A frame that is not a
 * JPEG stream: an error naming the frame (the caller holds the file back).
 */
int deid_pixel_metadata_strip(struct dcm_file *f, unsigned *removed, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
