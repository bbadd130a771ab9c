/*
 * jpegll.c: JPEG Lossless, process 14 (ITU T.81 Annex H), Huffman coded.
 *
 * The decoder takes the frames DICOM carries in 1.2.840.10008.1.2.4.57 and
 * .70: one SOF3 frame of 2- to 16-bit samples, one or more scans, any
 * selection value 1..7, any point transform, restart intervals, the
 * sampling factors 1x1 that lossless multi-component images use. Every
 * marker length is checked against the input; a stream that does not
 * describe the data set's image (rows, columns, samples, bit depth) is
 * refused. The encoder writes one interleaved scan with an optimal
 * Huffman table (T.81 K.2) for the selection value and point transform
 * asked for.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"
#include "huff.h"

#include <stdlib.h>
#include <string.h>

struct comp {
	uint8_t id, h, v, tq;
};

struct llstate {
	const struct pix_desc *pd;
	uint8_t *out;
	unsigned precision, ncomp, restart;
	struct comp comp[4];
	struct jh_table ht[4];
	int have_frame;
	uint8_t *done_comp;   /* per component: decoded */
};

static void
put_out(struct llstate *s, uint32_t x, uint32_t y, unsigned c, uint32_t v)
{
	size_t i = ((size_t)y * s->pd->cols + x) * s->pd->spp + c;
	if (s->pd->bits_alloc == 8) {
		s->out[i] = (uint8_t)v;
	} else {
		s->out[2 * i] = (uint8_t)v;
		s->out[2 * i + 1] = (uint8_t)(v >> 8);
	}
}

static int
decode_scan(struct llstate *s, const uint8_t *in, size_t n, size_t *pos, const uint8_t *hdr,
    size_t hlen, struct jpegll_params *used, struct pv_diag *d)
{
	unsigned ns = hdr[0], sel, pt, ci[4], td[4];
	uint32_t cols = s->pd->cols, rows = s->pd->rows;
	int32_t *line[4][2] = { { NULL } };
	struct jh_reader b;
	int rc = 0;
	uint32_t mcus_left;

	if (!s->have_frame)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan before the frame header");
	if (ns < 1 || ns > s->ncomp || hlen != 1 + 2 * ns + 3)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan header length does not fit %u components", ns);
	for (unsigned i = 0; i < ns; i++) {
		unsigned k;
		for (k = 0; k < s->ncomp && s->comp[k].id != hdr[1 + 2 * i]; k++)
			;
		if (k == s->ncomp || s->done_comp[k])
			return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan names an unknown or repeated component");
		ci[i] = k;
		td[i] = hdr[2 + 2 * i] >> 4;
		if (td[i] > 3 || !s->ht[td[i]].defined)
			return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan uses an undefined Huffman table");
	}
	sel = hdr[1 + 2 * ns];
	pt = hdr[3 + 2 * ns] & 15;
	if (sel < 1 || sel > 7)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG lossless selection value %u is not 1..7", sel);
	if (pt >= s->precision)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG point transform %u is not below the precision", pt);
	used->predictor = sel;
	used->pt = pt;
	for (unsigned i = 0; i < ns; i++)
		for (int j = 0; j < 2; j++)
			if ((line[i][j] = pv_calloc((size_t)cols + 1, sizeof(int32_t))) == NULL)
				rc = PV_ENOMEM;
	memset(&b, 0, sizeof(b));
	b.p = in;
	b.pos = *pos;
	b.end = n;
	mcus_left = s->restart;
	{
		const int32_t initial = 1 << (s->precision - pt - 1);
		const uint32_t mask = 0xffff;
		int first_line = 1;
		for (uint32_t y = 0; y < rows && rc == 0; y++) {
			int cur = y & 1, prev = cur ^ 1;
			for (uint32_t x = 0; x < cols && rc == 0; x++) {
				if (s->restart && mcus_left == 0) {
					/* RSTm: realign, check the marker, start over as on the first line. */
					b.acc = 0;
					b.nbits = 0;
					if (b.pos + 1 >= n || in[b.pos] != 0xff || (in[b.pos + 1] & 0xf8) != 0xd0) {
						rc = pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG restart marker missing");
						break;
					}
					b.pos += 2;
					b.at_marker = 0;
					b.fake = 0;
					b.overrun = 0;
					mcus_left = s->restart;
					first_line = 1;
					if (x != 0) {
						rc = pv_diag_set(d, PV_EUNSUPPORTED, (int64_t)b.pos,
						    "JPEG restart interval is not a whole number of lines");
						break;
					}
				}
				for (unsigned i = 0; i < ns; i++) {
					int t = jh_decode(&b, &s->ht[td[i]]);
					int32_t diff, pred, ra, rb, rc_;
					if (t < 0 || t > 16) {
						rc = pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG bad Huffman code");
						break;
					}
					if (t == 0) {
						diff = 0;
					} else if (t == 16) {
						diff = 32768;
					} else {
						diff = (int32_t)jh_bits(&b, t);
						if (diff < (1 << (t - 1)))
							diff += 1 - (1 << t);
					}
					/* Some encoders (dcmtk's among them) leave out trailing zero
					 * bits before the marker: decoders read zeros there, as
					 * libjpeg does. Running out of input with no marker is
					 * truncation. */
					if (b.overrun > 8 && b.eof) {
						rc = pv_diag_set(d, PV_ETRUNC, (int64_t)b.pos, "JPEG scan data ends early");
						break;
					}
					ra = x > 0 ? line[i][cur][x - 1] : 0;
					rb = line[i][prev][x];
					rc_ = x > 0 ? line[i][prev][x - 1] : 0;
					if (first_line)
						pred = x == 0 ? initial : ra;
					else if (x == 0)
						pred = rb;
					else switch (sel) {
					case 1: pred = ra; break;
					case 2: pred = rb; break;
					case 3: pred = rc_; break;
					case 4: pred = ra + rb - rc_; break;
					case 5: pred = ra + ((rb - rc_) >> 1); break;
					case 6: pred = rb + ((ra - rc_) >> 1); break;
					default: pred = (ra + rb) >> 1; break;
					}
					line[i][cur][x] = (int32_t)((uint32_t)(pred + diff) & mask);
					put_out(s, x, y, ci[i], ((uint32_t)line[i][cur][x] << pt) & mask);
				}
				if (s->restart)
					mcus_left--;
			}
			first_line = 0;
		}
	}
	if (rc == 0) {
		/* the next marker (padding bits are in the dropped accumulator) */
		*pos = jh_after_scan(in, n, b.pos);
		for (unsigned i = 0; i < ns; i++)
			s->done_comp[ci[i]] = 1;
	}
	for (unsigned i = 0; i < 4; i++)
		for (int j = 0; j < 2; j++)
			free(line[i][j]);
	return rc;
}

