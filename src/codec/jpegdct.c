/*
 * jpegdct.c: JPEG sequential DCT, Huffman coded (ITU T.81 processes 1, 2
 * and 4: SOF0 and SOF1 frames of 8- or 12-bit samples), read into and
 * written back from its quantised coefficients. Written in-house for the
 * 12-bit streams of DICOM's JPEG Extended syntax (1.2.840.10008.1.2.4.51),
 * which Debian 12's libjpeg-turbo (8-bit only) cannot open.
 *
 * Cleaning never runs an inverse DCT: the blocks under a rectangle become
 * flat blocks of the fill value (DC only), every other block keeps its
 * exact coefficients, so the image outside the rectangles does not lose
 * quality a second time. The output keeps the source's quantisation
 * tables, frame header, restart interval and scans (same components in
 * the same order), with Huffman tables fitted to the new coefficients
 * (T.81 K.2); APPn and COM segments are not copied.
 *
 * Strict on input: every marker length is checked, coefficients beyond the
 * ranges T.81 F.1.2 allows for the precision are refused (so the output is
 * always encodable), a scan that runs out of data or has a wrong restart
 * marker is refused, and so is anything but a sequential Huffman frame.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"
#include "huff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JD_MAXCOMP 4
/* Coefficient memory cap per frame (blocks of 64 int16): 512 MiB, as libjpeg's. */
#define JD_MAX_BLOCKS ((uint64_t)4 << 20)

struct jd_comp {
	uint8_t id, h, v, tq;
	uint32_t bw, bh;     /* blocks across and down (a non-interleaved scan codes these) */
	uint32_t pbw, pbh;   /* padded to whole MCUs (an interleaved scan codes these) */
	int16_t *coef;       /* pbw * pbh blocks of 64 coefficients, zigzag order */
	int coded;
};

struct jd_scan {
	unsigned ns;
	unsigned ci[JD_MAXCOMP];
};

struct jd_image {
	unsigned precision, ncomp, hmax, vmax, restart;
	uint32_t width, height, mcux, mcuy;
	uint8_t sof;                       /* 0xc0 or 0xc1 */
	uint8_t sof_seg[6 + 3 * JD_MAXCOMP];
	size_t sof_len;
	uint8_t dqt[4][1 + 128];           /* Pq/Tq byte and the table, as read */
	size_t dqt_len[4];
	uint16_t q0[4];                    /* each table's DC quantiser */
	int scans_started;
	struct jd_comp comp[JD_MAXCOMP];
	struct jd_scan scan[JD_MAXCOMP];
	unsigned nscans;
	struct jh_table dc[4], ac[4];
};

static void
jd_free(struct jd_image *im)
{
	if (im == NULL)
		return;
	for (unsigned c = 0; c < JD_MAXCOMP; c++)
		free(im->comp[c].coef);
	free(im);
}

/* Largest DC difference and AC magnitude categories for the precision (T.81 F.1.2). */
static unsigned
max_dc_cat(const struct jd_image *im)
{
	return im->precision == 8 ? 11 : 15;
}

static unsigned
max_ac_cat(const struct jd_image *im)
{
	return im->precision == 8 ? 10 : 14;
}

static uint64_t
mcu_count(const struct jd_image *im, const struct jd_scan *sc)
{
	const struct jd_comp *c = &im->comp[sc->ci[0]];
	return sc->ns == 1 ? (uint64_t)c->bw * c->bh : (uint64_t)im->mcux * im->mcuy;
}

