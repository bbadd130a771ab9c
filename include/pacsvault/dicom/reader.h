/*
 * reader.h: the streaming Part 10 reader (PS3.10 7.1, PS3.5 7).
 *
 * dcm_reader_next() hands out one event at a time: an element, the start
 * or end of a sequence or item, or one fragment of encapsulated pixel data.
 * Small values are loaded and handed out in little-endian byte order; bulk
 * values (pixel data and other long OB/OW/UN...) are not read at all: the
 * event carries their (offset, length) and dcm_reader_pread() fetches bytes
 * on demand. Nothing is allocated per element.
 *
 * Every length is checked against the bytes that remain in its container
 * and in the file before it is used; nesting is capped. Errors name the
 * byte offset and tag path in a struct pv_diag and never quote values.
 *
 * Handles: the 128-byte preamble and "DICM" or none; File Meta Information
 * or none (the transfer syntax is then detected); Implicit VR LE, Explicit
 * VR LE and BE, Deflated Explicit VR LE (inflated into memory, capped); all
 * encapsulated syntaxes (fragments passed through); sequences and items of
 * defined and undefined length; UN of undefined length read as an Implicit
 * VR LE sequence (PS3.5 6.2.2 note, CP-246).
 */
#ifndef PV_DICOM_READER_H
#define PV_DICOM_READER_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/ts.h"
#include "pacsvault/dicom/vr.h"

struct dcm_reader_opts {
	unsigned max_depth;     /* most nested sequences (default 64) */
	uint32_t inline_max;    /* bulk values up to this many bytes are loaded (default 256) */
	uint32_t text_max;      /* text/number values up to this are loaded (default 16 MiB) */
	uint64_t max_inflated;  /* cap on inflated Deflate data (default 1 GiB) */
	int load_all;           /* load every value, however long (tests, fuzzing) */
	int strict;             /* reject what dcmtk tolerates: sequence or item lengths
	                           that overrun their parent (default: clamp and warn) */
};

/* Fills o with the defaults above. */
void dcm_reader_opts_default(struct dcm_reader_opts *o);

enum dcm_ev_type {
	DCM_EV_ELEMENT = 1, /* a value element */
	DCM_EV_SEQ_BEGIN,   /* an SQ (or UN sequence, or encapsulated pixel data) opens */
	DCM_EV_SEQ_END,
	DCM_EV_ITEM_BEGIN,
	DCM_EV_ITEM_END,
	DCM_EV_FRAGMENT     /* an item of encapsulated pixel data (PS3.5 A.4) */
};

struct dcm_event {
	enum dcm_ev_type type;
	uint32_t tag;
	enum dcm_vr vr;          /* as encoded; from the dictionary in Implicit VR, and for an explicit UN of a known tag (PS3.5 6.2.2) */
	uint32_t length;         /* as encoded; DCM_UNDEFINED_LENGTH when undefined */
	uint64_t offset;         /* of the element header in the stream */
	uint64_t value_offset;   /* of the value in the stream */
	const uint8_t *value;    /* loaded value (little endian), valid until the next call; NULL if not loaded */
	unsigned depth;          /* number of enclosing items */
	unsigned swap;           /* unit to byte-swap a not-loaded value into little endian (0 = none) */
	uint32_t index;          /* ITEM_BEGIN/END, FRAGMENT: 0-based position in its sequence */
	unsigned meta : 1;        /* a File Meta Information element */
	unsigned encapsulated : 1;/* SEQ_BEGIN/END of encapsulated pixel data */
	unsigned vr_from_dict : 1;/* Implicit VR: the VR came from the dictionary */
	unsigned odd_length : 1;  /* odd value length: a defect (PS3.5 7.1.1) */
	unsigned un_sequence : 1; /* SEQ_BEGIN of a sequence sent as UN (CP-246): Implicit VR inside */
	unsigned vr_unknown : 1;  /* Explicit VR held two characters that are no VR */
	unsigned defined_length : 1; /* ITEM/SEQ_END: the container had a defined length */
};

