/*
 * j2k.c: JPEG 2000 (1.2.840.10008.1.2.4.90, .91) through OpenJPEG, in a
 * helper process.
 *
 * OpenJPEG is a large decoder with a history of memory-safety bugs, so
 * pacsvault runs this only in its sandboxed helper process (helper.c).
 * The frame is decoded, the rectangles blanked in every component, and the
 * image encoded again reversibly (5/3 wavelet, RCT when the source used a
 * component transform), so nothing outside the rectangles changes: a
 * lossy (.91) source is not made lossier.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>
#include <dlfcn.h>
#include <pthread.h>

/*
 * OpenJPEG is loaded on first use, not linked (as CharLS in jpegls.c): only
 * the sandboxed codec helper decodes JPEG 2000, and it loads the library
 * before it enters its sandbox.
 */
#define OPJ_FUNCS(X) \
	X(opj_create_compress) X(opj_create_decompress) X(opj_decode) X(opj_destroy_codec) \
	X(opj_destroy_cstr_info) X(opj_encode) X(opj_end_compress) X(opj_end_decompress) \
	X(opj_get_cstr_info) X(opj_image_destroy) X(opj_read_header) X(opj_set_default_decoder_parameters) \
	X(opj_set_default_encoder_parameters) X(opj_set_error_handler) X(opj_set_info_handler) \
	X(opj_set_warning_handler) X(opj_setup_decoder) X(opj_setup_encoder) X(opj_start_compress) \
	X(opj_stream_create) X(opj_stream_destroy) X(opj_stream_set_read_function) \
	X(opj_stream_set_seek_function) X(opj_stream_set_skip_function) X(opj_stream_set_user_data) \
	X(opj_stream_set_user_data_length) X(opj_stream_set_write_function)
#define OPJ_DECL(f) static __typeof__(&f) p_##f;
OPJ_FUNCS(OPJ_DECL)
static pthread_once_t opj_once = PTHREAD_ONCE_INIT;
static int opj_ok;