/* The blocks of MCU m of scan sc, in coding order: pointers and scan positions. */
static unsigned
mcu_blocks(const struct jd_image *im, const struct jd_scan *sc, uint64_t m, int16_t **blk, unsigned *pos)
{
	unsigned k = 0;

	if (sc->ns == 1) {
		const struct jd_comp *c = &im->comp[sc->ci[0]];
		uint64_t bx = m % c->bw, by = m / c->bw;
		blk[0] = c->coef + ((size_t)by * c->pbw + bx) * 64;
		pos[0] = 0;
		return 1;
	}
	uint64_t mx = m % im->mcux, my = m / im->mcux;
	for (unsigned j = 0; j < sc->ns; j++) {
		const struct jd_comp *c = &im->comp[sc->ci[j]];
		for (unsigned v = 0; v < c->v; v++)
			for (unsigned h = 0; h < c->h; h++) {
				uint64_t bx = mx * c->h + h, by = my * c->v + v;
				blk[k] = c->coef + ((size_t)by * c->pbw + bx) * 64;
				pos[k++] = j;
			}
	}
	return k;
}

static int
read_frame(struct jd_image *im, const uint8_t *seg, size_t slen, int64_t off, struct pv_diag *d)
{
	uint64_t total = 0;

	if (im->ncomp != 0 || slen < 6 || slen != 6 + 3u * seg[5] || seg[5] < 1 || seg[5] > JD_MAXCOMP)
		return pv_diag_set(d, PV_EPARSE, off, "JPEG frame header is malformed or repeated");
	im->precision = seg[0];
	im->height = jh_be16(seg + 1);
	im->width = jh_be16(seg + 3);
	im->ncomp = seg[5];
	if (im->precision != 8 && im->precision != 12)
		return pv_diag_set(d, PV_EPARSE, off, "JPEG DCT precision %u is not 8 or 12", im->precision);
	if (im->height == 0)
		return pv_diag_set(d, PV_EUNSUPPORTED, off, "JPEG frame with its height in a DNL marker is not handled");
	if (im->width == 0)
		return pv_diag_set(d, PV_EPARSE, off, "JPEG frame has no width");
	memcpy(im->sof_seg, seg, slen);
	im->sof_len = slen;
	im->hmax = im->vmax = 1;
	for (unsigned i = 0; i < im->ncomp; i++) {
		struct jd_comp *c = &im->comp[i];
		c->id = seg[6 + 3 * i];
		c->h = seg[7 + 3 * i] >> 4;
		c->v = seg[7 + 3 * i] & 15;
		c->tq = seg[8 + 3 * i];
		if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 || c->tq > 3)
			return pv_diag_set(d, PV_EPARSE, off, "JPEG component %u has sampling %ux%u or table %u",
			    i + 1, c->h, c->v, c->tq);
		for (unsigned j = 0; j < i; j++)
			if (im->comp[j].id == c->id)
				return pv_diag_set(d, PV_EPARSE, off, "JPEG component id %u is repeated", c->id);
		if (c->h > im->hmax)
			im->hmax = c->h;
		if (c->v > im->vmax)
			im->vmax = c->v;
	}
	im->mcux = (im->width + 8 * im->hmax - 1) / (8 * im->hmax);
	im->mcuy = (im->height + 8 * im->vmax - 1) / (8 * im->vmax);
	for (unsigned i = 0; i < im->ncomp; i++) {
		struct jd_comp *c = &im->comp[i];
		uint32_t cw = (uint32_t)(((uint64_t)im->width * c->h + im->hmax - 1) / im->hmax);
		uint32_t ch = (uint32_t)(((uint64_t)im->height * c->v + im->vmax - 1) / im->vmax);
		c->bw = (cw + 7) / 8;
		c->bh = (ch + 7) / 8;
		c->pbw = im->mcux * c->h;
		c->pbh = im->mcuy * c->v;
		total += (uint64_t)c->pbw * c->pbh;
	}
	if (total > JD_MAX_BLOCKS)
		return pv_diag_set(d, PV_ELIMIT, off, "JPEG frame of %ux%u is too large to clean", im->width, im->height);
	for (unsigned i = 0; i < im->ncomp; i++) {
		struct jd_comp *c = &im->comp[i];
		if ((c->coef = pv_calloc((size_t)c->pbw * c->pbh * 64, sizeof(int16_t))) == NULL)
			return PV_ENOMEM;
	}
	return 0;
}

