/*
 * scan.h: the residual-PHI scanner (`pacsvault scan`).
 *
 * scan_file() walks every element at every depth of a file and reports
 * what could still identify a patient: values left in the identifying
 * attributes of PS3.15 Table E.1-1 (respecting the options the file says
 * were used, unless strict), national ID numbers, phone numbers, e-mail
 * addresses, dates and person-name-like text in any text value (the
 * detectors of textclean.h) and site patterns, private elements that are
 * not safe private attributes, UIDs that are not in the 2.25 form or carry
 * a known organisation root, File Meta leaks, overlays and curves,
 * BurnedInAnnotation, text-like regions in the pixels, and (--against)
 * any value of the original files. A finding carries a masked excerpt,
 * never the whole value.
 */
#ifndef PV_DEID_SCAN_H
#define PV_DEID_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"
#include "pacsvault/codec/pixel.h"
#include "pacsvault/dicom/dataset.h"

enum scan_kind {
	SCAN_PHI_ATTRIBUTE = 0, /* a value in an identifying attribute of E.1-1 */
	SCAN_NATIONAL_ID,       /* PRC resident ID (checksum and birth date valid) */
	SCAN_SSN,               /* US social security number */
	SCAN_PHONE,
	SCAN_EMAIL,
	SCAN_DATE,              /* a written date in free text */
	SCAN_PERSON_NAME,       /* person-name-like text */
	SCAN_PATTERN,           /* a site pattern (--pattern) */
	SCAN_PRIVATE,           /* a private element that is not safe */
	SCAN_UID,               /* a UID not in 2.25 form, or with a known organisation root */
	SCAN_FILE_META,         /* source/sending/receiving AE title, private meta */
	SCAN_OVERLAY,           /* overlay data (60xx) */
	SCAN_CURVE,             /* curve data (50xx, retired) */
	SCAN_BURNED_IN_FLAG,    /* BurnedInAnnotation YES, or missing where text is usual */
	SCAN_BURNED_IN_TEXT,    /* a text-like region in the pixels */
	SCAN_AGAINST,           /* a value of the originals (--against) */
	SCAN_INSTITUTION,       /* a hospital's or clinic's name in free text */
	SCAN_AGE,               /* an age over 89 in free text */
	SCAN_RECORD,            /* a record number in free text ("MRN968298") */
	SCAN_KIND_COUNT
};

struct scan_finding {
	uint8_t kind;          /* enum scan_kind */
	char path[112];        /* tag path: "00400275[0].00321060", or "pixels" */
	char detail[96];       /* keyword, detector, creator, reason (no values) */
	char excerpt[40];      /* the value masked: "11**************15" */
	struct pix_rect box;   /* SCAN_BURNED_IN_TEXT: where */
	uint32_t frame;        /* SCAN_BURNED_IN_TEXT: which frame (0-based) */
};

#define SCAN_MAX_FINDINGS 1000   /* per file; more are counted, not kept */

struct scan_report {
	struct scan_finding *f;
	size_t n, cap;
	size_t dropped;        /* findings past SCAN_MAX_FINDINGS */
	unsigned pixel_frames; /* frames looked at for text */
	unsigned ocr_frames;   /* frames read by OCR */
	char pixel_note[320];  /* why pixels were not looked at, or "" */
	uint8_t *thumb;        /* with cfg->thumbs: the first frame with text, grey, at most 256 wide/high */
	uint32_t thumb_w, thumb_h, thumb_frame;
	uint32_t img_w, img_h; /* the frame's size (the boxes are in it) */
	uint64_t name_flagged; /* scan_names: bit k set when the k-th name component carries an identifier */
};

struct scan_patterns;      /* site patterns: POSIX extended regexes */
struct scan_against;       /* values of the originals */

struct scan_config {
	int strict;            /* ignore the options the file declares it used */
	int pixels;            /* look for text-like regions in the pixels */
	int ocr;               /* and read them with the OCR helper (pacsvault-ocr) */
	int thumbs;            /* keep a thumbnail of the first frame with text (HTML reports) */
	const struct scan_patterns *patterns;
	const struct scan_against *against;
	const uint8_t *raw;    /* with against: the file's bytes, searched as well */
	size_t raw_len;
};

const char *scan_kind_name(enum scan_kind k);

/* Scans f. Returns 0, or PV_ENOMEM / PV_EIO (a value could not be read). */
int scan_file(struct dcm_file *f, const struct scan_config *cfg, struct scan_report *rep, struct pv_diag *d)
	__attribute__((warn_unused_result));
void scan_report_free(struct scan_report *r);

/*
 * File and folder names are text too (real exports name folders after the
 * patient, files after the original SOP Instance UID): runs the text
 * detectors, and with cfg->against the originals' values, on each
 * component of rel (a path relative to what the user named; '_' read as a
 * space). Findings have the path "file name".
 */
void scan_names(const char *rel, const struct scan_config *cfg, struct scan_report *rep);

/*
 * Masks a value for display: at most the first two and the last two
 * characters of values of 8 or more characters, one of each for 4 to 7,
 * nothing of shorter ones; every other character becomes '*' (at most 16
 * of them). UTF-8 aware.
 */
void scan_mask(const char *v, size_t n, char *out, size_t outsz);

/* "NAME=REGEX" (POSIX extended, case-insensitive); errors say which. */
int scan_patterns_add(struct scan_patterns **p, const char *spec, struct pv_diag *d)
	__attribute__((warn_unused_result));
void scan_patterns_free(struct scan_patterns *p);

/*
 * Collects the identifying values of an original file (every string value
 * of an attribute whose Basic Profile action is not K, and of private
 * elements; names also by component), in UTF-8 and as the file's own bytes.
 */
int scan_against_add_file(struct scan_against **a, struct dcm_file *f) __attribute__((warn_unused_result));
/*
 * An empty collection (scan_against_add_file makes one when *a is NULL).
 * elements_only: values are looked for element by element only, not in a
 * file's raw bytes (cfg->raw is then ignored): cheaper, for a data set
 * checked in memory (deid's output check).
 */
int scan_against_new(struct scan_against **a, int elements_only) __attribute__((warn_unused_result));
/* Builds the matcher once every original was added. */
int scan_against_finish(struct scan_against *a) __attribute__((warn_unused_result));
size_t scan_against_count(const struct scan_against *a);
void scan_against_free(struct scan_against *a);


/*
 * Text-like regions of an 8-bit grey image: rows of glyph-sized,
 * high-contrast connected components on a flat background (5x7 bitmap
 * fonts and up, anti-aliased or not). grey: also look for grey text (grey
 * on black, mid-grey on a light banner), which costs twice the time: for
 * images that are likely to carry text. Returns the number of boxes (at
 * most max) in out.
 */
size_t scan_text_regions(const uint8_t *g, uint32_t w, uint32_t h, int grey, struct pix_rect *out, size_t max);

/*
 * Every text box in f's pixels: the text-like regions of every frame and,
 * when ocr, the words OCR reads on up to 16 frames spread over the series
 * (deid --clean-pixel-data blanks them when no rule covers a file).
 * Returns 0, or an error with the reason in note when the pixels cannot be
 * judged (a compression the scanner does not decode, OCR unavailable, more
 * than max boxes).
 */
int scan_text_boxes(struct dcm_file *f, int ocr, struct pix_rect *out, size_t max, size_t *n, char *note,
    size_t nn) __attribute__((warn_unused_result));

#endif
