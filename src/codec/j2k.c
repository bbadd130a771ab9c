/*
 * j2k.c: JPEG 2000 (1.2.840.10008.1.2.4.90, .91) through OpenJPEG, in a
 * helper process.
 *
 * OpenJPEG is a large decoder with a history of memory-safety bugs, so it
 * never runs in the pacsvault process: j2k_clean() sends the frame, the
 * image description and the rectangles to "pacsvault __codec-helper j2k"
 * (this same program), which enters its sandbox (pv_sandbox_enter: memory
 * and CPU limits, no new files, a seccomp filter) before it parses a byte
 * of the frame. The helper decodes, blanks the rectangles in every
 * component, and encodes again reversibly (5/3 wavelet, RCT when the
 * source used a component transform), so nothing outside the rectangles
 * changes: a lossy (.91) source is not made lossier.
 *
 * Request: "PVJ2" u32 version, u32 rows, cols, spp, bits_alloc,
 * bits_stored, pixrep, then 20 bytes of photometric, u32 nrects, 4 x u32
 * per rectangle, u32 length, the frame. Answer: u8 status (0 ok), then
 * the new frame and a u8 flag (1: it uses RCT) at the end; or on error
 * i32 code and a message.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openjpeg.h>

#define J2K_MAX_FRAME ((size_t)1 << 30)
#define J2K_MAX_RECTS 4096

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

int
j2k_clean_local(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, int *rct, struct pv_diag *d)
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
	size_t start = out->len;

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

/* ---- the request and the answer ---- */

static int
put32(struct pv_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return pv_buf_append(b, x, 4);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
j2k_clean(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, int *rct, struct pv_diag *d)
{
	static char *const argv[] = { "pacsvault", "__codec-helper", "j2k", NULL };
	struct pv_buf req, ans;
	int rc = 0;

	*rct = 0;
	if (n > J2K_MAX_FRAME || nr > J2K_MAX_RECTS)
		return pv_diag_set(d, PV_ELIMIT, 0, "JPEG 2000 frame over the helper's size cap");
	pv_buf_init(&req, J2K_MAX_FRAME + 65536 + 16 * nr);
	pv_buf_init(&ans, 2 * J2K_MAX_FRAME);
	rc = pv_buf_append(&req, "PVJ2", 4);
	uint32_t h[7] = { 1, pd->rows, pd->cols, pd->spp, pd->bits_alloc, pd->bits_stored, pd->pixrep };
	for (int i = 0; rc == 0 && i < 7; i++)
		rc = put32(&req, h[i]);
	if (rc == 0)
		rc = pv_buf_append(&req, pd->photometric, sizeof(pd->photometric));
	if (rc == 0)
		rc = put32(&req, (uint32_t)nr);
	for (size_t i = 0; rc == 0 && i < nr; i++)
		if ((rc = put32(&req, r[i].x)) == 0 && (rc = put32(&req, r[i].y)) == 0 && (rc = put32(&req, r[i].w)) == 0)
			rc = put32(&req, r[i].h);
	if (rc == 0)
		rc = put32(&req, (uint32_t)n);
	if (rc == 0)
		rc = pv_buf_append(&req, in, n);
	if (rc == 0)
		rc = pv_helper_exchange(argv, req.data, req.len, &ans, 120, d);
	if (rc == 0) {
		const uint8_t *a = (const uint8_t *)ans.data;
		if (ans.len >= 2 && a[0] == 0) {
			rc = pv_buf_append(out, a + 1, ans.len - 2);
			*rct = a[ans.len - 1] == 1;
		} else if (ans.len >= 5 && a[0] == 1) {
			int code = (int)get32(a + 1);
			if (code >= 0 || code < -(PV_ERR_COUNT - 1))
				code = PV_EINTERNAL;
			rc = pv_diag_set(d, code, -1, "%.*s", (int)(ans.len - 5 > 200 ? 200 : ans.len - 5), (const char *)a + 5);
		} else {
			rc = pv_diag_set(d, PV_EINTERNAL, -1, "the JPEG 2000 helper gave no answer");
		}
	}
	pv_buf_free(&req);
	pv_buf_free(&ans);
	return rc;
}

static int
read_all(int fd, struct pv_buf *b)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r == 0)
			return 0;
		if (r < 0)
			return PV_EIO;
		if (pv_buf_append(b, chunk, (size_t)r) != 0)
			return PV_ELIMIT;
	}
}