static int
read_dqt(struct jd_image *im, const uint8_t *seg, size_t slen, int64_t off, struct pv_diag *d)
{
	size_t k = 0;

	while (k < slen) {
		unsigned pq = seg[k] >> 4, tq = seg[k] & 15;
		size_t tl = pq ? 128 : 64;
		if (pq > 1 || tq > 3 || slen - k < 1 + tl)
			return pv_diag_set(d, PV_EPARSE, off + (int64_t)k, "JPEG quantisation table is malformed");
		if (im->scans_started && im->dqt_len[tq] != 0)
			return pv_diag_set(d, PV_EUNSUPPORTED, off + (int64_t)k,
			    "JPEG quantisation table redefined between scans is not handled");
		memcpy(im->dqt[tq], seg + k, 1 + tl);
		im->dqt_len[tq] = 1 + tl;
		im->q0[tq] = pq ? jh_be16(seg + k + 1) : seg[k + 1];
		for (size_t i = 0; i < 64; i++)
			if ((pq ? jh_be16(seg + k + 1 + 2 * i) : seg[k + 1 + i]) == 0)
				return pv_diag_set(d, PV_EPARSE, off + (int64_t)k, "JPEG quantisation table has a zero");
		k += 1 + tl;
	}
	return 0;
}

/* Sign extension of an SSSS-bit value (T.81 F.2.2.1, EXTEND). */
static int32_t
extend(uint32_t v, unsigned s)
{
	return v < (1u << (s - 1)) ? (int32_t)v + 1 - (int32_t)(1u << s) : (int32_t)v;
}

static int
read_scan(struct jd_image *im, const uint8_t *in, size_t n, size_t *pos, const uint8_t *hdr, size_t hlen,
    struct pv_diag *d)
{
	struct jd_scan *sc;
	unsigned td[JD_MAXCOMP], ta[JD_MAXCOMP], sum = 0, next_rst = 0;
	int32_t pred[JD_MAXCOMP] = { 0 };
	const int32_t dclim = (int32_t)1 << (im->precision + 2);
	struct jh_reader b;
	uint64_t nmcu;
	int16_t *blk[10];
	unsigned bpos[10];

