/*
 * jpeg.c: JPEG baseline and extended (8-bit) through libjpeg-turbo; 12-bit
 * streams are handed to the in-house coefficient codec (jpegdct.c).
 *
 * Cleaning works on the quantised DCT coefficients (jpeg_read_coefficients
 * / jpeg_write_coefficients): the blocks under a rectangle become flat
 * blocks of the fill value, every other block keeps its exact
 * coefficients, so the image outside the rectangles does not lose quality
 * a second time. libjpeg's errors end in a longjmp back here; its warnings
 * (corrupt data, premature end) are treated as errors too: a damaged
 * stream is refused, not re-encoded.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/dynlib.h"

#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define JPEG_SONAME2(v) "libjpeg.so." #v
#define JPEG_SONAME1(v) JPEG_SONAME2(v)
#define JPEG_SONAME JPEG_SONAME1(JPEG_LIB_VERSION)

/*
 * libjpeg is loaded on first use, not linked (pacsvault/base/dynlib.h):
 * only pixel cleaning and the scanner's OCR of JPEG images use it. Its
 * soname follows the ABI version the headers declare (62 for
 * libjpeg-turbo's default ABI).
 */
#define JL_FUNCS(X) \
	X(jpeg_CreateCompress) X(jpeg_CreateDecompress) X(jpeg_copy_critical_parameters) \
	X(jpeg_destroy_compress) X(jpeg_destroy_decompress) X(jpeg_finish_compress) \
	X(jpeg_finish_decompress) X(jpeg_mem_src) X(jpeg_read_coefficients) X(jpeg_read_header) \
	X(jpeg_read_scanlines) X(jpeg_start_decompress) X(jpeg_std_error) \
	X(jpeg_write_coefficients)
PV_DYNLIB_TABLE(jl, JL_FUNCS, JPEG_SONAME)

void
jpeg_load(void)
{
	pthread_once(&jl_once, jl_load);
}

#define jpeg_CreateCompress (jl_fns()->jpeg_CreateCompress)
#define jpeg_CreateDecompress (jl_fns()->jpeg_CreateDecompress)
#define jpeg_copy_critical_parameters (jl_fns()->jpeg_copy_critical_parameters)
#define jpeg_destroy_compress (jl_fns()->jpeg_destroy_compress)
#define jpeg_destroy_decompress (jl_fns()->jpeg_destroy_decompress)
#define jpeg_finish_compress (jl_fns()->jpeg_finish_compress)
#define jpeg_finish_decompress (jl_fns()->jpeg_finish_decompress)
#define jpeg_mem_src (jl_fns()->jpeg_mem_src)
#define jpeg_read_coefficients (jl_fns()->jpeg_read_coefficients)
#define jpeg_read_header (jl_fns()->jpeg_read_header)
#define jpeg_read_scanlines (jl_fns()->jpeg_read_scanlines)
#define jpeg_start_decompress (jl_fns()->jpeg_start_decompress)
#define jpeg_std_error (jl_fns()->jpeg_std_error)
#define jpeg_write_coefficients (jl_fns()->jpeg_write_coefficients)

struct jctx {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
	struct jpeg_decompress_struct src;
	struct jpeg_compress_struct dst;
	int have_dst;
	/* destination: straight into the caller's buffer */
	struct jpeg_destination_mgr dmgr;
	struct pv_buf *out;
	size_t out_start;
	int out_rc;
	JOCTET dbuf[16384];
};

static struct jctx *
dst_ctx(j_compress_ptr c)
{
	return (struct jctx *)(void *)((char *)c->dest - offsetof(struct jctx, dmgr));
}

static void
d_init(j_compress_ptr c)
{
	struct jctx *j = dst_ctx(c);
	j->dmgr.next_output_byte = j->dbuf;
	j->dmgr.free_in_buffer = sizeof(j->dbuf);
}

static boolean
d_empty(j_compress_ptr c)
{
	struct jctx *j = dst_ctx(c);
	if (j->out_rc == 0)
		j->out_rc = pv_buf_append(j->out, j->dbuf, sizeof(j->dbuf));
	j->dmgr.next_output_byte = j->dbuf;
	j->dmgr.free_in_buffer = sizeof(j->dbuf);
	return TRUE;
}

static void
d_term(j_compress_ptr c)
{
	struct jctx *j = dst_ctx(c);
	if (j->out_rc == 0)
		j->out_rc = pv_buf_append(j->out, j->dbuf, sizeof(j->dbuf) - j->dmgr.free_in_buffer);
}

