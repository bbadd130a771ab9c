/*
 * textdetect.c: text-like regions in an image, without recognising a
 * character (OCR misses small bitmap fonts; this does not).
 *
 * Burned-in text is rows of small, high-contrast marks on a flat
 * background: the banner of an ultrasound, the corner text of a screen
 * capture. The image is thresholded both ways (bright text, dark text),
 * at two levels (full-contrast text, then grey text); boxes of one line
 * found more than once are merged;
 * each connected component (8-connected) whose size is that of a glyph of
 * a 5x7 or larger font, whose ink fills a plausible share of its box and
 * whose surrounding ring is flat becomes a glyph candidate; candidates of
 * similar height on one baseline with gaps under 1.5 glyph heights are
 * joined into lines, and a line of three or more glyphs is reported.
 * Anatomy gives components that are too large, too small or not on a flat
 * background, and no rows of them.
 */
#include "pacsvault/deid/scan.h"
#include "pacsvault/base/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COMPONENTS 20000
#define MAX_GLYPHS 4000

struct comp {
	uint32_t x0, y0, x1, y1, count;
	uint64_t sum;   /* of the grey values of its pixels */
};

static uint32_t
find(uint32_t *p, uint32_t a)
{
	while (p[a] != a) {
		p[a] = p[p[a]];
		a = p[a];
	}
	return a;
}

/*
 * The ring of width 3 around a box must be flat (max - min of its pixels
 * at most 48) and the glyph must stand out from it (its mean at least 40
 * beyond the ring's extreme): text is drawn to be read, while a threshold
 * crossing a smooth structure gives marks barely past it. Pixels next to
 * ink (within a 5x5 square) are not the background: they are
 * the anti-aliased edges of this glyph or of its neighbours on the line.
 */
/* 1 when ink lies within 2 pixels of (x, y) (a 5x5 square). */
static int
near_ink(const uint8_t *ink, uint32_t w, uint32_t h, int64_t x, int64_t y)
{
	for (int64_t yy = y - 2; yy <= y + 2; yy++) {
		if (yy < 0 || yy >= (int64_t)h)
			continue;
		for (int64_t xx = x - 2; xx <= x + 2; xx++)
			if (xx >= 0 && xx < (int64_t)w && ink[(size_t)yy * w + (size_t)xx])
				return 1;
	}
	return 0;
}

static int
ring_flat(const uint8_t *g, const uint8_t *ink, uint32_t w, uint32_t h, const struct comp *c, int dark)
{
	int lo = 255, hi = 0, n = 0;
	int64_t x0 = (int64_t)c->x0 - 3, y0 = (int64_t)c->y0 - 3, x1 = (int64_t)c->x1 + 3, y1 = (int64_t)c->y1 + 3;
	for (int64_t y = y0; y <= y1; y++)
		for (int64_t x = x0; x <= x1; x++) {
			if (y >= y0 + 3 && y <= y1 - 3 && x >= x0 + 3 && x <= x1 - 3)
				continue;  /* inside the box */
			if (x < 0 || y < 0 || x >= w || y >= h)
				continue;
			size_t i = (size_t)y * w + (size_t)x;
			if (near_ink(ink, w, h, x, y))
				continue;
			if (g[i] < lo)
				lo = g[i];
			if (g[i] > hi)
				hi = g[i];
			n++;
		}
	if (n == 0 || hi - lo > 48)
		return 0;
	int mean = (int)(c->sum / c->count);
	return dark ? lo - mean >= 40 : mean - hi >= 40;
}