	if (im->ncomp == 0)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan before the frame header");
	if (hlen < 1 || hdr[0] < 1 || hdr[0] > im->ncomp || hlen != 1 + 2u * hdr[0] + 3 || im->nscans >= JD_MAXCOMP)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan header is malformed");
	sc = &im->scan[im->nscans];
	sc->ns = hdr[0];
	for (unsigned i = 0; i < sc->ns; i++) {
		unsigned k;
		for (k = 0; k < im->ncomp && im->comp[k].id != hdr[1 + 2 * i]; k++)
			;
		if (k == im->ncomp || im->comp[k].coded)
			return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan names an unknown or repeated component");
		for (unsigned j = 0; j < i; j++)
			if (sc->ci[j] == k)
				return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan names a component twice");
		sc->ci[i] = k;
		td[i] = hdr[2 + 2 * i] >> 4;
		ta[i] = hdr[2 + 2 * i] & 15;
		if (td[i] > 3 || ta[i] > 3 || !im->dc[td[i]].defined || !im->ac[ta[i]].defined)
			return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG scan uses an undefined Huffman table");
		if (im->dqt_len[im->comp[k].tq] == 0)
			return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG component uses an undefined quantisation table");
		sum += (unsigned)im->comp[k].h * im->comp[k].v;
	}
	if (sc->ns > 1 && sum > 10)
		return pv_diag_set(d, PV_EPARSE, (int64_t)*pos, "JPEG MCU has %u blocks (at most 10)", sum);
	/* Ss, Se, Ah and Al mean nothing to a sequential frame (T.81 B.2.3 fixes
	 * them at 0, 63, 0, 0); some encoders write other values, which IJG
	 * and dcmtk ignore with a warning: so does this reader (the output has
	 * the right ones). */
	im->scans_started = 1;
	nmcu = mcu_count(im, sc);
	memset(&b, 0, sizeof(b));
	b.p = in;
	b.end = n;
	jh_reset(&b, *pos);
	for (uint64_t m = 0; m < nmcu; m++) {
		unsigned nb;
		if (im->restart != 0 && m != 0 && m % im->restart == 0) {
			/* RSTn, in sequence: realign and start the predictions over. */
			if (b.pos + 1 >= n || in[b.pos] != 0xff || in[b.pos + 1] != 0xd0 + next_rst)
				return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG restart marker %u missing", next_rst);
			jh_reset(&b, b.pos + 2);
			next_rst = (next_rst + 1) & 7;
			memset(pred, 0, sizeof(pred));
		}
		nb = mcu_blocks(im, sc, m, blk, bpos);
		for (unsigned i = 0; i < nb; i++) {
			int16_t *z = blk[i];
			unsigned j = bpos[i];
			int t = jh_decode(&b, &im->dc[td[j]]);
			int32_t v;
			if (t < 0 || (unsigned)t > max_dc_cat(im))
				return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG bad DC code");
			if (t > 0)
				pred[j] += extend(jh_bits(&b, t), (unsigned)t);
			if (pred[j] < -dclim || pred[j] > dclim)
				return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG DC coefficient out of range");
			z[0] = (int16_t)pred[j];
			for (unsigned k = 1; k < 64;) {
				int rs = jh_decode(&b, &im->ac[ta[j]]);
				unsigned r, s;
				if (rs < 0)
					return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG bad AC code");
				r = (unsigned)rs >> 4;
				s = (unsigned)rs & 15;
				if (s == 0) {
					if (r != 15)
						break;  /* EOB */
					if (k + 16 > 63)
						return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG zero run passes the block");
					k += 16;
					continue;
				}
				if (s > max_ac_cat(im) || k + r > 63)
					return pv_diag_set(d, PV_EPARSE, (int64_t)b.pos, "JPEG bad AC coefficient");
				k += r;
				v = extend(jh_bits(&b, (int)s), s);
				z[k++] = (int16_t)v;
			}
			if (b.overrun > 0)
				return pv_diag_set(d, b.eof ? PV_ETRUNC : PV_EPARSE, (int64_t)b.pos,
				    "JPEG scan data ends early");
		}
	}
	*pos = jh_after_scan(in, n, b.pos);  /* padding bits went with the accumulator */
	for (unsigned i = 0; i < sc->ns; i++)
		im->comp[sc->ci[i]].coded = 1;
	im->nscans++;
	return 0;
}

static int
jd_read(const uint8_t *in, size_t n, struct jd_image **out, struct pv_diag *d)
{
	struct jd_image *im;
	size_t pos = 2;
	int rc = 0, eoi = 0;

	*out = NULL;
	if (n < 4 || in[0] != 0xff || in[1] != 0xd8)
		return pv_diag_set(d, PV_EPARSE, 0, "not a JPEG stream (no SOI marker)");
	if ((im = pv_calloc(1, sizeof(*im))) == NULL)
		return PV_ENOMEM;
	while (rc == 0 && !eoi) {
		const uint8_t *seg;
		size_t slen;
		int64_t segoff;
		uint8_t m;
		if ((rc = jh_segment(in, n, &pos, &m, &seg, &slen, d)) != 0)
			break;
		if (seg == NULL) {  /* EOI */
			eoi = 1;
			break;
		}
		segoff = (int64_t)(seg - in);
		switch (m) {
		case 0xc0: case 0xc1:
			im->sof = m;
			rc = read_frame(im, seg, slen, segoff, d);
			break;
		case 0xdb:
			rc = read_dqt(im, seg, slen, segoff, d);
			break;
		case 0xc4:
			rc = jh_read_dht(im->dc, im->ac, seg, slen, segoff, d);
			break;
		case 0xdd:
			if (slen != 2)
				rc = pv_diag_set(d, PV_EPARSE, segoff, "JPEG restart interval segment is malformed");
			else
				im->restart = jh_be16(seg);
			break;
		case 0xda:
			rc = read_scan(im, in, n, &pos, seg, slen, d);
			break;
		case 0xc2: case 0xc3: case 0xc5: case 0xc6: case 0xc7: case 0xc9: case 0xca: case 0xcb:
		case 0xcd: case 0xce: case 0xcf: case 0xf7:
			rc = pv_diag_set(d, PV_EUNSUPPORTED, segoff - 4,
			    "JPEG frame FF%02X is not sequential DCT with Huffman coding", m);
			break;
		case 0xcc: case 0xdc: case 0xde: case 0xdf:
			rc = pv_diag_set(d, PV_EUNSUPPORTED, segoff - 4, "JPEG marker FF%02X is not handled", m);
			break;
		default:  /* APPn, COM and reserved segments: skipped, never copied */
			break;
		}
	}
	if (rc == 0 && im->ncomp == 0)
		rc = pv_diag_set(d, PV_EPARSE, (int64_t)pos, "JPEG stream has no frame header");
	for (unsigned i = 0; rc == 0 && i < im->ncomp; i++)
		if (!im->comp[i].coded)
			rc = pv_diag_set(d, PV_ETRUNC, (int64_t)pos, "JPEG stream ends before component %u is coded", i + 1);
	if (rc != 0) {
		jd_free(im);
		return rc;
	}
	*out = im;
	return 0;
}