static void
opj_load(void)
{
	void *h = dlopen("libopenjp2.so.7", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return;
#define OPJ_LOAD(f) if ((p_##f = (__typeof__(p_##f))dlsym(h, #f)) == NULL) return;
	OPJ_FUNCS(OPJ_LOAD)
	opj_ok = 1;
}

int
j2k_available(void)
{
	pthread_once(&opj_once, opj_load);
	return opj_ok;
}

#define opj_create_compress (*p_opj_create_compress)
#define opj_create_decompress (*p_opj_create_decompress)
#define opj_decode (*p_opj_decode)
#define opj_destroy_codec (*p_opj_destroy_codec)
#define opj_destroy_cstr_info (*p_opj_destroy_cstr_info)
#define opj_encode (*p_opj_encode)
#define opj_end_compress (*p_opj_end_compress)
#define opj_end_decompress (*p_opj_end_decompress)
#define opj_get_cstr_info (*p_opj_get_cstr_info)
#define opj_image_destroy (*p_opj_image_destroy)
#define opj_read_header (*p_opj_read_header)
#define opj_set_default_decoder_parameters (*p_opj_set_default_decoder_parameters)
#define opj_set_default_encoder_parameters (*p_opj_set_default_encoder_parameters)
#define opj_set_error_handler (*p_opj_set_error_handler)
#define opj_set_info_handler (*p_opj_set_info_handler)
#define opj_set_warning_handler (*p_opj_set_warning_handler)
#define opj_setup_decoder (*p_opj_setup_decoder)
#define opj_setup_encoder (*p_opj_setup_encoder)
#define opj_start_compress (*p_opj_start_compress)
#define opj_stream_create (*p_opj_stream_create)
#define opj_stream_destroy (*p_opj_stream_destroy)
#define opj_stream_set_read_function (*p_opj_stream_set_read_function)
#define opj_stream_set_seek_function (*p_opj_stream_set_seek_function)
#define opj_stream_set_skip_function (*p_opj_stream_set_skip_function)
#define opj_stream_set_user_data (*p_opj_stream_set_user_data)
#define opj_stream_set_user_data_length (*p_opj_stream_set_user_data_length)
#define opj_stream_set_write_function (*p_opj_stream_set_write_function)

#define J2K_MAX_FRAME ((size_t)1 << 30)

struct mem {
	const uint8_t *p;
	size_t n, pos;
	struct pv_buf *out;   /* writing */
	int err;
};

static OPJ_SIZE_T
m_read(void *buf, OPJ_SIZE_T nb, void *u)
{
	struct mem *m = u;
	size_t left = m->n - m->pos;
	if (left == 0)
		return (OPJ_SIZE_T)-1;
	if (nb > left)
		nb = left;
	memcpy(buf, m->p + m->pos, nb);
	m->pos += nb;
	return nb;
}

static OPJ_OFF_T
m_skip(OPJ_OFF_T nb, void *u)
{
	struct mem *m = u;
	if (m->out != NULL) {
		/* writing: skipping forward extends with zeros */
		if (nb < 0 || (size_t)nb > J2K_MAX_FRAME)
			return -1;
		if (m->pos + (size_t)nb > m->out->len && pv_buf_fill(m->out, 0, m->pos + (size_t)nb - m->out->len) != 0)
			return -1;
		m->pos += (size_t)nb;
		return nb;
	}
	if (nb < 0 ? (size_t)(-nb) > m->pos : (size_t)nb > m->n - m->pos)
		return -1;
	m->pos = (size_t)((OPJ_OFF_T)m->pos + nb);
	return nb;
}

static OPJ_BOOL
m_seek(OPJ_OFF_T to, void *u)
{
	struct mem *m = u;
	size_t lim = m->out != NULL ? m->out->len : m->n;
	if (to < 0 || (size_t)to > lim)
		return OPJ_FALSE;
	m->pos = (size_t)to;
	return OPJ_TRUE;
}

static OPJ_SIZE_T
m_write(void *buf, OPJ_SIZE_T nb, void *u)
{
	struct mem *m = u;
	if (m->pos + nb > m->out->len) {
		size_t over = m->pos + nb - m->out->len;
		if (pv_buf_fill(m->out, 0, over) != 0) {
			m->err = 1;
			return (OPJ_SIZE_T)-1;
		}
	}
	memcpy(m->out->data + m->pos, buf, nb);
	m->pos += nb;
	return nb;
}

static void
quiet(const char *msg, void *u)
{
	(void)msg;
	(void)u;
}

static void
keep_error(const char *msg, void *u)
{
	char *e = u;
	if (e[0] == '\0') {
		snprintf(e, 160, "%s", msg);
		size_t l = strlen(e);
		while (l > 0 && (e[l - 1] == '\n' || e[l - 1] == '\r'))
			e[--l] = '\0';
	}
}

static opj_stream_t *
mem_stream(struct mem *m, int input)
{
	opj_stream_t *s = opj_stream_create(65536, input ? OPJ_TRUE : OPJ_FALSE);
	if (s == NULL)
		return NULL;
	opj_stream_set_user_data(s, m, NULL);
	if (input) {
		opj_stream_set_user_data_length(s, m->n);
		opj_stream_set_read_function(s, m_read);
	} else {
		opj_stream_set_write_function(s, m_write);
	}
	opj_stream_set_skip_function(s, m_skip);
	opj_stream_set_seek_function(s, m_seek);
	return s;
}

static uint32_t
fill_for(const struct pix_desc *pd, unsigned c, int mct)
{
	/* Decoded data are after the inverse component transform: RGB. */
	if (mct)
		return 0;
	return pix_fill_value(pd, c);
}

static int j2k_work(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, int *rct, uint8_t *native, struct pv_diag *d);

int
j2k_clean_local(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, int *rct, struct pv_diag *d)
{
	if (!j2k_available())
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "JPEG 2000: OpenJPEG (libopenjp2.so.7) cannot be loaded");
	return j2k_work(in, n, pd, r, nr, out, rct, NULL, d);
}

int
j2k_decode_local(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *native, struct pv_diag *d)
{
	int rct;

	if (!j2k_available())
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "JPEG 2000: OpenJPEG (libopenjp2.so.7) cannot be loaded");
	return j2k_work(in, n, pd, NULL, 0, NULL, &rct, native, d);
}

