/* test_codec.c: unit tests of src/codec and the pixel rules of src/deid. */
#include "harness.h"
#include "tests.h"
#include "pacsvault/codec/codec.h"
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/deid/scan.h"
#include "pacsvault/deid/textclean.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* A deterministic test image: smooth gradients, noise, flat runs and text-like blocks. */
static uint8_t *
make_frame(const struct pix_desc *pd, uint32_t seed)
{
	size_t fb = pix_frame_bytes(pd);
	uint8_t *p = malloc(fb);
	uint32_t mask = (1u << pd->bits_stored) - 1, s = seed * 2654435761u + 1;

	for (uint32_t y = 0; y < pd->rows; y++)
		for (uint32_t x = 0; x < pd->cols; x++)
			for (uint32_t c = 0; c < pd->spp; c++) {
				uint32_t v;
				s = s * 1103515245u + 12345u;
				if (y < pd->rows / 4)
					v = (x / 3 % 2) ? mask : 0;         /* stripes: replicate runs */
				else if (y < pd->rows / 2)
					v = (x * 7 + y * 3 + c * 50) & mask; /* gradient */
				else
					v = (s >> 8) & mask;                /* noise: literals */
				size_t i = ((size_t)y * pd->cols + x) * pd->spp + c;
				if (pd->bits_alloc == 8)
					p[i] = (uint8_t)v;
				else {
					p[2 * i] = (uint8_t)v;
					p[2 * i + 1] = (uint8_t)(v >> 8);
				}
			}
	return p;
}

static struct pix_desc
desc(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba, uint16_t bs, const char *pi)
{
	struct pix_desc pd;
	memset(&pd, 0, sizeof(pd));
	pd.rows = rows;
	pd.cols = cols;
	pd.frames = 1;
	pd.spp = spp;
	pd.bits_alloc = ba;
	pd.bits_stored = bs;
	snprintf(pd.photometric, sizeof(pd.photometric), "%s", pi);
	return pd;
}

void
test_pix_blank(void)
{
	struct pix_desc pd = desc(4, 5, 1, 16, 12, "MONOCHROME2");
	uint8_t *p = make_frame(&pd, 1), *q;
	struct pix_rect r[2] = { { 1, 1, 2, 2 }, { 4, 3, 10, 10 } };  /* the second is clipped to 1x1 */

	q = malloc(pix_frame_bytes(&pd));
	memcpy(q, p, pix_frame_bytes(&pd));
	T_EQ_U64(pix_blank(q, &pd, r, 2), 5);
	for (uint32_t y = 0; y < 4; y++)
		for (uint32_t x = 0; x < 5; x++) {
			size_t i = 2 * ((size_t)y * 5 + x);
			int in = (x >= 1 && x < 3 && y >= 1 && y < 3) || (x == 4 && y == 3);
			if (in)
				T_ASSERT(q[i] == 0 && q[i + 1] == 0);
			else
				T_ASSERT(q[i] == p[i] && q[i + 1] == p[i + 1]);
		}
	/* MONOCHROME1: the largest stored value; YBR: neutral chroma; planar 1. */
	pd = desc(2, 2, 1, 16, 12, "MONOCHROME1");
	T_EQ_INT(pix_fill_value(&pd, 0), 4095);
	pd = desc(2, 2, 3, 8, 8, "YBR_FULL");
	T_EQ_INT(pix_fill_value(&pd, 0), 0);
	T_EQ_INT(pix_fill_value(&pd, 1), 128);
	pd.planar = 1;
	{
		uint8_t img[12];
		struct pix_rect one = { 1, 0, 1, 1 };
		memset(img, 7, sizeof(img));
		T_EQ_U64(pix_blank(img, &pd, &one, 1), 1);
		/* planes of 4: Y at 1, Cb at 5, Cr at 9 */
		T_EQ_INT(img[1], 0);
		T_EQ_INT(img[5], 128);
		T_EQ_INT(img[9], 128);
		T_EQ_INT(img[0], 7);
		T_EQ_INT(img[4], 7);
	}
	free(p);
	free(q);
}