/* jd_read, and the frame must be the data set's image (size, samples, 8 or 12 bits). */
static int
jd_read_for(const uint8_t *in, size_t n, const struct pix_desc *pd, struct jd_image **out, struct pv_diag *d)
{
	struct jd_image *im;
	int rc;

	if ((rc = jd_read(in, n, &im, d)) != 0)
		return rc;
	if (im->width != pd->cols || im->height != pd->rows || im->ncomp != pd->spp ||
	    im->precision != (pd->bits_alloc == 8 ? 8u : 12u) || pd->bits_alloc > 16) {
		rc = pv_diag_set(d, PV_EPARSE, 0,
		    "JPEG frame is %ux%u with %u components of %u bits, the data set says %ux%u with %u of %u",
		    im->width, im->height, im->ncomp, im->precision, (unsigned)pd->cols, (unsigned)pd->rows,
		    (unsigned)pd->spp, (unsigned)pd->bits_alloc);
		jd_free(im);
		return rc;
	}
	*out = im;
	return 0;
}

/* ---- writing ---- */

/* The table a scan's j-th component is coded with: 0 for the first, 1 for
 * the others (what baseline allows too). */
static unsigned
table_of(unsigned j)
{
	return j == 0 ? 0 : 1;
}

/* Counts (mode 0) or writes (mode 1) the entropy-coded data of scan sc. */
static void
code_scan(const struct jd_image *im, const struct jd_scan *sc, int mode, uint32_t freq_dc[2][256],
    uint32_t freq_ac[2][256], const struct jh_table dc[2], const struct jh_table ac[2], struct jh_writer *w)
{
	int32_t pred[JD_MAXCOMP] = { 0 };
	uint64_t nmcu = mcu_count(im, sc);
	unsigned next_rst = 0;
	int16_t *blk[10];
	unsigned bpos[10];

	for (uint64_t m = 0; m < nmcu; m++) {
		unsigned nb;
		if (im->restart != 0 && m != 0 && m % im->restart == 0) {
			memset(pred, 0, sizeof(pred));
			if (mode == 1) {
				jh_flush(w);
				if (w->rc == 0)
					w->rc = pv_buf_putc(w->out, (char)0xff);
				if (w->rc == 0)
					w->rc = pv_buf_putc(w->out, (char)(0xd0 + next_rst));
			}
			next_rst = (next_rst + 1) & 7;
		}
		nb = mcu_blocks(im, sc, m, blk, bpos);
		for (unsigned i = 0; i < nb; i++) {
			const int16_t *z = blk[i];
			unsigned j = bpos[i], t = table_of(j), s, run = 0;
			int32_t diff = z[0] - pred[j];
			pred[j] = z[0];
			s = jh_category(diff);
			if (mode == 0) {
				freq_dc[t][s]++;
			} else {
				jh_put(w, dc[t].code[s], dc[t].size[s]);
				if (s > 0)
					jh_put(w, (uint32_t)(diff < 0 ? diff - 1 : diff), (int)s);
			}
			for (unsigned k = 1; k < 64; k++) {
				int32_t v = z[k];
				if (v == 0) {
					run++;
					continue;
				}
				while (run > 15) {
					if (mode == 0)
						freq_ac[t][0xf0]++;
					else
						jh_put(w, ac[t].code[0xf0], ac[t].size[0xf0]);
					run -= 16;
				}
				s = jh_category(v);
				unsigned rs = run << 4 | s;
				if (mode == 0) {
					freq_ac[t][rs]++;
				} else {
					jh_put(w, ac[t].code[rs], ac[t].size[rs]);
					jh_put(w, (uint32_t)(v < 0 ? v - 1 : v), (int)s);
				}
				run = 0;
			}
			if (run > 0) {
				if (mode == 0)
					freq_ac[t][0x00]++;
				else
					jh_put(w, ac[t].code[0x00], ac[t].size[0x00]);
			}
		}
	}
	if (mode == 1)
		jh_flush(w);
}