static size_t
detect(const uint8_t *g, uint32_t w, uint32_t h, int dark, int level, struct pix_rect *out, size_t max)
{
	size_t npix = (size_t)w * h, nout = 0;
	uint8_t *ink = malloc(npix);
	uint32_t *lab = pv_calloc(npix, sizeof(uint32_t)), *par = NULL;
	struct comp *cs = NULL;
	uint32_t ncomp = 0;
	struct comp *gl = NULL;
	uint32_t ngl = 0;

	if (ink == NULL || lab == NULL)
		goto out;
	/* Ink: past a level towards the text; level 0 for text of full contrast, level 1 for grey
	 * text (grey on black, mid-grey on a light banner) that the first level does not reach. */
	{
		uint8_t t = dark ? (level ? 160 : 64) : (level ? 96 : 160);
		for (size_t i = 0; i < npix; i++)
			ink[i] = dark ? g[i] <= t : g[i] >= t;
	}
	/* Two-pass labelling with union-find. */
	par = pv_mallocarray(MAX_COMPONENTS + 1, sizeof(uint32_t));
	if (par == NULL)
		goto out;
	par[0] = 0;
	uint32_t next = 1;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (!ink[i])
				continue;
			uint32_t nb[4], k = 0;
			if (x > 0 && lab[i - 1])
				nb[k++] = lab[i - 1];
			if (y > 0) {
				if (lab[i - w])
					nb[k++] = lab[i - w];
				if (x > 0 && lab[i - w - 1])
					nb[k++] = lab[i - w - 1];
				if (x + 1 < w && lab[i - w + 1])
					nb[k++] = lab[i - w + 1];
			}
			if (k == 0) {
				if (next > MAX_COMPONENTS)
					goto out;  /* noise, not text: give up on this polarity */
				par[next] = next;
				lab[i] = next++;
				continue;
			}
			uint32_t m = find(par, nb[0]);
			for (uint32_t j = 1; j < k; j++) {
				uint32_t r = find(par, nb[j]);
				if (r < m) {
					par[m] = r;
					m = r;
				} else if (r > m) {
					par[r] = m;
				}
			}
			lab[i] = m;
		}
	if ((cs = pv_calloc(next, sizeof(*cs))) == NULL)
		goto out;
	for (uint32_t l = 1; l < next; l++) {
		cs[l].x0 = cs[l].y0 = UINT32_MAX;
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			if (!lab[i])
				continue;
			struct comp *c = &cs[find(par, lab[i])];
			if (x < c->x0) c->x0 = x;
			if (y < c->y0) c->y0 = y;
			if (x > c->x1) c->x1 = x;
			if (y > c->y1) c->y1 = y;
			c->count++;
			c->sum += g[i];
		}
	ncomp = next;
	if ((gl = pv_calloc(MAX_GLYPHS, sizeof(*gl))) == NULL)
		goto out;
	for (uint32_t l = 1; l < ncomp && ngl < MAX_GLYPHS; l++) {
		struct comp *c = &cs[l];
		if (c->count == 0)
			continue;
		uint32_t cw = c->x1 - c->x0 + 1, ch = c->y1 - c->y0 + 1;
		if (ch < 5 || ch > 48 || cw > 40 || cw * 2 > ch * 5 || c->count < 3)
			continue;
		uint64_t area = (uint64_t)cw * ch;
		if (c->count * 100 < area * 10 || c->count * 100 > area * 95)
			continue;
		if (!ring_flat(g, ink, w, h, c, dark))
			continue;
		gl[ngl++] = *c;
	}
	/* Lines: glyphs of similar height on one baseline, close together. */
	{
		uint32_t *lp = pv_mallocarray(ngl + 1, sizeof(uint32_t));
		uint32_t *cnt = pv_calloc(ngl + 1, sizeof(uint32_t));
		if (lp == NULL || cnt == NULL) {
			free(lp);
			free(cnt);
			goto out;
		}
		for (uint32_t i = 0; i < ngl; i++)
			lp[i] = i;
		for (uint32_t i = 0; i < ngl; i++)
			for (uint32_t j = i + 1; j < ngl; j++) {
				struct comp *a = &gl[i], *b = &gl[j];
				int64_t ha = a->y1 - a->y0 + 1, hb = b->y1 - b->y0 + 1, hm = ha > hb ? ha : hb;
				if (ha * 2 < hb || hb * 2 < ha)
					continue;
				int64_t ca = ((int64_t)a->y0 + a->y1), cb = ((int64_t)b->y0 + b->y1);
				if ((ca > cb ? ca - cb : cb - ca) > hm)  /* centres within half a height */
					continue;
				int64_t gap = (int64_t)b->x0 > (int64_t)a->x1 ? (int64_t)b->x0 - a->x1 :
				    (int64_t)a->x0 > (int64_t)b->x1 ? (int64_t)a->x0 - b->x1 : 0;
				if (gap * 2 > hm * 3)
					continue;
				uint32_t ra = find(lp, i), rb = find(lp, j);
				if (ra != rb)
					lp[ra > rb ? ra : rb] = ra < rb ? ra : rb;
			}
		for (uint32_t i = 0; i < ngl; i++)
			cnt[find(lp, i)]++;
		for (uint32_t r = 0; r < ngl && nout < max; r++) {
			if (cnt[r] < 3 || find(lp, r) != r)
				continue;
			uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
			for (uint32_t i = 0; i < ngl; i++)
				if (find(lp, i) == r) {
					if (gl[i].x0 < x0) x0 = gl[i].x0;
					if (gl[i].y0 < y0) y0 = gl[i].y0;
					if (gl[i].x1 > x1) x1 = gl[i].x1;
					if (gl[i].y1 > y1) y1 = gl[i].y1;
				}
			/*
			 * The line takes in the marks beside it on its band that failed
			 * the glyph tests: a glyph cut by the image's edge, the dot of an
			 * i, a stroke of a CJK character apart from the rest, punctuation.
			 * Only marks no taller than the line and at most three line
			 * heights wide, within one and a half line heights of it.
			 */
			for (int grew = 1, round = 0; grew && round < 8; round++) {
				int64_t lh = (int64_t)y1 - y0 + 1;

				grew = 0;
				for (uint32_t l = 1; l < ncomp; l++) {
					const struct comp *c = &cs[l];
					int64_t cy = ((int64_t)c->y0 + c->y1) / 2, gap;

					if (c->count == 0 || (int64_t)(c->y1 - c->y0 + 1) > lh + 2 ||
					    (int64_t)(c->x1 - c->x0 + 1) > 3 * lh || cy < (int64_t)y0 || cy > (int64_t)y1)
						continue;
					if (c->x0 >= x0 && c->x1 <= x1 && c->y0 >= y0 && c->y1 <= y1)
						continue;  /* inside already */
					gap = (int64_t)c->x0 > (int64_t)x1 ? (int64_t)c->x0 - x1 :
					    (int64_t)x0 > (int64_t)c->x1 ? (int64_t)x0 - c->x1 : 0;
					if (gap * 2 > lh * 3)
						continue;
					if (c->x0 < x0) x0 = c->x0;
					if (c->y0 < y0) y0 = c->y0;
					if (c->x1 > x1) x1 = c->x1;
					if (c->y1 > y1) y1 = c->y1;
					grew = 1;
				}
			}
			/* a margin of 2 pixels, inside the image */
			x0 = x0 >= 2 ? x0 - 2 : 0;
			y0 = y0 >= 2 ? y0 - 2 : 0;
			x1 = x1 + 2 < w ? x1 + 2 : w - 1;
			y1 = y1 + 2 < h ? y1 + 2 : h - 1;
			out[nout++] = (struct pix_rect){ x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
		}
		free(lp);
		free(cnt);
	}
out:
	free(ink);
	free(lab);
	free(par);
	free(cs);
	free(gl);
	return nout;
}