static void
j_error_exit(j_common_ptr c)
{
	struct jctx *j = (struct jctx *)(void *)c->err;
	(*c->err->format_message)(c, j->msg);
	longjmp(j->jb, 1);
}

static void
j_emit(j_common_ptr c, int level)
{
	if (level < 0)  /* a warning: the data is damaged */
		j_error_exit(c);
}

static void
j_output(j_common_ptr c)
{
	(void)c;  /* never print */
}

static struct jctx *
jctx_new(const uint8_t *in, size_t n)
{
	struct jctx *j = pv_calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->src.err = jpeg_std_error(&j->pub);
	j->pub.error_exit = j_error_exit;
	j->pub.emit_message = j_emit;
	j->pub.output_message = j_output;
	(void)in;
	(void)n;
	return j;
}

static void
jctx_free(struct jctx *j)
{
	jpeg_destroy_decompress(&j->src);
	if (j->have_dst)
		jpeg_destroy_compress(&j->dst);
	free(j);
}

/* The sample precision of the first SOFn, walking the marker segments; -1 if none. */
static int
sof_precision(const uint8_t *in, size_t n)
{
	size_t pos = 2;
	if (n < 4 || in[0] != 0xff || in[1] != 0xd8)
		return -1;
	while (pos + 4 <= n && in[pos] == 0xff) {
		uint8_t m = in[pos + 1];
		size_t len = (size_t)in[pos + 2] << 8 | in[pos + 3];
		if (m == 0xff) {
			pos++;
			continue;
		}
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
			return pos + 4 < n ? in[pos + 4] : -1;
		if (m == 0xda || m == 0xd9 || len < 2)
			return -1;
		pos += 2 + len;
	}
	return -1;
}

static int
check_header(struct jctx *j, const struct pix_desc *pd, struct pv_diag *d)
{
	if (j->src.data_precision != 8)
		return pv_diag_set(d, PV_EUNSUPPORTED, 0, "%d-bit JPEG (process 2/4) cannot be cleaned here",
		    j->src.data_precision);
	if (j->src.image_width != pd->cols || j->src.image_height != pd->rows ||
	    j->src.num_components != (int)pd->spp)
		return pv_diag_set(d, PV_EPARSE, 0,
		    "JPEG frame is %ux%u with %d components, the data set says %ux%u with %u",
		    (unsigned)j->src.image_width, (unsigned)j->src.image_height, j->src.num_components,
		    (unsigned)pd->cols, (unsigned)pd->rows, (unsigned)pd->spp);
	return 0;
}