static int
put_marker_seg(struct pv_buf *out, uint8_t m, const void *body, size_t n)
{
	uint8_t h[4] = { 0xff, m, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2) };
	int rc = pv_buf_append(out, h, 4);
	return rc == 0 && n > 0 ? pv_buf_append(out, body, n) : rc;
}

static int
jd_write(const struct jd_image *im, struct pv_buf *out)
{
	static const uint8_t soi[2] = { 0xff, 0xd8 }, eoi[2] = { 0xff, 0xd9 };
	int rc = pv_buf_append(out, soi, 2);

	for (unsigned t = 0; t < 4 && rc == 0; t++)
		if (im->dqt_len[t] != 0)
			rc = put_marker_seg(out, 0xdb, im->dqt[t], im->dqt_len[t]);
	if (rc == 0)
		rc = put_marker_seg(out, im->sof, im->sof_seg, im->sof_len);
	if (rc == 0 && im->restart != 0) {
		uint8_t ri[2] = { (uint8_t)(im->restart >> 8), (uint8_t)im->restart };
		rc = put_marker_seg(out, 0xdd, ri, 2);
	}
	for (unsigned si = 0; si < im->nscans && rc == 0; si++) {
		const struct jd_scan *sc = &im->scan[si];
		uint32_t freq_dc[2][256], freq_ac[2][256];
		struct jh_table dc[2], ac[2];
		struct jh_writer w = { out, 0, 0, 0 };
		struct pv_diag hd;
		uint8_t seg[2 * (1 + 16 + 256) * 2], sos[1 + 2 * JD_MAXCOMP + 3];
		size_t k = 0, ntab = sc->ns > 1 ? 2 : 1;

		pv_diag_clear(&hd);
		memset(freq_dc, 0, sizeof(freq_dc));
		memset(freq_ac, 0, sizeof(freq_ac));
		code_scan(im, sc, 0, freq_dc, freq_ac, NULL, NULL, NULL);
		for (size_t t = 0; t < ntab; t++) {
			/* a table with nothing to code still needs one code */
			if (freq_ac[t][0x00] == 0)
				freq_ac[t][0x00] = 1;
			if (freq_dc[t][0] == 0)
				freq_dc[t][0] = 1;
			jh_optimal(&dc[t], freq_dc[t]);
			jh_optimal(&ac[t], freq_ac[t]);
			if (jh_derive(&dc[t], &hd, 0) != 0 || jh_derive(&ac[t], &hd, 0) != 0)
				return PV_EINTERNAL;
			for (int cls = 0; cls < 2; cls++) {
				const struct jh_table *h = cls ? &ac[t] : &dc[t];
				unsigned nv = 0;
				seg[k++] = (uint8_t)(cls << 4 | t);
				for (int l = 1; l <= 16; l++) {
					seg[k++] = h->bits[l];
					nv += h->bits[l];
				}
				memcpy(seg + k, h->vals, nv);
				k += nv;
			}
		}
		rc = put_marker_seg(out, 0xc4, seg, k);
		k = 0;
		sos[k++] = (uint8_t)sc->ns;
		for (unsigned j = 0; j < sc->ns; j++) {
			sos[k++] = im->comp[sc->ci[j]].id;
			sos[k++] = (uint8_t)(table_of(j) << 4 | table_of(j));
		}
		sos[k++] = 0;
		sos[k++] = 63;
		sos[k++] = 0;
		if (rc == 0)
			rc = put_marker_seg(out, 0xda, sos, k);
		w.rc = rc;
		if (rc == 0)
			code_scan(im, sc, 1, NULL, NULL, dc, ac, &w);
		rc = w.rc;
	}
	if (rc == 0)
		rc = pv_buf_append(out, eoi, 2);
	return rc;
}

