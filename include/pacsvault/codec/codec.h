/*
 * codec.h: the pixel codecs pixel cleaning needs (src/codec, layer 2).
 *
 * Decoders turn one compressed frame into a native frame (pixel.h); the
 * encoders do the reverse with the parameters the decoder saw, so a frame
 * goes back in its own transfer syntax. Every decoder checks every length
 * and marker against its input and the pix_desc it is given: a frame that
 * does not match the data set's description is an error, never a guess.
 * The lossy JPEG processes are not decoded for cleaning at all: the
 * rectangles are blanked in the DCT domain, so blocks outside them keep
 * their exact coefficients (no second loss).
 */
#ifndef PV_CODEC_CODEC_H
#define PV_CODEC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/codec/pixel.h"

enum pix_codec {
	PIX_NATIVE = 0,     /* uncompressed (and deflated: inflated by the reader) */
	PIX_RLE,            /* 1.2.840.10008.1.2.5 */
	PIX_JPEG_LOSSLESS,  /* 1.2.840.10008.1.2.4.57 and .70: process 14 */
	PIX_JPEG_DCT,       /* .50 baseline, .51 extended (8-bit through libjpeg-turbo) */
	PIX_JPEG_LS,        /* .80 lossless, .81 near-lossless (CharLS) */
	PIX_JPEG_2000,      /* .90, .91 (OpenJPEG, in a helper process) */
	PIX_HTJ2K,          /* .201, .202, .203: not cleaned yet */
	PIX_OTHER           /* MPEG, HEVC, unknown */
};

/* The codec of a transfer syntax UID (PIX_NATIVE for the uncompressed ones). */
enum pix_codec pix_codec_of(const char *ts_uid, int encapsulated);
const char *pix_codec_name(enum pix_codec c);

/* RLE Lossless (PS3.5 Annex G), written here. */
int rle_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct pv_diag *d) __attribute__((warn_unused_result));
int rle_encode(const uint8_t *frame, const struct pix_desc *pd, struct pv_buf *out)
	__attribute__((warn_unused_result));

/* JPEG Lossless, process 14 (ITU T.81 Annex H), Huffman coded, written here. */
struct jpegll_params {
	unsigned precision;   /* P of the frame header, 2..16 */
	unsigned predictor;   /* selection value 1..7 */
	unsigned pt;          /* point transform */
};
int jpegll_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct jpegll_params *used, struct pv_diag *d) __attribute__((warn_unused_result));
int jpegll_encode(const uint8_t *frame, const struct pix_desc *pd, const struct jpegll_params *p,
    struct pv_buf *out) __attribute__((warn_unused_result));

/* Loads libjpeg now rather than on first use (see pv_crypto_load in pacsvault/crypto/hash.h). */
void jpeg_load(void);

/*
 * JPEG baseline and extended (8-bit): every 8x8 block of every component
 * that touches a rectangle gets the fill value (pix_fill_value) as its DC
 * and zero AC coefficients; all other blocks are copied as they are. The
 * result is a new JPEG stream in out (comment and application markers of
 * the source are not copied: they can carry text). *blocks counts the
 * blocks changed. 8-bit streams go through libjpeg-turbo, 12-bit ones
 * (process 4) through jpegdct_blank.
 */
int jpeg_blank(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r,
    size_t nr, struct pv_buf *out, uint64_t *blocks, struct pv_diag *d)
	__attribute__((warn_unused_result));
/*
 * The same for sequential Huffman DCT streams (SOF0/SOF1) of 8- or 12-bit
 * samples, with the in-house coefficient codec (src/codec/jpegdct.c): same
 * quantisation tables, frame header, restart interval and scans; Huffman
 * tables fitted to the new coefficients; no APPn/COM segments.
 */
int jpegdct_blank(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r,
    size_t nr, struct pv_buf *out, uint64_t *blocks, struct pv_diag *d)
	__attribute__((warn_unused_result));
/*
 * Decodes a sequential Huffman DCT frame (8- or 12-bit) to native samples
 * with the in-house codec: an IEEE double inverse DCT, subsampled
 * components replicated, no colour conversion. Within a grey level or two
 * of IJG's decoder: for looking at pixels (text detection, OCR), not for
 * reproducing them.
 */
int jpegdct_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct pv_diag *d) __attribute__((warn_unused_result));
/* Decodes a JPEG baseline/extended frame to native samples (no colour
 * conversion): 8-bit by libjpeg-turbo, 12-bit by jpegdct_decode. */
int jpeg_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* JPEG-LS (ITU T.87) through CharLS. */
struct jpegls_params {
	int near;             /* NEAR: 0 lossless */
	int bits;             /* P of the stream (0: BitsStored) */
	int interleave;       /* 0 none, 1 line, 2 sample */
	int32_t t1, t2, t3, reset, maxval;  /* preset coding parameters (0: default) */
};
/*
 * CharLS and OpenJPEG are loaded on first use (dlopen), never linked: 1 when
 * the library is there. The codec helper calls both before its sandbox.
 */
