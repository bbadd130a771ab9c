/*
 * dataset.h: the DOM: a Part 10 file as arena-owned data sets for editing.
 *
 * dcm_file_read() builds the tree from a reader's events. Small values are
 * copied into the file's arena; bulk values stay in the source as
 * (offset, length) references (DCM_EF_REF) and are fetched on demand with
 * dcm_file_value(), so a 2 GiB pixel data element costs nothing to parse.
 * The file owns the reader it was built from (it is the bulk data source).
 * Everything is freed by dcm_file_free(). Values are little endian.
 * Elements of a data set are kept in ascending tag order; when a tag occurs
 * twice in one data set the first is kept (as dcmtk does) and counted.
 */
#ifndef PV_DICOM_DATASET_H
#define PV_DICOM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/dicom/reader.h"

/* Element flags */
#define DCM_EF_REF      0x01u  /* value not loaded: at v.off in the source */
#define DCM_EF_UNDEF    0x02u  /* sequence or pixel data had undefined length */
#define DCM_EF_ENCAPS   0x04u  /* encapsulated pixel data: fragments in seq */
#define DCM_EF_UNSEQ    0x08u  /* read as a UN of undefined length (CP-246) */
#define DCM_EF_ODD      0x10u  /* odd length as read */

struct dcm_dataset;

struct dcm_frag {
	uint32_t length;
	uint8_t ref;        /* 1: bytes at off in the source */
	union { uint8_t *bytes; uint64_t off; } v;
};

struct dcm_seq {
	struct dcm_dataset **items;
	uint32_t nitems, cap;
	struct dcm_frag *frags;   /* encapsulated pixel data: item 0 is the Basic Offset Table */
	uint32_t nfrags, fcap;
};

struct dcm_elem {
	uint32_t tag;
	uint8_t vr;          /* enum dcm_vr */
	uint8_t flags;       /* DCM_EF_* */
	uint8_t swap;        /* DCM_EF_REF: byte-swap unit to get little endian */
	uint32_t length;     /* value length (not padded) */
	union { uint8_t *bytes; uint64_t off; } v;   /* bytes are NUL-terminated */
	struct dcm_seq *seq; /* SQ and encapsulated pixel data */
};

struct dcm_dataset {
	struct dcm_elem *e;
	uint32_t n, cap;
	uint8_t undef;       /* as an item: had undefined length */
};

/*
 * Native Pixel Data that the writer rewrites sample by sample: bits outside
 * BitsStored/HighBit are cleared (unsigned) or made the sign extension of
 * HighBit (signed), so nothing hides there (an overlay embedded in the
 * unused bits, PS3.5 8.1.2 before 2004, or any other payload). unit 0: off.
 */
struct dcm_pixfix {
	uint8_t unit;        /* bytes per sample: 1, 2 or 4; 0 = off */
	uint8_t is_signed;
	uint8_t high_bit, bits_stored;
	uint64_t changed;    /* samples the writer changed (set as it writes) */
};

struct dcm_file {
	struct pv_arena arena;
	struct dcm_reader *src;        /* bulk data source (owned), NULL for a new file */
	const struct dcm_ts *ts;       /* transfer syntax as read */
	int has_preamble, has_meta;
	struct dcm_dataset meta;       /* group 0002 */
	struct dcm_dataset ds;         /* the data set */
	unsigned duplicates;           /* repeated tags dropped (the first is kept) */
	struct dcm_pixfix pixfix;      /* unused pixel bits the writer clears */
};

/*
 * Asks the writer to clear the unused bits of the native Pixel Data of f
 * (see struct dcm_pixfix): 1 when there are such bits (BitsStored below
 * BitsAllocated, or HighBit above BitsStored - 1), 0 when there are none,
 * the pixel data is encapsulated or absent, or the Image Pixel attributes
 * do not describe a valid layout (BitsAllocated 8, 16 or 32; BitsStored
 * 1..BitsAllocated; HighBit BitsStored - 1..BitsAllocated - 1).
 */
int dcm_pixfix_setup(struct dcm_file *f);

/* Rewrites the whole little-endian samples in p[0..n) as fx says; returns
 * how many changed. */
uint64_t dcm_pixfix_apply(const struct dcm_pixfix *fx, uint8_t *p, size_t n);

/* How many of the little-endian samples in p[0..n) carry something in their
 * unused bits: a low unused bit set, or high unused bits that are neither
 * zero nor (signed) the sign extension. */
uint64_t dcm_pixfix_count(const struct dcm_pixfix *fx, const uint8_t *p, size_t n);