int
jpegdct_blank(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, uint64_t *blocks, struct pv_diag *d)
{
	struct jd_image *im = NULL;
	size_t start = out->len;
	int rc;

	*blocks = 0;
	if ((rc = jd_read_for(in, n, pd, &im, d)) != 0)
		return rc;
	for (unsigned c = 0; c < im->ncomp; c++) {
		struct jd_comp *ci = &im->comp[c];
		int64_t q0 = im->q0[ci->tq], half = (int64_t)1 << (im->precision - 1);
		int64_t v = pix_fill_value(pd, c), num, dc;
		uint64_t bw = (uint64_t)8 * im->hmax, bh = (uint64_t)8 * im->vmax;
		if (v > 2 * half - 1)
			v = 2 * half - 1;
		/* A flat block of value v: DC = 8 (v - 2^(P-1)) / Q0, rounded; at
		 * either end of the range rounded outwards, where the decoder's
		 * clamp makes it exact. */
		num = (v - half) * 8;
		if (v == 0)
			dc = -((-num + q0 - 1) / q0);
		else if (v == 2 * half - 1)
			dc = (num + q0 - 1) / q0;
		else
			dc = num >= 0 ? (num + q0 / 2) / q0 : -((-num + q0 / 2) / q0);

		for (size_t k = 0; k < nr; k++) {
			struct pix_rect cr;
			if (!pix_rect_clip(pd, &r[k], &cr))
				continue;
			uint64_t bx0 = (uint64_t)cr.x * ci->h / bw;
			uint64_t bx1 = ((uint64_t)(cr.x + cr.w) * ci->h + bw - 1) / bw;
			uint64_t by0 = (uint64_t)cr.y * ci->v / bh;
			uint64_t by1 = ((uint64_t)(cr.y + cr.h) * ci->v + bh - 1) / bh;
			if (bx1 > ci->pbw)
				bx1 = ci->pbw;
			if (by1 > ci->pbh)
				by1 = ci->pbh;
			for (uint64_t by = by0; by < by1; by++)
				for (uint64_t bx = bx0; bx < bx1; bx++) {
					int16_t *z = ci->coef + ((size_t)by * ci->pbw + bx) * 64;
					z[0] = (int16_t)dc;
					memset(z + 1, 0, 63 * sizeof(int16_t));
					if (bx < ci->bw && by < ci->bh)
						(*blocks)++;
				}
		}
	}
	rc = jd_write(im, out);
	if (rc != 0) {
		out->len = start;
		rc = pv_diag_set(d, rc, 0, "cannot write the cleaned JPEG frame");
	}
	jd_free(im);
	return rc;
}

/* ---- decoding to samples (for the scanner: text detection and OCR) ---- */