struct dcm_reader;

/*
 * Opens path for reading. On success *out is the reader (free with
 * dcm_reader_free). opts may be NULL for defaults.
 */
int dcm_reader_open(const char *path, const struct dcm_reader_opts *opts,
    struct dcm_reader **out, struct pv_diag *d) __attribute__((warn_unused_result));

/* Same over n bytes at p (borrowed: they must outlive the reader). */
int dcm_reader_open_mem(const void *p, size_t n, const struct dcm_reader_opts *opts,
    struct dcm_reader **out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Reads the next event into ev. Returns 1 for an event, 0 at the end of the
 * data set, or a negative PV_E* with d filled. After an error, every later
 * call returns the same error (sticky).
 */
int dcm_reader_next(struct dcm_reader *r, struct dcm_event *ev, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* The data set's transfer syntax; valid after the first non-meta event or end. */
const struct dcm_ts *dcm_reader_ts(const struct dcm_reader *r);
/* The UID given in the File Meta Information (NUL-terminated; "" if none). */
const char *dcm_reader_ts_uid(const struct dcm_reader *r);
/* 1 when the file had the 128-byte preamble and "DICM". */
int dcm_reader_has_preamble(const struct dcm_reader *r);
/* 1 when the file had File Meta Information. */
int dcm_reader_has_meta(const struct dcm_reader *r);
/*
 * The process's inflate budget (default 1 GiB): the inflated Deflate data
 * of every reader open at once, together. A reader holds its share until
 * dcm_reader_free; past 64 MiB it needs the one token for large data sets
 * (one grows at a time). One that finds the budget or the token taken
 * waits for others (bounded: 2 s when it holds a share already, up to
 * 30 s for budget and 60 s for the token otherwise), then fails with
 * PV_ELIMIT. Thread-safe.
 */
void dcm_reader_set_inflate_budget(uint64_t bytes);
uint64_t dcm_reader_inflate_in_use(void);

/* 1 when the data set was inflated: offsets after the meta are in the inflated data. */
int dcm_reader_inflated(const struct dcm_reader *r);
/* 1 when the transfer syntax had to be detected (absent, unknown or wrong in the meta). */
int dcm_reader_ts_detected(const struct dcm_reader *r);

/*
 * Reads n raw bytes at stream offset off (offsets of events) into buf. For
 * values of a big-endian data set the bytes are as stored (see ev.swap).
 */
int dcm_reader_pread(struct dcm_reader *r, uint64_t off, void *buf, size_t n)
	__attribute__((warn_unused_result));

/* The file descriptor behind the stream and the file offset of stream offset 0,
 * or -1 when the stream is in memory (deflated or opened from memory). */
int dcm_reader_fd(const struct dcm_reader *r, uint64_t *base);

/* The memory behind the stream (NULL for a file). */
const uint8_t *dcm_reader_mem(const struct dcm_reader *r, uint64_t *size);

/* Writes the current tag path ("(0008,1115)[0].(0020,000e)") into out. */
void dcm_reader_path(const struct dcm_reader *r, char *out, size_t n);

/*
 * Takes the oldest pending warning (odd length, detected syntax, clamped
 * length...) into out; returns 1, or 0 when none is pending. At most 8 are
 * kept between calls; dcm_reader_warnings() counts them all.
 */
int dcm_reader_take_warning(struct dcm_reader *r, struct pv_diag *out);

/* Number of warnings (odd lengths, detected syntax...) so far. */
unsigned dcm_reader_warnings(const struct dcm_reader *r);

/* Closes and frees r. NULL-safe. */
void dcm_reader_free(struct dcm_reader *r);

/* The size in bytes of the file or memory r reads. */
uint64_t dcm_reader_size(const struct dcm_reader *r);

#endif