int
jpegll_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct jpegll_params *used, struct pv_diag *d)
{
	struct llstate *s;
	uint8_t done[4] = { 0 };
	size_t pos = 2;
	int rc = 0, eoi = 0;

	if (pd->bits_alloc > 16)
		return pv_diag_set(d, PV_EUNSUPPORTED, 0, "JPEG Lossless holds at most 16-bit samples");
	if (n < 4 || in[0] != 0xff || in[1] != 0xd8)
		return pv_diag_set(d, PV_EPARSE, 0, "not a JPEG stream (no SOI marker)");
	if ((s = pv_calloc(1, sizeof(*s))) == NULL)
		return PV_ENOMEM;
	s->pd = pd;
	s->out = out;
	s->done_comp = done;
	memset(used, 0, sizeof(*used));
	while (rc == 0 && !eoi) {
		const uint8_t *seg;
		size_t slen, segoff;
		uint8_t m;
		if ((rc = jh_segment(in, n, &pos, &m, &seg, &slen, d)) != 0)
			break;
		if (seg == NULL) {  /* EOI */
			eoi = 1;
			break;
		}
		segoff = (size_t)(seg - in);
		switch (m) {
		case 0xc3:  /* SOF3: lossless, Huffman */
			if (s->have_frame || slen < 6 || slen != 6 + 3u * seg[5]) {
				rc = pv_diag_set(d, PV_EPARSE, (int64_t)segoff, "JPEG frame header is malformed or repeated");
				break;
			}
			s->precision = seg[0];
			s->ncomp = seg[5];
			if (s->precision < 2 || s->precision > 16 || s->precision > pd->bits_alloc) {
				rc = pv_diag_set(d, PV_EPARSE, (int64_t)segoff,
				    "JPEG precision %u does not fit %u bits allocated", s->precision, (unsigned)pd->bits_alloc);
				break;
			}
			if (jh_be16(seg + 1) != pd->rows || jh_be16(seg + 3) != pd->cols || s->ncomp != pd->spp) {
				rc = pv_diag_set(d, PV_EPARSE, (int64_t)segoff,
				    "JPEG frame is %ux%u with %u components, the data set says %ux%u with %u",
				    jh_be16(seg + 3), jh_be16(seg + 1), s->ncomp, (unsigned)pd->cols, (unsigned)pd->rows,
				    (unsigned)pd->spp);
				break;
			}
			for (unsigned i = 0; i < s->ncomp; i++) {
				s->comp[i].id = seg[6 + 3 * i];
				s->comp[i].h = seg[7 + 3 * i] >> 4;
				s->comp[i].v = seg[7 + 3 * i] & 15;
				if (s->ncomp > 1 && (s->comp[i].h != 1 || s->comp[i].v != 1)) {
					rc = pv_diag_set(d, PV_EUNSUPPORTED, (int64_t)segoff,
					    "JPEG lossless with subsampled components is not handled");
					break;
				}
			}
			s->have_frame = 1;
			used->precision = s->precision;
			break;
		case 0xc4:  /* DHT */
			rc = jh_read_dht(s->ht, NULL, seg, slen, (int64_t)segoff, d);
			break;
		case 0xdd:  /* DRI */
			if (slen != 2) {
				rc = pv_diag_set(d, PV_EPARSE, (int64_t)segoff, "JPEG restart interval segment is malformed");
				break;
			}
			s->restart = jh_be16(seg);
			break;
		case 0xda:  /* SOS */
			rc = decode_scan(s, in, n, &pos, seg, slen, used, d);
			break;
		case 0xc0: case 0xc1: case 0xc2: case 0xc5: case 0xc6: case 0xc7: case 0xc9:
		case 0xca: case 0xcb: case 0xcd: case 0xce: case 0xcf: case 0xf7:
			rc = pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG stream is not process 14 (marker FF%02X)", m);
			break;
		case 0xdc:
			rc = pv_diag_set(d, PV_EUNSUPPORTED, (int64_t)pos, "JPEG DNL marker is not handled");
			break;
		default:  /* APPn, COM, DQT, ...: skipped */
			break;
		}
	}
	if (rc == 0 && !s->have_frame)
		rc = pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG stream has no frame header");
	for (unsigned i = 0; rc == 0 && i < s->ncomp; i++)
		if (!done[i])
			rc = pv_diag_set(d, PV_ETRUNC, (int64_t)pos, "JPEG stream ends before component %u is coded", i + 1);
	free(s);
	return rc;
}