size_t
scan_text_regions(const uint8_t *g, uint32_t w, uint32_t h, int grey, struct pix_rect *out, size_t max)
{
	size_t n;
	if (w < 8 || h < 8 || (uint64_t)w * h > ((uint64_t)1 << 28))
		return 0;
	n = 0;
	for (int level = 0; level < (grey ? 2 : 1) && n < max; level++)
		for (int dark = 0; dark < 2 && n < max; dark++) {
			size_t m = detect(g, w, h, dark, level, out + n, max - n), kept = n;

			/* The same line found again (another level or polarity) widens the box found first. */
			for (size_t i = n; i < n + m; i++) {
				struct pix_rect r = out[i];
				size_t k;

				for (k = 0; k < kept; k++)
					if (r.x < out[k].x + out[k].w && out[k].x < r.x + r.w && r.y < out[k].y + out[k].h &&
					    out[k].y < r.y + r.h)
						break;
				if (k == kept) {
					out[kept++] = r;
					continue;
				}
				uint32_t x0 = r.x < out[k].x ? r.x : out[k].x, y0 = r.y < out[k].y ? r.y : out[k].y;
				uint32_t x1 = r.x + r.w > out[k].x + out[k].w ? r.x + r.w : out[k].x + out[k].w;
				uint32_t y1 = r.y + r.h > out[k].y + out[k].h ? r.y + r.h : out[k].y + out[k].h;
				out[k] = (struct pix_rect){ x0, y0, x1 - x0, y1 - y0 };
			}
			n = kept;
		}
	return n;
}
