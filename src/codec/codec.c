/* codec.c: transfer syntax to codec; frames of encapsulated pixel data. */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/dicom/dataset.h"

#include <stdlib.h>
#include <string.h>

enum pix_codec
pix_codec_of(const char *uid, int encapsulated)
{
	static const struct { const char *uid; enum pix_codec c; } t[] = {
		{ "1.2.840.10008.1.2.5", PIX_RLE },
		{ "1.2.840.10008.1.2.4.57", PIX_JPEG_LOSSLESS },
		{ "1.2.840.10008.1.2.4.70", PIX_JPEG_LOSSLESS },
		{ "1.2.840.10008.1.2.4.50", PIX_JPEG_DCT },
		{ "1.2.840.10008.1.2.4.51", PIX_JPEG_DCT },
		{ "1.2.840.10008.1.2.4.80", PIX_JPEG_LS },
		{ "1.2.840.10008.1.2.4.81", PIX_JPEG_LS },
		{ "1.2.840.10008.1.2.4.90", PIX_JPEG_2000 },
		{ "1.2.840.10008.1.2.4.91", PIX_JPEG_2000 },
		{ "1.2.840.10008.1.2.4.201", PIX_HTJ2K },
		{ "1.2.840.10008.1.2.4.202", PIX_HTJ2K },
		{ "1.2.840.10008.1.2.4.203", PIX_HTJ2K },
	};
	if (!encapsulated)
		return PIX_NATIVE;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(uid, t[i].uid) == 0)
			return t[i].c;
	return PIX_OTHER;
}

const char *
pix_codec_name(enum pix_codec c)
{
	switch (c) {
	case PIX_NATIVE: return "uncompressed";
	case PIX_RLE: return "RLE Lossless";
	case PIX_JPEG_LOSSLESS: return "JPEG Lossless";
	case PIX_JPEG_DCT: return "JPEG baseline/extended";
	case PIX_JPEG_LS: return "JPEG-LS";
	case PIX_JPEG_2000: return "JPEG 2000";
	case PIX_HTJ2K: return "High-Throughput JPEG 2000";
	default: return "an unsupported compression";
	}
}