/* ---- encoder ---- */

static uint32_t
get_in(const uint8_t *frame, const struct pix_desc *pd, size_t i)
{
	return pd->bits_alloc == 8 ? frame[i] : (uint32_t)(frame[2 * i] | frame[2 * i + 1] << 8);
}

/* The differences of every sample, in coding order, as T.81 H.1.2 defines them. */
static int32_t *
ll_diffs(const uint8_t *frame, const struct pix_desc *pd, const struct jpegll_params *p)
{
	uint32_t cols = pd->cols, rows = pd->rows, spp = pd->spp;
	uint32_t vmask = ((1u << p->precision) - 1) >> p->pt;
	int32_t *diff = pv_mallocarray((size_t)rows * cols * spp, sizeof(int32_t));
	const int32_t initial = 1 << (p->precision - p->pt - 1);

	if (diff == NULL)
		return NULL;
#define X(xx, yy, c) ((int32_t)((get_in(frame, pd, ((size_t)(yy) * cols + (xx)) * spp + (c)) >> p->pt) & vmask))
	for (uint32_t y = 0; y < rows; y++)
		for (uint32_t x = 0; x < cols; x++)
			for (uint32_t c = 0; c < spp; c++) {
				int32_t v = X(x, y, c), pred, ra, rb, rc_;
				if (y == 0)
					pred = x == 0 ? initial : X(x - 1, y, c);
				else if (x == 0)
					pred = X(x, y - 1, c);
				else {
					ra = X(x - 1, y, c);
					rb = X(x, y - 1, c);
					rc_ = X(x - 1, y - 1, c);
					switch (p->predictor) {
					case 1: pred = ra; break;
					case 2: pred = rb; break;
					case 3: pred = rc_; break;
					case 4: pred = ra + rb - rc_; break;
					case 5: pred = ra + ((rb - rc_) >> 1); break;
					case 6: pred = rb + ((ra - rc_) >> 1); break;
					default: pred = (ra + rb) >> 1; break;
					}
				}
				int32_t dv = (int32_t)((uint32_t)(v - pred) & 0xffff);
				if (dv >= 0x8000)
					dv -= 0x10000;
				diff[((size_t)y * cols + x) * spp + c] = dv;
			}
#undef X
	return diff;
}