void
test_rle_round_trip(void)
{
	static const struct { uint16_t spp, ba, bs; } k[] = { { 1, 8, 8 }, { 1, 16, 12 }, { 3, 8, 8 }, { 1, 16, 16 }, { 3, 16, 16 } };
	for (size_t t = 0; t < sizeof(k) / sizeof(k[0]); t++) {
		struct pix_desc pd = desc(37, 301, k[t].spp, k[t].ba, k[t].bs, k[t].spp == 3 ? "RGB" : "MONOCHROME2");
		size_t fb = pix_frame_bytes(&pd);
		uint8_t *p = make_frame(&pd, (uint32_t)t), *q = calloc(1, fb);
		struct pv_buf out;
		struct pv_diag d;
		pv_buf_init(&out, (size_t)1 << 28);
		pv_diag_clear(&d);
		T_EQ_INT(rle_encode(p, &pd, &out), 0);
		T_EQ_INT(out.len % 2, 0);
		T_EQ_INT(rle_decode((const uint8_t *)out.data, out.len, &pd, q, &d), 0);
		T_EQ_MEM(p, q, fb);
		/* Every truncation is refused (never a crash, never a partial success). */
		for (size_t cut = 0; cut < out.len; cut += out.len / 23 + 1) {
			pv_diag_clear(&d);
			T_ASSERT(rle_decode((const uint8_t *)out.data, cut, &pd, q, &d) != 0);
		}
		/* A header that does not describe this image is refused. */
		{
			struct pix_desc other = pd;
			other.spp = pd.spp == 1 ? 3 : 1;
			pv_diag_clear(&d);
			T_ASSERT(rle_decode((const uint8_t *)out.data, out.len, &other, q, &d) != 0);
		}
		pv_buf_free(&out);
		free(p);
		free(q);
	}
}

void
test_jpeg_lossless_round_trip(void)
{
	static const struct { uint16_t spp, ba, bs; unsigned prec; } k[] = {
		{ 1, 8, 8, 8 }, { 1, 16, 12, 12 }, { 1, 16, 16, 16 }, { 3, 8, 8, 8 }, { 1, 16, 10, 16 },
	};
	for (size_t t = 0; t < sizeof(k) / sizeof(k[0]); t++)
		for (unsigned sv = 1; sv <= 7; sv++)
			for (unsigned pt = 0; pt <= 2; pt += 2) {
				struct pix_desc pd = desc(33, 47, k[t].spp, k[t].ba, k[t].bs, k[t].spp == 3 ? "RGB" : "MONOCHROME2");
				size_t fb = pix_frame_bytes(&pd);
				uint8_t *p = make_frame(&pd, (uint32_t)(t * 100 + sv)), *q = calloc(1, fb);
				struct jpegll_params in = { k[t].prec, sv, pt }, got;
				struct pv_buf out;
				struct pv_diag d;
				int ok = 1;
				pv_buf_init(&out, (size_t)1 << 28);
				pv_diag_clear(&d);
				T_EQ_INT(jpegll_encode(p, &pd, &in, &out), 0);
				T_EQ_INT(jpegll_decode((const uint8_t *)out.data, out.len, &pd, q, &got, &d), 0);
				T_EQ_INT(got.predictor, sv);
				T_EQ_INT(got.pt, pt);
				T_EQ_INT(got.precision, k[t].prec);
				for (size_t i = 0; i < fb / (k[t].ba / 8u) && ok; i++) {
					uint32_t a = k[t].ba == 8 ? p[i] : (uint32_t)(p[2 * i] | p[2 * i + 1] << 8);
					uint32_t b = k[t].ba == 8 ? q[i] : (uint32_t)(q[2 * i] | q[2 * i + 1] << 8);
					uint32_t want = ((a & ((1u << k[t].prec) - 1)) >> pt) << pt;
					if (want != b) {
						t_fail(__FILE__, __LINE__, "bits %u sv %u pt %u: sample %zu is %u, want %u",
						    k[t].prec, sv, pt, i, b, want);
						ok = 0;
					}
				}
				for (size_t cut = 2; cut + 2 < out.len; cut += out.len / 7 + 1) {
					pv_diag_clear(&d);
					T_ASSERT(jpegll_decode((const uint8_t *)out.data, cut, &pd, q, &got, &d) != 0);
				}
				pv_buf_free(&out);
				free(p);
				free(q);
			}
}

void
test_jpegls_round_trip(void)
{
	static const struct { uint16_t spp, ba, bs; int near, il; } k[] = {
		{ 1, 8, 8, 0, 0 }, { 1, 16, 12, 0, 0 }, { 3, 8, 8, 0, 0 }, { 3, 8, 8, 0, 1 }, { 3, 8, 8, 0, 2 },
		{ 1, 16, 16, 0, 0 }, { 1, 8, 8, 3, 0 },
	};
	for (size_t t = 0; t < sizeof(k) / sizeof(k[0]); t++) {
		struct pix_desc pd = desc(41, 29, k[t].spp, k[t].ba, k[t].bs, k[t].spp == 3 ? "RGB" : "MONOCHROME2");
		size_t fb = pix_frame_bytes(&pd);
		uint8_t *p = make_frame(&pd, (uint32_t)t + 7), *q = calloc(1, fb);
		struct jpegls_params in, got;
		struct pv_buf out;
		struct pv_diag d;
		memset(&in, 0, sizeof(in));
		in.near = k[t].near;
		in.interleave = k[t].il;
		pv_buf_init(&out, (size_t)1 << 28);
		pv_diag_clear(&d);
		T_EQ_INT(jpegls_encode(p, &pd, &in, &out, &d), 0);
		T_EQ_INT(jpegls_decode((const uint8_t *)out.data, out.len, &pd, q, &got, &d), 0);
		T_EQ_INT(got.near, k[t].near);
		if (pd.spp > 1)
			T_EQ_INT(got.interleave, k[t].il);
		if (k[t].near == 0) {
			T_EQ_MEM(p, q, fb);
		} else {
			int worst = 0;
			for (size_t i = 0; i < fb; i++) {
				int dd = abs((int)p[i] - (int)q[i]);
				worst = dd > worst ? dd : worst;
			}
			T_ASSERT(worst <= k[t].near);
		}
		pv_diag_clear(&d);
		T_ASSERT(jpegls_decode((const uint8_t *)out.data, out.len / 2, &pd, q, &got, &d) != 0);
		pv_buf_free(&out);
		free(p);
		free(q);
	}
}