/* Zigzag position k -> natural (row-major) index in the 8x8 block. */
static const uint8_t natural_of[64] = {
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* The inverse DCT of T.81 A.3.3 (separable, in double precision), level
 * shifted and clamped to 0..2^P-1. */
static void
idct_block(const int16_t *z, const uint8_t *qt, int q16, unsigned precision, int32_t out[64])
{
	static double cosk[8][8];
	static int ready;
	double f[64], t[64];
	const int32_t half = 1 << (precision - 1), max = (1 << precision) - 1;

	if (!ready) {  /* benign race: every thread writes the same values */
		for (int x = 0; x < 8; x++)
			for (int u = 0; u < 8; u++)
				cosk[x][u] = (u == 0 ? sqrt(0.5) : 1.0) * cos((2.0 * x + 1.0) * u * M_PI / 16.0);
		ready = 1;
	}
	memset(f, 0, sizeof(f));
	for (int k = 0; k < 64; k++) {
		int q = q16 ? (qt[1 + 2 * k] << 8 | qt[2 + 2 * k]) : qt[1 + k];
		f[natural_of[k]] = (double)z[k] * q;
	}
	for (int y = 0; y < 8; y++)          /* rows: v -> y */
		for (int u = 0; u < 8; u++) {
			double a = 0;
			for (int v = 0; v < 8; v++)
				a += cosk[y][v] * f[v * 8 + u];
			t[y * 8 + u] = a / 2.0;
		}
	for (int y = 0; y < 8; y++)          /* columns: u -> x */
		for (int x = 0; x < 8; x++) {
			double a = 0;
			for (int u = 0; u < 8; u++)
				a += cosk[x][u] * t[y * 8 + u];
			int32_t v = (int32_t)lround(a / 2.0) + half;
			out[y * 8 + x] = v < 0 ? 0 : v > max ? max : v;
		}
}

int
jpegdct_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out, struct pv_diag *d)
{
	struct jd_image *im = NULL;
	int32_t blk[64];
	int rc;

	if ((rc = jd_read_for(in, n, pd, &im, d)) != 0)
		return rc;
	/* Each block of each component to samples; subsampled components are
	 * replicated up to the full grid (no colour conversion: the data set's
	 * photometric says what the components are). */
	for (unsigned c = 0; c < im->ncomp; c++) {
		const struct jd_comp *ci = &im->comp[c];
		const uint8_t *qt = im->dqt[ci->tq];
		int q16 = (qt[0] >> 4) != 0;
		unsigned sx = im->hmax / ci->h, sy = im->vmax / ci->v;
		if (im->hmax % ci->h != 0 || im->vmax % ci->v != 0) {
			jd_free(im);
			return pv_diag_set(d, PV_EUNSUPPORTED, 0, "JPEG with fractional sampling factors is not decoded here");
		}
		for (uint32_t by = 0; by < ci->bh; by++)
			for (uint32_t bx = 0; bx < ci->bw; bx++) {
				idct_block(ci->coef + ((size_t)by * ci->pbw + bx) * 64, qt, q16, im->precision, blk);
				for (unsigned yy = 0; yy < 8; yy++)
					for (unsigned xx = 0; xx < 8; xx++)
						for (unsigned ry = 0; ry < sy; ry++)
							for (unsigned rx = 0; rx < sx; rx++) {
								uint64_t X = ((uint64_t)bx * 8 + xx) * sx + rx;
								uint64_t Y = ((uint64_t)by * 8 + yy) * sy + ry;
								size_t i;
								if (X >= pd->cols || Y >= pd->rows)
									continue;
								i = ((size_t)Y * pd->cols + (size_t)X) * pd->spp + c;
								if (pd->bits_alloc == 8) {
									out[i] = (uint8_t)blk[yy * 8 + xx];
								} else {
									out[2 * i] = (uint8_t)blk[yy * 8 + xx];
									out[2 * i + 1] = (uint8_t)(blk[yy * 8 + xx] >> 8);
								}
							}
			}
	}
	jd_free(im);
	return 0;
}