static int
frag_bytes(struct dcm_file *f, struct dcm_frag *fr, const uint8_t **p)
{
	uint8_t *b;
	int rc;

	if (!fr->ref) {
		*p = fr->v.bytes != NULL ? fr->v.bytes : (const uint8_t *)"";
		return 0;
	}
	if (f->src == NULL)
		return PV_EINTERNAL;
	if ((b = pv_arena_alloc(&f->arena, (size_t)fr->length + 1)) == NULL)
		return PV_ENOMEM;
	if ((rc = dcm_reader_pread(f->src, fr->v.off, b, fr->length)) != 0)
		return rc;
	/* Not cached in fr: fragment arrays are shared between copies of an
	 * element, possibly of another file with another arena. */
	*p = b;
	return 0;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Frame k is fragments [first[k], first[k+1]). */
static int
assemble(struct dcm_file *f, struct dcm_seq *s, const uint32_t *first, uint32_t nframes,
    struct pix_frame *out, struct pv_diag *d)
{
	for (uint32_t k = 0; k < nframes; k++) {
		uint32_t a = first[k], b = first[k + 1];
		uint64_t total = 0;
		const uint8_t *p;
		int rc;
		if (b <= a)
			return pv_diag_set(d, PV_EPARSE, -1, "frame %u has no fragment", k + 1);
		for (uint32_t i = a; i < b; i++)
			total += s->frags[i].length;
		if (total > ((uint64_t)1 << 31))
			return pv_diag_set(d, PV_ELIMIT, -1, "frame %u is over the size cap", k + 1);
		if (b - a == 1) {
			if ((rc = frag_bytes(f, &s->frags[a], &p)) != 0)
				return pv_diag_set(d, rc, -1, "fragment %u cannot be read", a);
			out[k].p = p;
			out[k].n = s->frags[a].length;
			continue;
		}
		if ((out[k].owned = malloc((size_t)total + 1)) == NULL)
			return PV_ENOMEM;
		size_t pos = 0;
		for (uint32_t i = a; i < b; i++) {
			if ((rc = frag_bytes(f, &s->frags[i], &p)) != 0)
				return pv_diag_set(d, rc, -1, "fragment %u cannot be read", i);
			memcpy(out[k].owned + pos, p, s->frags[i].length);
			pos += s->frags[i].length;
		}
		out[k].p = out[k].owned;
		out[k].n = pos;
	}
	return 0;
}

int
pix_encaps_frames(struct dcm_file *f, struct dcm_elem *e, uint32_t nframes, enum pix_codec c,
    struct pix_frame **out, struct pv_diag *d)
{
	struct dcm_seq *s = e->seq;
	struct pix_frame *fr;
	uint32_t *first, ndata;
	const uint8_t *bot;
	int rc = 0;

	*out = NULL;
	if (s == NULL || !(e->flags & DCM_EF_ENCAPS) || s->nfrags < 2)
		return pv_diag_set(d, PV_EPARSE, -1, "encapsulated pixel data has no fragments");
	ndata = s->nfrags - 1;
	if (nframes == 0 || nframes > ndata)
		return pv_diag_set(d, PV_EPARSE, -1, "%u frames in %u fragments", nframes, ndata);
	if ((fr = pv_calloc(nframes, sizeof(*fr))) == NULL ||
	    (first = pv_calloc((size_t)nframes + 1, sizeof(*first))) == NULL) {
		free(fr);
		return PV_ENOMEM;
	}
	first[nframes] = s->nfrags;
	if (nframes == 1) {
		first[0] = 1;
	} else if (s->frags[0].length == 4u * nframes) {
		/* Basic Offset Table: offsets from the first data fragment's item tag. */
		uint64_t pos = 0;
		uint32_t i = 1;
		if ((rc = frag_bytes(f, &s->frags[0], &bot)) != 0) {
			rc = pv_diag_set(d, rc, -1, "the Basic Offset Table cannot be read");
			goto out;
		}
		for (uint32_t k = 0; k < nframes && rc == 0; k++) {
			uint32_t want = le32(bot + 4 * k);
			while (i < s->nfrags && pos < want) {
				pos += 8u + s->frags[i].length;
				i++;
			}
			if (pos != want || i >= s->nfrags || (k > 0 && i <= first[k - 1]))
				rc = pv_diag_set(d, PV_EPARSE, -1, "Basic Offset Table entry %u is not a fragment start", k + 1);
			first[k] = i;
		}
	} else if (ndata == nframes) {
		for (uint32_t k = 0; k < nframes; k++)
			first[k] = k + 1;
	} else if (c == PIX_JPEG_DCT || c == PIX_JPEG_LOSSLESS || c == PIX_JPEG_LS) {
		uint32_t k = 0;
		for (uint32_t i = 1; i < s->nfrags && rc == 0; i++) {
			const uint8_t *p;
			if ((rc = frag_bytes(f, &s->frags[i], &p)) != 0) {
				rc = pv_diag_set(d, rc, -1, "fragment %u cannot be read", i);
				break;
			}
			if (s->frags[i].length >= 2 && p[0] == 0xff && p[1] == 0xd8) {
				if (k == nframes) {
					rc = pv_diag_set(d, PV_EPARSE, -1, "more JPEG frames than NumberOfFrames");
					break;
				}
				first[k++] = i;
			} else if (i == 1) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "the first fragment does not start a JPEG frame");
			}
		}
		if (rc == 0 && k != nframes)
			rc = pv_diag_set(d, PV_EPARSE, -1, "%u JPEG frames found, NumberOfFrames is %u", k, nframes);
	} else {
		rc = pv_diag_set(d, PV_EUNSUPPORTED, -1,
		    "%u frames in %u fragments without a Basic Offset Table", nframes, ndata);
	}
	if (rc == 0)
		rc = assemble(f, s, first, nframes, fr, d);
out:
	free(first);
	if (rc != 0) {
		pix_frames_free(fr, nframes);
		return rc;
	}
	*out = fr;
	return 0;
}

void
pix_frames_free(struct pix_frame *fr, uint32_t n)
{
	if (fr == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		free(fr[i].owned);
	free(fr);
}

int
pix_encaps_set(struct dcm_file *f, struct dcm_elem *e, const struct pv_buf *frames, uint32_t n)
{
	struct dcm_seq *s;
	uint64_t pos = 0;
	uint8_t *bot = NULL;

	if ((s = pv_arena_zalloc(&f->arena, sizeof(*s))) == NULL ||
	    (s->frags = pv_arena_zalloc(&f->arena, ((size_t)n + 1) * sizeof(*s->frags))) == NULL)
		return PV_ENOMEM;
	if (n > 1 && (bot = pv_arena_alloc(&f->arena, 4u * (size_t)n + 1)) == NULL)
		return PV_ENOMEM;
	s->frags[0].length = n > 1 ? 4u * n : 0;
	s->frags[0].v.bytes = bot;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = frames[i].len, plen = len + (len & 1);
		uint8_t *b;
		if (plen > 0xfffffff0u || pos > 0xffffffffu)
			return PV_ELIMIT;
		if (bot != NULL)
			for (int k = 0; k < 4; k++)
				bot[4 * i + (uint32_t)k] = (uint8_t)(pos >> (8 * k));
		if ((b = pv_arena_alloc(&f->arena, plen + 1)) == NULL)
			return PV_ENOMEM;
		memcpy(b, frames[i].data, len);
		if (plen != len)
			b[len] = 0;
		s->frags[i + 1].length = (uint32_t)plen;
		s->frags[i + 1].v.bytes = b;
		pos += 8 + plen;
	}
	s->nfrags = s->fcap = n + 1;
	e->seq = s;
	(void)dcm_ds_remove(&f->ds, 0x7fe00001u);  /* Extended Offset Table */
	(void)dcm_ds_remove(&f->ds, 0x7fe00002u);  /* its lengths */
	return 0;
}