static int
answer_error(int code, const char *msg)
{
	struct pv_buf a;
	int rc;
	pv_buf_init(&a, 4096);
	rc = pv_buf_putc(&a, 1);
	if (rc == 0)
		rc = put32(&a, (uint32_t)code);
	if (rc == 0)
		rc = pv_buf_puts(&a, msg);
	if (rc == 0)
		rc = pv_write_all(1, a.data, a.len);
	pv_buf_free(&a);
	return rc == 0 ? 0 : 1;
}

int
j2k_helper_main(void)
{
	static const struct pv_sandbox_limits lim = { (size_t)4 << 30, 60 };
	struct pv_buf req, out;
	struct pv_diag d;
	struct pix_desc pd;
	struct pix_rect *rects = NULL;
	const uint8_t *p;
	size_t left, nr;
	int rct = 0, rc;

	pv_buf_init(&req, J2K_MAX_FRAME + 65536 + 16 * J2K_MAX_RECTS);
	pv_buf_init(&out, 2 * J2K_MAX_FRAME);
	pv_diag_clear(&d);
	if (read_all(0, &req) != 0) {
		pv_buf_free(&req);
		return answer_error(PV_EIO, "the helper could not read its request");
	}
	if (pv_sandbox_enter(&lim) != 0) {
		pv_buf_free(&req);
		return answer_error(PV_EINTERNAL, "the helper could not enter its sandbox");
	}
	p = (const uint8_t *)req.data;
	left = req.len;
	if (left < 4 + 28 + 20 + 4 || memcmp(p, "PVJ2", 4) != 0 || get32(p + 4) != 1) {
		pv_buf_free(&req);
		return answer_error(PV_EPARSE, "the helper's request is malformed");
	}
	memset(&pd, 0, sizeof(pd));
	pd.rows = get32(p + 8);
	pd.cols = get32(p + 12);
	pd.spp = (uint16_t)get32(p + 16);
	pd.bits_alloc = (uint16_t)get32(p + 20);
	pd.bits_stored = (uint16_t)get32(p + 24);
	pd.pixrep = (uint16_t)get32(p + 28);
	pd.frames = 1;
	memcpy(pd.photometric, p + 32, sizeof(pd.photometric));
	pd.photometric[sizeof(pd.photometric) - 1] = '\0';
	nr = get32(p + 52);
	p += 56;
	left -= 56;
	if (nr > J2K_MAX_RECTS || left < 16 * nr + 4 || pix_frame_bytes(&pd) == 0 ||
	    (rects = pv_calloc(nr + 1, sizeof(*rects))) == NULL) {
		pv_buf_free(&req);
		return answer_error(PV_EPARSE, "the helper's request is malformed");
	}
	for (size_t i = 0; i < nr; i++, p += 16)
		rects[i] = (struct pix_rect){ get32(p), get32(p + 4), get32(p + 8), get32(p + 12) };
	left -= 16 * nr;
	if (get32(p) != left - 4) {
		free(rects);
		pv_buf_free(&req);
		return answer_error(PV_EPARSE, "the helper's request is malformed");
	}
	rc = pv_buf_putc(&out, 0);
	if (rc == 0 && (rc = j2k_clean_local(p + 4, left - 4, &pd, rects, nr, &out, &rct, &d)) != 0) {
		char msg[512];
		pv_diag_format(&d, NULL, msg, sizeof(msg));
		free(rects);
		pv_buf_free(&req);
		pv_buf_free(&out);
		return answer_error(rc, msg);
	}
	if (rc == 0)
		rc = pv_buf_putc(&out, (char)(rct ? 1 : 0));
	if (rc == 0)
		rc = pv_write_all(1, out.data, out.len);
	free(rects);
	pv_buf_free(&req);
	pv_buf_free(&out);
	return rc == 0 ? 0 : 1;
}