int jpegls_available(void);
int j2k_available(void);

int jpegls_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct jpegls_params *used, struct pv_diag *d) __attribute__((warn_unused_result));
int jpegls_encode(const uint8_t *frame, const struct pix_desc *pd, const struct jpegls_params *p,
    struct pv_buf *out, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * JPEG 2000, in this process: decoded, blanked and encoded again
 * reversibly (OpenJPEG). *rct is set when the new stream uses the
 * reversible component transform (the photometric is then YBR_RCT).
 * pacsvault calls it only inside the helper (below) and the fuzz target.
 */
int j2k_clean_local(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r,
    size_t nr, struct pv_buf *out, int *rct, struct pv_diag *d) __attribute__((warn_unused_result));

/* Decodes a JPEG 2000 frame to native samples, in this process (the helper uses it). */
int j2k_decode_local(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *native, struct pv_diag *d)
	__attribute__((warn_unused_result));

struct pix_frame;

/*
 * Decodes frames of a PIX_JPEG_2000 or PIX_JPEG_LS file in the sandboxed
 * helper: outs[i] gets frame i's native samples (pixel.h layout).
 */
int pix_helper_decode(enum pix_codec c, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    struct pv_buf *outs, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Cleans every frame of one file whose codec is PIX_JPEG_2000 or
 * PIX_JPEG_LS in one sandboxed helper process ("pacsvault __codec-helper
 * frames", see helper.c): outs[i] gets frame i's new stream; *rct_any is
 * set when a JPEG 2000 stream uses RCT.
 */
int pix_helper_clean(enum pix_codec c, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    const struct pix_rect *r, size_t nr, struct pv_buf *outs, int *rct_any, struct pv_diag *d)
	__attribute__((warn_unused_result));
/* The helper's main: a request on stdin, the answer on stdout; the exit status. */
int pix_helper_main(void);

/* ---- encapsulated pixel data (PS3.5 A.4) ---- */

struct dcm_file;
struct dcm_elem;

struct pix_frame {
	const uint8_t *p;     /* the frame's bytes */
	size_t n;
	uint8_t *owned;       /* set when p was assembled from several fragments */
};

/*
 * Finds the compressed frames of encapsulated pixel data element e of f:
 * one frame: every fragment; otherwise by the Basic Offset Table, or one
 * fragment per frame, or (JPEG family) a new frame at each fragment that
 * starts with an SOI marker. Fragment bytes are loaded into f's arena.
 * *out (nframes entries) is freed with pix_frames_free().
 */
int pix_encaps_frames(struct dcm_file *f, struct dcm_elem *e, uint32_t nframes, enum pix_codec c,
    struct pix_frame **out, struct pv_diag *d) __attribute__((warn_unused_result));
void pix_frames_free(struct pix_frame *fr, uint32_t n);

/*
 * Replaces e's fragments by a Basic Offset Table (when n > 1) and one
 * fragment per frame (frames[i], padded to even length), in f's arena,
 * and removes an Extended Offset Table that would no longer be true.
 */
int pix_encaps_set(struct dcm_file *f, struct dcm_elem *e, const struct pv_buf *frames, uint32_t n)
	__attribute__((warn_unused_result));

/*
 * Copies one JPEG-family frame (T.81 baseline, extended or lossless; ls: a
 * JPEG-LS stream, T.87) to out without what can carry text and is not
 * needed to decode it: COM segments, APPn segments (Exif, XMP, IPTC,
 * vendor data, JFIF extension thumbnails) except an Adobe APP14 (colour
 * transform) and ICC_PROFILE APP2 segments, the thumbnail of a JFIF APP0
 * (kept, thumbnail size 0), and every byte after EOI. Every other segment
 * and the entropy-coded data are copied as they are. *removed counts what
 * went. PV_EPARSE/PV_ETRUNC (with the offset in d) when the frame is not
 * such a stream: the caller holds the file back rather than guess.
 */
int jpegmeta_strip(const uint8_t *in, size_t n, int ls, struct pv_buf *out, unsigned *removed, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * The same for one JPEG 2000 codestream (T.800 A): the COM marker segments
 * of the main header and of every tile-part header go; a tile-part that
 * lost one gets its length (Psot) made true, and the TLM index then goes.
 * A stream that is not a bare codestream (no SOC) is copied as it is.
 * PV_EPARSE/PV_ETRUNC for headers or tile-parts that do not parse.
 */
int j2kmeta_strip(const uint8_t *in, size_t n, struct pv_buf *out, unsigned *removed, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