/* An 8-bit JPEG made by libjpeg itself, as a source for the DCT-domain test.
 * layout: 0 libjpeg's defaults (one interleaved scan; 4:2:0 for colour),
 * 1 restart interval of 3 MCUs, 2 one scan per component (non-interleaved)
 * with a restart interval of 5, 3 colour 4:2:2 with restarts every row. */
static unsigned char *
libjpeg_encode_layout(const uint8_t *img, unsigned w, unsigned h, int comps, int layout, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	jpeg_scan_info scans[3];

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = comps;
	c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 85, TRUE);
	if (layout == 1)
		c.restart_interval = 3;
	if (layout == 2) {
		for (int i = 0; i < comps; i++) {
			scans[i].comps_in_scan = 1;
			scans[i].component_index[0] = i;
			scans[i].Ss = 0;
			scans[i].Se = 63;
			scans[i].Ah = 0;
			scans[i].Al = 0;
		}
		c.scan_info = scans;
		c.num_scans = comps;
		c.restart_interval = 5;
	}
	if (layout == 3 && comps == 3) {
		c.comp_info[0].h_samp_factor = 2;
		c.comp_info[0].v_samp_factor = 1;
		c.restart_in_rows = 1;
	}
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < h) {
		JSAMPROW row = (JSAMPROW)(img + (size_t)c.next_scanline * w * (unsigned)comps);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

static unsigned char *
libjpeg_encode(const uint8_t *img, unsigned w, unsigned h, int comps, unsigned long *len)
{
	return libjpeg_encode_layout(img, w, h, comps, 0, len);
}

/*
 * The in-house coefficient codec (jpegdct.c) against libjpeg on 8-bit
 * streams of every layout: with no rectangle its output decodes (by
 * libjpeg) to exactly the source's pixels; with rectangles, to exactly
 * what libjpeg's own coefficient path gives; its own decoder is within 2
 * grey levels of libjpeg's. (12-bit streams are checked
 * end to end against dcmtk's IJG 12-bit decoder in 080-pixclean.)
 */
void
test_jpegdct_against_libjpeg(void)
{
	static const struct { unsigned w, h; int comps, layout; const char *pi; } cases[] = {
		{ 80, 64, 1, 0, "MONOCHROME2" }, { 77, 45, 1, 1, "MONOCHROME2" }, { 77, 45, 1, 2, "MONOCHROME2" },
		{ 64, 48, 3, 0, "YBR_FULL_422" }, { 61, 37, 3, 1, "YBR_FULL_422" }, { 61, 37, 3, 2, "YBR_FULL" },
		{ 83, 29, 3, 3, "YBR_FULL_422" },
	};
	struct pix_rect rects[2] = { { 10, 5, 20, 4 }, { 40, 20, 3, 30 } };

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pix_desc pd = desc(cases[k].h, cases[k].w, (uint16_t)cases[k].comps, 8, 8, cases[k].pi);
		size_t fb = pix_frame_bytes(&pd);
		uint8_t *img = make_frame(&pd, 7 + (uint32_t)k), *a = malloc(fb), *b = malloc(fb);
		unsigned long len = 0;
		unsigned char *src = libjpeg_encode_layout(img, cases[k].w, cases[k].h, cases[k].comps,
		    cases[k].layout, &len);
		struct pv_buf o1, o2;
		struct pv_diag d;
		uint64_t n1 = 0, n2 = 0;

		pv_buf_init(&o1, (size_t)1 << 26);
		pv_buf_init(&o2, (size_t)1 << 26);
		pv_diag_clear(&d);
		T_EQ_INT(jpeg_decode(src, len, &pd, a, &d), 0);
		/* no rectangle: the same image */
		T_EQ_INT(jpegdct_blank(src, len, &pd, NULL, 0, &o1, &n1, &d), 0);
		T_EQ_U64(n1, 0);
		T_EQ_INT(jpeg_decode((const uint8_t *)o1.data, o1.len, &pd, b, &d), 0);
		if (memcmp(a, b, fb) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: the transcoded stream decodes to other pixels", k);
		/* the in-house decoder: within 2 grey levels of libjpeg on full-resolution
		 * components (libjpeg's chroma upsampling is smoother than replication) */
		{
			uint8_t *c = malloc(fb);
			int worst = 0;
			T_EQ_INT(jpegdct_decode(src, len, &pd, c, &d), 0);
			for (size_t i = 0; i < fb; i += (size_t)pd.spp) {
				int dv = abs((int)c[i] - (int)a[i]);
				if (dv > worst)
					worst = dv;
			}
			if (worst > 2)
				t_fail(__FILE__, __LINE__, "case %zu: jpegdct_decode is %d grey levels off", k, worst);
			free(c);
		}
		/* rectangles: what libjpeg's coefficient path gives */
		pv_buf_reset(&o1);
		T_EQ_INT(jpegdct_blank(src, len, &pd, rects, 2, &o1, &n1, &d), 0);
		T_EQ_INT(jpeg_blank(src, len, &pd, rects, 2, &o2, &n2, &d), 0);
		T_EQ_U64(n1, n2);
		T_ASSERT(n1 > 0);
		T_EQ_INT(jpeg_decode((const uint8_t *)o1.data, o1.len, &pd, a, &d), 0);
		T_EQ_INT(jpeg_decode((const uint8_t *)o2.data, o2.len, &pd, b, &d), 0);
		if (memcmp(a, b, fb) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: blanked image differs from libjpeg's", k);
		if (d.code != 0)
			t_fail(__FILE__, __LINE__, "case %zu: %s", k, d.msg);
		/* damaged streams are refused, nothing written */
		for (unsigned long cut = 2; cut < len; cut += len / 7 + 1) {
			pv_buf_reset(&o1);
			pv_diag_clear(&d);
			if (jpegdct_blank(src, cut, &pd, rects, 2, &o1, &n1, &d) == 0 || o1.len != 0)
				t_fail(__FILE__, __LINE__, "case %zu: a stream cut at %lu was accepted", k, cut);
		}
		free(src);
		free(img);
		free(a);
		free(b);
		pv_buf_free(&o1);
		pv_buf_free(&o2);
	}
	/* A wrong restart marker, and a frame that is not the data set's, are refused. */
	{
		struct pix_desc pd = desc(45, 77, 1, 8, 8, "MONOCHROME2");
		uint8_t *img = make_frame(&pd, 3);
		unsigned long len = 0;
		unsigned char *src = libjpeg_encode_layout(img, 77, 45, 1, 1, &len);
		struct pv_buf o;
		struct pv_diag d;
		uint64_t n;
		size_t i;

		pv_buf_init(&o, (size_t)1 << 26);
		for (i = 2; i + 1 < len && !(src[i] == 0xff && src[i + 1] == 0xd0); i++)
			;
		T_ASSERT(i + 1 < len);
		src[i + 1] = 0xd3;
		pv_diag_clear(&d);
		T_ASSERT(jpegdct_blank(src, len, &pd, NULL, 0, &o, &n, &d) != 0);
		T_ASSERT(strstr(d.msg, "restart marker") != NULL);
		src[i + 1] = 0xd0;
		pd.cols = 78;
		pv_diag_clear(&d);
		T_ASSERT(jpegdct_blank(src, len, &pd, NULL, 0, &o, &n, &d) != 0);
		T_EQ_U64(o.len, 0);
		free(src);
		free(img);
		pv_buf_free(&o);
	}
}

void
test_jpeg_dct_blank(void)
{
	struct pix_desc pd = desc(64, 80, 1, 8, 8, "MONOCHROME2");
	uint8_t *img = make_frame(&pd, 3), *a = malloc(64 * 80), *b = malloc(64 * 80);
	unsigned long len = 0;
	unsigned char *src = libjpeg_encode(img, 80, 64, 1, &len);
	struct pix_rect r = { 10, 5, 20, 4 };  /* blocks x 1..3, y 0..1 */
	struct pv_buf out;
	struct pv_diag d;
	uint64_t blocks = 0;

	pv_buf_init(&out, (size_t)1 << 28);
	pv_diag_clear(&d);
	T_EQ_INT(jpeg_decode(src, len, &pd, a, &d), 0);
	T_EQ_INT(jpeg_blank(src, len, &pd, &r, 1, &out, &blocks, &d), 0);
	T_EQ_U64(blocks, 6);
	T_EQ_INT(jpeg_decode((const uint8_t *)out.data, out.len, &pd, b, &d), 0);
	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 80; x++) {
			int inblk = x / 8 >= 1 && x / 8 <= 3 && y / 8 <= 1;
			size_t i = (size_t)y * 80 + x;
			if (inblk && b[i] > 1)
				t_fail(__FILE__, __LINE__, "blanked pixel %u,%u is %u", x, y, b[i]);
			if (!inblk && a[i] != b[i]) {
				t_fail(__FILE__, __LINE__, "untouched pixel %u,%u changed %u -> %u", x, y, a[i], b[i]);
				y = 64;
				break;
			}
		}
	/* A damaged stream is refused, not re-encoded. */
	pv_buf_reset(&out);
	pv_diag_clear(&d);
	T_ASSERT(jpeg_blank(src, len / 2, &pd, &r, 1, &out, &blocks, &d) != 0);
	T_EQ_U64(out.len, 0);
	/* A stream that is not the data set's image is refused. */
	{
		struct pix_desc other = desc(64, 81, 1, 8, 8, "MONOCHROME2");
		pv_diag_clear(&d);
		T_ASSERT(jpeg_blank(src, len, &other, &r, 1, &out, &blocks, &d) != 0);
	}
	free(src);
	free(img);
	free(a);
	free(b);
	pv_buf_free(&out);
}

void
test_pixel_rules(void)
{
	static const char good[] =
	    "# site rules\n"
	    "rule vendor-x\n"
	    "  modality US\n"
	    "  manufacturer \"Vendor X*\"\n"
	    "  size 640x480\n"
	    "  rect 0 0 640 40   # the banner\n"
	    "  rect 600 400 100 100\n"
	    "end\n"
	    "rule any-ct\n"
	    "  modality CT\n"
	    "  image-type ORIGINAL\\PRIMARY*\n"
	    "  rect 0 0 10 10\n"
	    "end\n";
	static const struct { const char *text; const char *msg; } bad[] = {
		{ "rule a\n modality US\nend\n", "t.txt:3: rule 'a' blanks nothing" },
		{ "modality US\n", "t.txt:1: 'modality' outside a rule" },
		{ "rule a\n rect 0 0 0 5\nend\n", "t.txt:2: rect is X Y WIDTH HEIGHT" },
		{ "rule a\n colour red\nend\n", "t.txt:2: unknown word 'colour'" },
		{ "rule a\n rect 1 1 1 1\n", "t.txt:2: rule 'a' has no 'end'" },
		{ "rule a b\n", "t.txt:1: a rule name is" },
		{ "rule a\n size 640\n", "t.txt:2: size is COLUMNSxROWS" },
		{ "rule a\n modality US\n modality CT\n", "t.txt:3: 'modality' given twice" },
		{ "rule a\n rect 0 0 70000 1\nend\n", "t.txt:2: rect is" },
	};
	struct pixrules *rs = NULL;
	struct pv_diag d;
	struct pix_subject s;
	struct pix_rect rects[64];
	size_t n = 0;
	const char *name = NULL;

	pv_diag_clear(&d);
	T_EQ_INT(pixrules_parse(good, strlen(good), "t.txt", &rs, &d), 0);
	T_EQ_INT(pixrules_count(rs), 2);
	memset(&s, 0, sizeof(s));
	strcpy(s.modality, "US");
	strcpy(s.manufacturer, "vendor x medical");
	s.cols = 640;
	s.rows = 480;
	T_EQ_INT(pixrules_match(rs, &s, rects, 64, &n, &name), 1);
	T_EQ_STR(name, "vendor-x");
	T_EQ_INT(n, 2);
	T_EQ_INT(rects[1].w, 40);  /* clipped to the image */
	T_EQ_INT(rects[1].h, 80);
	s.cols = 800;              /* another size: no match */
	T_EQ_INT(pixrules_match(rs, &s, rects, 64, &n, &name), 0);
	strcpy(s.modality, "CT");
	strcpy(s.image_type, "ORIGINAL\\PRIMARY\\AXIAL");
	T_EQ_INT(pixrules_match(rs, &s, rects, 64, &n, &name), 1);
	strcpy(s.image_type, "DERIVED\\SECONDARY");
	T_EQ_INT(pixrules_match(rs, &s, rects, 64, &n, &name), 0);
	T_EQ_INT(pixrules_match(rs, &s, rects, 1, &n, &name), 0);
	pixrules_free(rs);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pv_diag_clear(&d);
		rs = NULL;
		T_ASSERT(pixrules_parse(bad[i].text, strlen(bad[i].text), "t.txt", &rs, &d) != 0);
		T_ASSERT(rs == NULL);
		if (strncmp(d.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
			t_fail(__FILE__, __LINE__, "rule error '%s', expected '%s...'", d.msg, bad[i].msg);
	}
}

void
test_pixel_rules_outside_regions(void)
{
	struct pixrules *rs = NULL;
	struct pix_subject s;
	struct pix_rect rects[256];
	size_t n = 0;
	const char *name = NULL;

	T_EQ_INT(pixrules_builtin(&rs), 0);
	memset(&s, 0, sizeof(s));
	strcpy(s.modality, "US");
	s.cols = 97;
	s.rows = 61;
	/* No regions: the built-in rule does not apply (the file is not trusted as clean). */
	T_EQ_INT(pixrules_match(rs, &s, rects, 256, &n, &name), 0);
	s.regions[0] = (struct pix_rect){ 10, 20, 30, 25 };
	s.regions[1] = (struct pix_rect){ 35, 5, 40, 20 };   /* overlaps the first */
	s.regions[2] = (struct pix_rect){ 80, 50, 17, 11 };  /* touches the corner */
	s.nregions = 3;
	T_EQ_INT(pixrules_match(rs, &s, rects, 256, &n, &name), 1);
	T_EQ_STR(name, "builtin-us-outside-regions");
	/* Every pixel is covered by a rectangle exactly when it is outside all regions. */
	for (uint32_t y = 0; y < s.rows; y++)
		for (uint32_t x = 0; x < s.cols; x++) {
			int inside = 0, covered = 0;
			for (unsigned k = 0; k < s.nregions; k++) {
				const struct pix_rect *r = &s.regions[k];
				inside |= x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
			}
			for (size_t k = 0; k < n; k++)
				covered |= x >= rects[k].x && x < rects[k].x + rects[k].w && y >= rects[k].y &&
				    y < rects[k].y + rects[k].h;
			if (inside == covered) {
				t_fail(__FILE__, __LINE__, "pixel %u,%u inside=%d covered=%d", x, y, inside, covered);
				y = s.rows;
				break;
			}
		}
	pixrules_free(rs);
}

/* ---- the scanner's detectors ---- */

struct spans {
	unsigned n;
	enum deid_text_kind k[16];
	size_t a[16], b[16];
};

static int
collect_span(void *arg, enum deid_text_kind k, size_t a, size_t b)
{
	struct spans *s = arg;
	if (s->n < 16) {
		s->k[s->n] = k;
		s->a[s->n] = a;
		s->b[s->n] = b;
		s->n++;
	}
	return 0;
}

static int
finds(const char *text, enum deid_text_kind k, const char *what)
{
	struct spans s = { 0 };
	(void)deid_text_find(text, strlen(text), NULL, collect_span, &s);
	for (unsigned i = 0; i < s.n; i++)
		if (s.k[i] == k && s.b[i] - s.a[i] == strlen(what) && memcmp(text + s.a[i], what, strlen(what)) == 0)
			return 1;
	return 0;
}

void
test_record_number_detector(void)
{
	/* how medical record and case numbers are written in free text (found leaking through Clean Descriptors) */
	T_ASSERT(finds("CT chest for patient MRN968298", DEID_TK_RECORD, "MRN968298"));
	T_ASSERT(finds("see ID-204871, ward 3", DEID_TK_RECORD, "ID-204871"));
	T_ASSERT(finds("case#:A12345678.", DEID_TK_RECORD, "A12345678"));
	T_ASSERT(!finds("T2 FLAIR 3D", DEID_TK_RECORD, "T2"));
	T_ASSERT(!finds("kernel B30f", DEID_TK_RECORD, "B30"));
	T_ASSERT(!finds("ABCDE12345", DEID_TK_RECORD, "ABCDE12345"));   /* five letters: a word, not a prefix */
	T_ASSERT(!finds("MRN1234", DEID_TK_RECORD, "MRN1234"));         /* four digits: a code */
}

void
test_resident_id_detector(void)
{
	/* ISO 7064 MOD 11-2 check digits computed by hand (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2). */
	static const char *const valid[] = { "11010519491231002X", "110101199003078515", "440308200002291231" };
	static const char *const bad_check[] = { "110105194912310021", "110101199003078516", "440308200002291236" };
	static const char *const bad_date[] = {
		"110101199013078519",  /* month 13 (each with its check digit right) */
		"110101199002308518",  /* 30 February */
		"110101190002298515",  /* 29 February 1900 */
		"110101179912318514",  /* year 1799 */
	};
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		T_ASSERT(deid_prc_id_valid(valid[i]));
		char text[64];
		snprintf(text, sizeof(text), "ID:%s.", valid[i]);
		T_ASSERT(finds(text, DEID_TK_PRC_ID, valid[i]));
	}
	for (size_t i = 0; i < sizeof(bad_check) / sizeof(bad_check[0]); i++)
		T_ASSERT(!deid_prc_id_valid(bad_check[i]));
	for (size_t i = 0; i < sizeof(bad_date) / sizeof(bad_date[0]); i++)
		T_ASSERT(!deid_prc_id_valid(bad_date[i]));
	/* inside a longer digit run it is not an ID (but the run is a long number) */
	T_ASSERT(!finds("9110101199003078515", DEID_TK_PRC_ID, "110101199003078515"));
	T_ASSERT(finds("ssn 123-45-6789 ok", DEID_TK_SSN, "123-45-6789"));
	T_ASSERT(finds("mail li.lei@example.cn now", DEID_TK_EMAIL, "li.lei@example.cn"));
	T_ASSERT(finds("on 2024-03-01 at", DEID_TK_DATE, "2024-03-01"));
	T_ASSERT(finds("call +86 138 0013 8000", DEID_TK_PHONE, "+86 138 0013 8000"));
	T_ASSERT(finds("seen by Dr. Wang Lei today", DEID_TK_NAME, "Dr. Wang Lei"));
	T_ASSERT(finds("ref DOE^JANE here", DEID_TK_NAME, "DOE^JANE"));
	T_ASSERT(finds("\xe6\x82\xa3\xe8\x80\x85\xef\xbc\x9a\xe5\xbc\xa0\xe4\xbc\x9f", DEID_TK_NAME,
	    "\xe6\x82\xa3\xe8\x80\x85\xef\xbc\x9a\xe5\xbc\xa0\xe4\xbc\x9f"));
	/* not names: an honorific without a capitalised name, a lone caret */
	T_ASSERT(!finds("Dr. said", DEID_TK_NAME, "Dr. said"));
	T_ASSERT(!finds("A^B", DEID_TK_NAME, "A^B"));
}

void
test_scan_mask(void)
{
	char out[40];
	scan_mask("110101199003078515", 18, out, sizeof(out));
	T_EQ_STR(out, "11**************15");
	scan_mask("JANE", 4, out, sizeof(out));
	T_EQ_STR(out, "J**E");
	scan_mask("M", 1, out, sizeof(out));
	T_EQ_STR(out, "*");
	scan_mask("\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x98\x8e", 10, out, sizeof(out));  /* 王^小明: 4 characters */
	T_EQ_STR(out, "\xe7\x8e\x8b**\xe6\x98\x8e");
	/* never longer than 2 + 16 + 2 characters, never the whole value */
	scan_mask("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 36, out, sizeof(out));
	T_EQ_STR(out, "AB****************89");
}

/* 5x7 glyphs drawn into a grey image. */
static void
draw_text(uint8_t *g, uint32_t w, uint32_t x, uint32_t y, unsigned nchars, unsigned scale, uint8_t v)
{
	static const char *const glyph[7] = { "11110", "10001", "10001", "11110", "10100", "10010", "10001" };  /* R */
	for (unsigned c = 0; c < nchars; c++)
		for (unsigned r = 0; r < 7; r++)
			for (unsigned k = 0; k < 5; k++)
				if (glyph[r][k] == '1')
					for (unsigned dy = 0; dy < scale; dy++)
						for (unsigned dx = 0; dx < scale; dx++)
							g[(size_t)(y + r * scale + dy) * w + x + (c * 6 + k) * scale + dx] = v;
}

void
test_text_regions(void)
{
	uint32_t w = 200, h = 120;
	uint8_t *g = calloc((size_t)w * h, 1);
	struct pix_rect r[8];
	size_t n;

	/* smooth 'anatomy': a bright disc with soft edges, no text */
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			double dx = (double)x - 100, dy = (double)y - 60, d2 = dx * dx + dy * dy;
			g[(size_t)y * w + x] = (uint8_t)(d2 < 1600 ? 220 : d2 < 2500 ? 220 - (d2 - 1600) / 10 : 130);
		}
	T_EQ_INT(scan_text_regions(g, w, h, 1, r, 8), 0);
	/* 5x7 text (scale 1) on a flat dark band */
	for (uint32_t y = 0; y < 14; y++)
		memset(g + (size_t)y * w, 0, w);
	draw_text(g, w, 4, 3, 8, 1, 255);
	n = scan_text_regions(g, w, h, 1, r, 8);
	T_EQ_INT(n, 1);
	if (n == 1) {
		T_ASSERT(r[0].x <= 4 && r[0].y <= 3 && r[0].x + r[0].w >= 4 + 47 && r[0].y + r[0].h >= 10);
		T_ASSERT(r[0].h <= 14);
	}
	/* dark text on light ground, scale 2 */
	for (uint32_t y = 100; y < h; y++)
		memset(g + (size_t)y * w, 240, w);
	draw_text(g, w, 20, 103, 5, 2, 10);
	n = scan_text_regions(g, w, h, 1, r, 8);
	T_EQ_INT(n, 2);
	/* two glyphs are not a line of text */
	memset(g, 0, (size_t)w * h);
	draw_text(g, w, 30, 30, 2, 1, 255);
	T_EQ_INT(scan_text_regions(g, w, h, 1, r, 8), 0);
	/* anti-aliased: dark scale-2 text on a bright band, every edge pixel half-way (the ring
	 * around a glyph is then not flat unless the edges are left aside) */
	memset(g, 200, (size_t)w * h);
	draw_text(g, w, 10, 20, 8, 2, 0);
	{
		uint8_t *c = malloc((size_t)w * h);
		T_ASSERT(c != NULL);
		if (c != NULL) {
			memcpy(c, g, (size_t)w * h);
			for (uint32_t y = 1; y + 1 < h; y++)
				for (uint32_t x = 1; x + 1 < w; x++) {
					size_t i = (size_t)y * w + x;
					if (c[i] == 200 && (c[i - 1] == 0 || c[i + 1] == 0 || c[i - w] == 0 || c[i + w] == 0))
						g[i] = 100;
				}
			free(c);
		}
	}
	n = scan_text_regions(g, w, h, 1, r, 8);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_ASSERT(r[0].x <= 9 && r[0].y <= 19 && r[0].x + r[0].w >= 10 + 95 && r[0].y + r[0].h >= 35);
	/* a line running off the right edge: the cut glyph is in the box too */
	memset(g, 0, (size_t)w * h);
	draw_text(g, w, 150, 50, 9, 1, 255);  /* 9 glyphs of 6 pixels from x = 150: the last cut at 199 */
	n = scan_text_regions(g, w, h, 1, r, 8);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_INT(r[0].x + r[0].w, w);
	free(g);
}

/* Appends a JPEG 2000 marker segment: marker, length, payload. */
static size_t
j2k_seg(uint8_t *p, size_t at, uint8_t m, const char *payload, size_t n)
{
	p[at] = 0xff;
	p[at + 1] = m;
	p[at + 2] = (uint8_t)((n + 2) >> 8);
	p[at + 3] = (uint8_t)(n + 2);
	memcpy(p + at + 4, payload, n);
	return at + 4 + n;
}

static size_t
j2k_sot(uint8_t *p, size_t at, uint32_t psot, uint8_t tp)
{
	static const uint8_t sot[12] = { 0xff, 0x90, 0, 10, 0, 0, 0, 0, 0, 0, 0, 2 };
	memcpy(p + at, sot, 12);
	p[at + 6] = (uint8_t)(psot >> 24);
	p[at + 7] = (uint8_t)(psot >> 16);
	p[at + 8] = (uint8_t)(psot >> 8);
	p[at + 9] = (uint8_t)psot;
	p[at + 10] = tp;
	return at + 12;
}

/* COM segments go from the main and the tile-part headers; Psot made true, TLM dropped. */
void
test_j2k_comments(void)
{
	uint8_t in[512], want[512];
	char siz[39];
	size_t n = 0, wn = 0, t1;
	struct pv_buf out;
	struct pv_diag d;
	unsigned removed = 0;

	memset(siz, 7, sizeof(siz));
	in[n++] = 0xff, in[n++] = 0x4f;
	n = j2k_seg(in, n, 0x51, siz, sizeof(siz));
	n = j2k_seg(in, n, 0x64, "\0\1DOE^JANE", 10);
	n = j2k_seg(in, n, 0x55, "\0\0\0\0", 4);  /* TLM */
	t1 = n;
	n = j2k_sot(in, n, 12 + 16 + 2 + 6, 0);
	n = j2k_seg(in, n, 0x64, "\0\1" "1101011990", 12);
	in[n++] = 0xff, in[n++] = 0x93;
	memcpy(in + n, "ABCDEF", 6), n += 6;
	T_EQ_INT(n - t1, 12 + 16 + 2 + 6);
	n = j2k_sot(in, n, 0, 1);  /* the last tile-part: up to EOC */
	in[n++] = 0xff, in[n++] = 0x93;
	memcpy(in + n, "GHIJ", 4), n += 4;
	in[n++] = 0xff, in[n++] = 0xd9;

	want[wn++] = 0xff, want[wn++] = 0x4f;
	wn = j2k_seg(want, wn, 0x51, siz, sizeof(siz));
	wn = j2k_sot(want, wn, 12 + 2 + 6, 0);
	want[wn++] = 0xff, want[wn++] = 0x93;
	memcpy(want + wn, "ABCDEF", 6), wn += 6;
	wn = j2k_sot(want, wn, 0, 1);
	want[wn++] = 0xff, want[wn++] = 0x93;
	memcpy(want + wn, "GHIJ", 4), wn += 4;
	want[wn++] = 0xff, want[wn++] = 0xd9;

	pv_buf_init(&out, 4096);
	pv_diag_clear(&d);
	T_EQ_INT(j2kmeta_strip(in, n, &out, &removed, &d), 0);
	T_EQ_INT(removed, 2);
	T_EQ_INT(out.len, wn);
	if (out.len == wn)
		T_EQ_MEM(out.data, want, wn);
	/* no comment in a tile-part: the TLM stays, the tile-parts are copied as they are */
	pv_buf_reset(&out);
	memmove(in + t1 + 12, in + t1 + 28, n - (t1 + 28));
	n -= 16;
	in[t1 + 9] = 12 + 2 + 6;
	T_EQ_INT(j2kmeta_strip(in, n, &out, &removed, &d), 0);
	T_EQ_INT(removed, 1);
	T_EQ_INT(out.len, n - 14);
	/* a tile-part length past the end: refused, with the offset of its Psot */
	pv_buf_reset(&out);
	in[t1 + 9] = 200;
	pv_diag_clear(&d);
	T_EQ_INT(j2kmeta_strip(in, n, &out, &removed, &d), PV_ETRUNC);
	T_EQ_INT(d.offset, (int64_t)t1 + 6);
	pv_buf_free(&out);
}