/* Reverses the bytes of each whole unit-byte sample of p[0..n) in place. */
void dcm_swap_units(uint8_t *p, size_t n, unsigned unit);

/*
 * The value of native pixel data element px in chunks of up to 1 MiB, each
 * in one buffer with its whole samples of unit bytes in little-endian order
 * (swapped when the source is big endian): fn(arg, buf, whole, chunk),
 * where whole <= chunk is the length of the whole samples. Stops at fn's
 * first non-zero return and returns it; PV_EIO / PV_ENOMEM of its own.
 */
int dcm_pixel_chunks(struct dcm_file *f, const struct dcm_elem *px, unsigned unit,
    int (*fn)(void *arg, uint8_t *buf, size_t whole, size_t chunk), void *arg)
	__attribute__((warn_unused_result));

/* The value of the US element tag of ds (one value, 2 bytes): 0, or -1 when absent or not that. */
int dcm_ds_get_us(struct dcm_file *f, const struct dcm_dataset *ds, uint32_t tag, unsigned *out);

/* Default cap on the arena of one file (values, not bulk data): 2 GiB. */
#define DCM_FILE_ARENA_CAP ((size_t)2 << 30)

/*
 * Reads the whole tree from r. Takes ownership of r in every case (freed
 * on failure). On success *out is the file; free with dcm_file_free().
 */
int dcm_file_read(struct dcm_reader *r, struct dcm_file **out, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* dcm_reader_open + dcm_file_read. */
int dcm_file_open(const char *path, const struct dcm_reader_opts *opts,
    struct dcm_file **out, struct pv_diag *d) __attribute__((warn_unused_result));

/* An empty file to fill (no source). */
int dcm_file_new(struct dcm_file **out) __attribute__((warn_unused_result));

void dcm_file_free(struct dcm_file *f);

/* The element with tag in ds, or NULL. */
struct dcm_elem *dcm_ds_find(const struct dcm_dataset *ds, uint32_t tag);

/*
 * Inserts or replaces tag with a copy of len bytes at p (little endian).
 * Returns the element through *out when out is not NULL.
 */
int dcm_ds_set(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
    const void *p, uint32_t len, struct dcm_elem **out) __attribute__((warn_unused_result));

/* Sets a string value (padding is added by the writer). */
int dcm_ds_set_str(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
    const char *s) __attribute__((warn_unused_result));

/* Inserts or replaces tag in ds with an empty sequence (defined length form); *out is it. */
int dcm_ds_set_seq(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, struct dcm_seq **out)
	__attribute__((warn_unused_result));

/* Appends an empty item to seq; *out is its data set. */
int dcm_seq_add_item(struct dcm_file *f, struct dcm_seq *seq, struct dcm_dataset **out)
	__attribute__((warn_unused_result));

/*
 * Inserts (or replaces) in ds of dst a deep copy of element e of src, values
 * loaded and copied, sequences at every depth (bounded by the reader's cap).
 * src and dst may be the same file.
 */
int dcm_ds_copy_elem(struct dcm_file *dst, struct dcm_dataset *ds, struct dcm_file *src,
    struct dcm_elem *e) __attribute__((warn_unused_result));

/* Deep-copies data set src of f into *out (in f's arena). */
int dcm_ds_clone(struct dcm_file *f, const struct dcm_dataset *src, struct dcm_dataset *out)
	__attribute__((warn_unused_result));

/* 1 when elements a (of fa) and b (of fb) hold the same tag, VR and values at every depth. */
int dcm_elem_equal(struct dcm_file *fa, struct dcm_elem *a, struct dcm_file *fb, struct dcm_elem *b);

/* Removes tag from ds; 0 or PV_ENOTFOUND. */
int dcm_ds_remove(struct dcm_dataset *ds, uint32_t tag);

/*
 * Points *p at the whole value of e (little endian), loading a reference
 * into the arena first. Returns 0, or PV_EIO/PV_ETRUNC/PV_ENOMEM.
 */
int dcm_file_value(struct dcm_file *f, struct dcm_elem *e, const uint8_t **p)
	__attribute__((warn_unused_result));

/*
 * Copies the first value of a string element tag of ds into out (NUL-
 * terminated, trimmed, truncated to n - 1). Returns 0 or PV_ENOTFOUND.
 */
int dcm_ds_get_str(struct dcm_file *f, const struct dcm_dataset *ds, uint32_t tag,
    char *out, size_t n);

/* Counts the elements of ds at every depth (items not counted). */
size_t dcm_ds_count(const struct dcm_dataset *ds);

#endif