/* Decodes; with native, writes the samples there (pixel.h layout) and stops; else blanks and encodes. */
static int
j2k_work(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, int *rct, uint8_t *native, struct pv_diag *d)
{
	opj_codec_t *dec = NULL, *enc = NULL;
	opj_stream_t *s = NULL, *os = NULL;
	opj_image_t *img = NULL;
	opj_dparameters_t dp;
	opj_cparameters_t cp;
	opj_codestream_info_v2_t *info = NULL;
	struct mem mi = { in, n, 0, NULL, 0 }, mo;
	char err[160] = "";
	int rc = 0, mct = 0, jp2;
	size_t start = out != NULL ? out->len : 0;

	*rct = 0;
	if (n < 12)
		return pv_diag_set(d, PV_EPARSE, 0, "JPEG 2000 frame too short");
	jp2 = memcmp(in, "\0\0\0\x0cjP  ", 8) == 0;
	if (!jp2 && !(in[0] == 0xff && in[1] == 0x4f))
		return pv_diag_set(d, PV_EPARSE, 0, "not a JPEG 2000 codestream (no SOC marker)");
	if ((dec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K)) == NULL)
		return PV_ENOMEM;
	opj_set_info_handler(dec, quiet, NULL);
	opj_set_warning_handler(dec, quiet, NULL);
	opj_set_error_handler(dec, keep_error, err);
	opj_set_default_decoder_parameters(&dp);
	if (!opj_setup_decoder(dec, &dp) || (s = mem_stream(&mi, 1)) == NULL) {
		rc = PV_ENOMEM;
		goto out;
	}
	if (!opj_read_header(s, dec, &img) || img == NULL) {
		rc = pv_diag_set(d, PV_EPARSE, (int64_t)mi.pos, "JPEG 2000 header: %s", err[0] ? err : "unreadable");
		goto out;
	}
	if (img->numcomps != pd->spp || img->x1 - img->x0 != pd->cols || img->y1 - img->y0 != pd->rows) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG 2000 image is %ux%u with %u components, the data set says %ux%u with %u",
		    (unsigned)(img->x1 - img->x0), (unsigned)(img->y1 - img->y0), (unsigned)img->numcomps,
		    (unsigned)pd->cols, (unsigned)pd->rows, (unsigned)pd->spp);
		goto out;
	}
	for (unsigned c = 0; c < img->numcomps; c++)
		if (img->comps[c].dx != 1 || img->comps[c].dy != 1 || img->comps[c].prec < 1 ||
		    img->comps[c].prec > pd->bits_alloc || img->comps[c].prec > 16) {
			rc = pv_diag_set(d, PV_EUNSUPPORTED, 0,
			    "JPEG 2000 component %u (subsampled or of %u bits) is not handled", c, img->comps[c].prec);
			goto out;
		}
	if ((info = opj_get_cstr_info(dec)) != NULL)
		mct = info->m_default_tile_info.mct != 0;
	if (!opj_decode(dec, s, img) || !opj_end_decompress(dec, s)) {
		rc = pv_diag_set(d, PV_EPARSE, (int64_t)mi.pos, "JPEG 2000 data: %s", err[0] ? err : "undecodable");
		goto out;
	}
	if (native != NULL) {
		unsigned bytes = pd->bits_alloc / 8u;
		size_t npix = (size_t)pd->rows * pd->cols;
		for (unsigned c = 0; c < img->numcomps; c++) {
			opj_image_comp_t *cc = &img->comps[c];
			if (cc->data == NULL || cc->w != pd->cols || cc->h != pd->rows) {
				rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG 2000 component %u was not decoded", c);
				goto out;
			}
			for (size_t i = 0; i < npix; i++) {
				uint32_t v = (uint32_t)cc->data[i];
				size_t o = (i * pd->spp + c) * bytes;
				native[o] = (uint8_t)v;
				if (bytes == 2)
					native[o + 1] = (uint8_t)(v >> 8);
			}
		}
		goto out;
	}
	for (unsigned c = 0; c < img->numcomps; c++) {
		opj_image_comp_t *cc = &img->comps[c];
		int32_t v = (int32_t)fill_for(pd, c, mct);
		if (cc->data == NULL) {
			rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG 2000 component %u was not decoded", c);
			goto out;
		}
		if (cc->sgnd && pd->pixrep == 0)
			v = 0;
		for (size_t k = 0; k < nr; k++) {
			struct pix_rect cr;
			if (!pix_rect_clip(pd, &r[k], &cr))
				continue;
			for (uint32_t y = cr.y; y < cr.y + cr.h; y++)
				for (uint32_t x = cr.x; x < cr.x + cr.w; x++)
					cc->data[(size_t)y * cc->w + x] = v;
		}
	}
	/* Encode again, reversibly. */
	opj_set_default_encoder_parameters(&cp);
	cp.tcp_numlayers = 1;
	cp.tcp_rates[0] = 0;
	cp.cp_disto_alloc = 1;
	cp.irreversible = 0;
	cp.tcp_mct = (char)(mct && img->numcomps == 3);
	cp.numresolution = 6;
	while (cp.numresolution > 1 && ((1u << (cp.numresolution - 1)) > pd->cols || (1u << (cp.numresolution - 1)) > pd->rows))
		cp.numresolution--;
	img->x0 = img->y0 = 0;
	if ((enc = opj_create_compress(OPJ_CODEC_J2K)) == NULL) {
		rc = PV_ENOMEM;
		goto out;
	}
	opj_set_info_handler(enc, quiet, NULL);
	opj_set_warning_handler(enc, quiet, NULL);
	opj_set_error_handler(enc, keep_error, err);
	mo = (struct mem){ NULL, 0, 0, out, 0 };
	mo.pos = out->len;
	if (!opj_setup_encoder(enc, &cp, img) || (os = mem_stream(&mo, 0)) == NULL ||
	    !opj_start_compress(enc, img, os) || !opj_encode(enc, os) || !opj_end_compress(enc, os) || mo.err) {
		out->len = start;
		rc = pv_diag_set(d, PV_EINTERNAL, 0, "JPEG 2000 encoding failed: %s", err[0] ? err : "no reason given");
		goto out;
	}
	*rct = cp.tcp_mct != 0;
out:
	if (info != NULL)
		opj_destroy_cstr_info(&info);
	if (os != NULL)
		opj_stream_destroy(os);
	if (s != NULL)
		opj_stream_destroy(s);
	if (enc != NULL)
		opj_destroy_codec(enc);
	if (dec != NULL)
		opj_destroy_codec(dec);
	if (img != NULL)
		opj_image_destroy(img);
	return rc;
}