int
jpegll_encode(const uint8_t *frame, const struct pix_desc *pd, const struct jpegll_params *p,
    struct pv_buf *out)
{
	uint32_t freq[256] = { 0 };
	size_t nsamp = (size_t)pd->rows * pd->cols * pd->spp;
	struct jh_table h;
	struct jh_writer w = { out, 0, 0, 0 };
	int32_t *diff;
	int rc;
	uint8_t b[32];

	if (pd->bits_alloc > 16 || p->precision < 2 || p->precision > 16 || p->precision > pd->bits_alloc || p->pt >= p->precision ||
	    p->predictor < 1 || p->predictor > 7 || pd->rows > 65535 || pd->cols > 65535 || pix_frame_bytes(pd) == 0)
		return PV_EINVAL;
	if ((diff = ll_diffs(frame, pd, p)) == NULL)
		return PV_ENOMEM;
	for (size_t i = 0; i < nsamp; i++)
		freq[jh_category(diff[i])]++;
	jh_optimal(&h, freq);
	{
		struct pv_diag d;
		if (jh_derive(&h, &d, 0) != 0) {
			free(diff);
			return PV_EINTERNAL;
		}
	}
	/* SOI, SOF3 */
	size_t k = 0;
	b[k++] = 0xff; b[k++] = 0xd8;
	b[k++] = 0xff; b[k++] = 0xc3;
	b[k++] = 0; b[k++] = (uint8_t)(8 + 3 * pd->spp);
	b[k++] = (uint8_t)p->precision;
	b[k++] = (uint8_t)(pd->rows >> 8); b[k++] = (uint8_t)pd->rows;
	b[k++] = (uint8_t)(pd->cols >> 8); b[k++] = (uint8_t)pd->cols;
	b[k++] = (uint8_t)pd->spp;
	for (unsigned c = 0; c < pd->spp; c++) {
		b[k++] = (uint8_t)(c + 1); b[k++] = 0x11; b[k++] = 0;
	}
	rc = pv_buf_append(out, b, k);
	/* DHT */
	unsigned nv = 0;
	for (int l = 1; l <= 16; l++)
		nv += h.bits[l];
	k = 0;
	b[k++] = 0xff; b[k++] = 0xc4;
	b[k++] = (uint8_t)((2 + 17 + nv) >> 8); b[k++] = (uint8_t)(2 + 17 + nv);
	b[k++] = 0x00;
	for (int l = 1; l <= 16; l++)
		b[k++] = h.bits[l];
	if (rc == 0)
		rc = pv_buf_append(out, b, k);
	if (rc == 0)
		rc = pv_buf_append(out, h.vals, nv);
	/* SOS */
	k = 0;
	b[k++] = 0xff; b[k++] = 0xda;
	b[k++] = 0; b[k++] = (uint8_t)(6 + 2 * pd->spp);
	b[k++] = (uint8_t)pd->spp;
	for (unsigned c = 0; c < pd->spp; c++) {
		b[k++] = (uint8_t)(c + 1); b[k++] = 0x00;
	}
	b[k++] = (uint8_t)p->predictor; b[k++] = 0; b[k++] = (uint8_t)p->pt;
	if (rc == 0)
		rc = pv_buf_append(out, b, k);
	w.rc = rc;
	for (size_t i = 0; i < nsamp && w.rc == 0; i++) {
		int32_t dv = diff[i];
		unsigned s = jh_category(dv);
		jh_put(&w, h.code[s], h.size[s]);
		if (s > 0 && s < 16)
			jh_put(&w, (uint32_t)(dv < 0 ? dv - 1 : dv), (int)s);
	}
	if (w.n > 0)
		jh_put(&w, 0x7f, 8 - w.n);  /* pad with ones */
	rc = w.rc;
	free(diff);
	if (rc == 0) {
		b[0] = 0xff; b[1] = 0xd9;
		rc = pv_buf_append(out, b, 2);
	}
	return rc;
}