int
jpeg_blank(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r,
    size_t nr, struct pv_buf *out, uint64_t *blocks, struct pv_diag *d)
{
	struct jctx *j;
	jvirt_barray_ptr *coefs;
	int rc = 0;

	*blocks = 0;
	if (n == 0 || n > 0x7fffffffu)
		return pv_diag_set(d, PV_EPARSE, 0, "JPEG frame is empty or too large");
	if (sof_precision(in, n) == 12)
		return jpegdct_blank(in, n, pd, r, nr, out, blocks, d);  /* libjpeg-turbo 2.1 is 8-bit only */
	if ((j = jctx_new(in, n)) == NULL)
		return PV_ENOMEM;
	if (setjmp(j->jb)) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG: %s", j->msg);
		out->len = j->out_start;
		jctx_free(j);
		return rc;
	}
	j->out = out;
	j->out_start = out->len;
	jpeg_create_decompress(&j->src);
	j->src.mem->max_memory_to_use = (long)512 << 20;
	jpeg_mem_src(&j->src, in, (unsigned long)n);
	(void)jpeg_read_header(&j->src, TRUE);
	if ((rc = check_header(j, pd, d)) != 0) {
		jctx_free(j);
		return rc;
	}
	coefs = jpeg_read_coefficients(&j->src);
	{
		int maxh = j->src.max_h_samp_factor, maxv = j->src.max_v_samp_factor;
		for (int c = 0; c < j->src.num_components; c++) {
			jpeg_component_info *ci = &j->src.comp_info[c];
			int q0 = ci->quant_table != NULL ? ci->quant_table->quantval[0] : 0;
			uint32_t v = pix_fill_value(pd, (unsigned)c);
			int dc;
			if (q0 <= 0)
				longjmp(j->jb, 1);
			/* The data set's photometric says what the components are
			 * (viewers follow it, not the JFIF/Adobe markers): black for
			 * RGB and MONOCHROME2, neutral chroma for YBR. */
			if (v > 255)
				v = 255;
			dc = (int)(((int)v - 128) * 8);
			/* rounded to nearest; outwards at 0 and 255, where the decoder clamps */
			if (v == 0)
				dc = -((-dc + q0 - 1) / q0);
			else if (v == 255)
				dc = (dc + q0 - 1) / q0;
			else
				dc = dc >= 0 ? (dc + q0 / 2) / q0 : -((-dc + q0 / 2) / q0);
			for (size_t k = 0; k < nr; k++) {
				struct pix_rect cr;
				uint64_t bw = (uint64_t)8 * (uint64_t)maxh, bh = (uint64_t)8 * (uint64_t)maxv;
				if (!pix_rect_clip(pd, &r[k], &cr))
					continue;
				uint64_t bx0 = (uint64_t)cr.x * (uint64_t)ci->h_samp_factor / bw;
				uint64_t bx1 = ((uint64_t)(cr.x + cr.w) * (uint64_t)ci->h_samp_factor + bw - 1) / bw;
				uint64_t by0 = (uint64_t)cr.y * (uint64_t)ci->v_samp_factor / bh;
				uint64_t by1 = ((uint64_t)(cr.y + cr.h) * (uint64_t)ci->v_samp_factor + bh - 1) / bh;
				if (bx1 > ci->width_in_blocks)
					bx1 = ci->width_in_blocks;
				if (by1 > ci->height_in_blocks)
					by1 = ci->height_in_blocks;
				for (uint64_t by = by0; by < by1; by++) {
					JBLOCKARRAY row = (*j->src.mem->access_virt_barray)((j_common_ptr)&j->src,
					    coefs[c], (JDIMENSION)by, 1, TRUE);
					for (uint64_t bx = bx0; bx < bx1; bx++) {
						JCOEF *blk = row[0][bx];
						blk[0] = (JCOEF)dc;
						memset(blk + 1, 0, sizeof(JCOEF) * (DCTSIZE2 - 1));
						(*blocks)++;
					}
				}
			}
		}
	}
	j->dst.err = &j->pub;
	jpeg_create_compress(&j->dst);
	j->have_dst = 1;
	jpeg_copy_critical_parameters(&j->src, &j->dst);
	j->dst.optimize_coding = TRUE;  /* tables fitted to the new coefficients */
	j->dmgr.init_destination = d_init;
	j->dmgr.empty_output_buffer = d_empty;
	j->dmgr.term_destination = d_term;
	j->dst.dest = &j->dmgr;
	jpeg_write_coefficients(&j->dst, coefs);
	jpeg_finish_compress(&j->dst);
	(void)jpeg_finish_decompress(&j->src);
	rc = j->out_rc;
	if (rc != 0)
		out->len = j->out_start;
	jctx_free(j);
	return rc;
}

int
jpeg_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out, struct pv_diag *d)
{
	struct jctx *j;
	int rc = 0;

	if (sof_precision(in, n) == 12)
		return jpegdct_decode(in, n, pd, out, d);  /* libjpeg-turbo 2.1 is 8-bit only */
	if (pd->bits_alloc != 8)
		return pv_diag_set(d, PV_EUNSUPPORTED, 0, "JPEG decoding needs 8-bit samples");
	if (n == 0 || n > 0x7fffffffu)
		return pv_diag_set(d, PV_EPARSE, 0, "JPEG frame is empty or too large");
	if ((j = jctx_new(in, n)) == NULL)
		return PV_ENOMEM;
	if (setjmp(j->jb)) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG: %s", j->msg);
		jctx_free(j);
		return rc;
	}
	jpeg_create_decompress(&j->src);
	j->src.mem->max_memory_to_use = (long)512 << 20;
	jpeg_mem_src(&j->src, in, (unsigned long)n);
	(void)jpeg_read_header(&j->src, TRUE);
	if ((rc = check_header(j, pd, d)) != 0) {
		jctx_free(j);
		return rc;
	}
	j->src.out_color_space = j->src.jpeg_color_space;  /* no colour conversion */
	(void)jpeg_start_decompress(&j->src);
	while (j->src.output_scanline < j->src.output_height) {
		JSAMPROW row = out + (size_t)j->src.output_scanline * pd->cols * pd->spp;
		(void)jpeg_read_scanlines(&j->src, &row, 1);
	}
	(void)jpeg_finish_decompress(&j->src);
	jctx_free(j);
	return 0;
}
