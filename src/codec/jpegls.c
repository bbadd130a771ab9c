/*
 * jpegls.c: JPEG-LS (ITU T.87) through CharLS's C API.
 *
 * CharLS decodes component planes when the stream is not interleaved and
 * pixel-interleaved samples otherwise, 9- to 16-bit samples in host byte
 * order; both are turned into the native frame layout of pixel.h here,
 * and back for the encoder, which is given the NEAR value, interleave
 * mode and preset coding parameters the decoder reported so a frame goes
 * back as it came (lossless stays lossless).
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/mem.h"

#include <stdlib.h>
#include <string.h>

#include <charls/charls.h>
#include <dlfcn.h>
#include <pthread.h>

/*
 * CharLS is loaded on first use, not linked: only the sandboxed codec
 * helper decodes JPEG-LS, so the pacsvault process itself never maps
 * CharLS (nor the C++ runtime it pulls in), and every command starts
 * faster. The helper loads it before it enters its sandbox.
 */
#define CHARLS_FUNCS(X) \
	X(charls_get_error_message) X(charls_jpegls_decoder_create) X(charls_jpegls_decoder_destroy) \
	X(charls_jpegls_decoder_set_source_buffer) X(charls_jpegls_decoder_read_header) \
	X(charls_jpegls_decoder_get_frame_info) X(charls_jpegls_decoder_get_near_lossless) \
	X(charls_jpegls_decoder_get_interleave_mode) X(charls_jpegls_decoder_get_color_transformation) \
	X(charls_jpegls_decoder_get_preset_coding_parameters) X(charls_jpegls_decoder_get_destination_size) \
	X(charls_jpegls_decoder_decode_to_buffer) X(charls_jpegls_encoder_create) \
	X(charls_jpegls_encoder_destroy) X(charls_jpegls_encoder_set_frame_info) \
	X(charls_jpegls_encoder_set_near_lossless) X(charls_jpegls_encoder_set_interleave_mode) \
	X(charls_jpegls_encoder_set_preset_coding_parameters) \
	X(charls_jpegls_encoder_get_estimated_destination_size) \
	X(charls_jpegls_encoder_set_destination_buffer) X(charls_jpegls_encoder_encode_from_buffer) \
	X(charls_jpegls_encoder_get_bytes_written)
#define CHARLS_DECL(f) static __typeof__(&f) p_##f;
CHARLS_FUNCS(CHARLS_DECL)
static pthread_once_t charls_once = PTHREAD_ONCE_INIT;
static int charls_ok;

static void
charls_load(void)
{
	void *h = dlopen("libcharls.so.2", RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return;
#define CHARLS_LOAD(f) if ((p_##f = (__typeof__(p_##f))dlsym(h, #f)) == NULL) return;
	CHARLS_FUNCS(CHARLS_LOAD)
	charls_ok = 1;
}

int
jpegls_available(void)
{
	pthread_once(&charls_once, charls_load);
	return charls_ok;
}

#define charls_get_error_message (*p_charls_get_error_message)
#define charls_jpegls_decoder_create (*p_charls_jpegls_decoder_create)
#define charls_jpegls_decoder_destroy (*p_charls_jpegls_decoder_destroy)
#define charls_jpegls_decoder_set_source_buffer (*p_charls_jpegls_decoder_set_source_buffer)
#define charls_jpegls_decoder_read_header (*p_charls_jpegls_decoder_read_header)
#define charls_jpegls_decoder_get_frame_info (*p_charls_jpegls_decoder_get_frame_info)
#define charls_jpegls_decoder_get_near_lossless (*p_charls_jpegls_decoder_get_near_lossless)
#define charls_jpegls_decoder_get_interleave_mode (*p_charls_jpegls_decoder_get_interleave_mode)
#define charls_jpegls_decoder_get_color_transformation (*p_charls_jpegls_decoder_get_color_transformation)
#define charls_jpegls_decoder_get_preset_coding_parameters (*p_charls_jpegls_decoder_get_preset_coding_parameters)
#define charls_jpegls_decoder_get_destination_size (*p_charls_jpegls_decoder_get_destination_size)
#define charls_jpegls_decoder_decode_to_buffer (*p_charls_jpegls_decoder_decode_to_buffer)
#define charls_jpegls_encoder_create (*p_charls_jpegls_encoder_create)
#define charls_jpegls_encoder_destroy (*p_charls_jpegls_encoder_destroy)
#define charls_jpegls_encoder_set_frame_info (*p_charls_jpegls_encoder_set_frame_info)
#define charls_jpegls_encoder_set_near_lossless (*p_charls_jpegls_encoder_set_near_lossless)
#define charls_jpegls_encoder_set_interleave_mode (*p_charls_jpegls_encoder_set_interleave_mode)
#define charls_jpegls_encoder_set_preset_coding_parameters (*p_charls_jpegls_encoder_set_preset_coding_parameters)
#define charls_jpegls_encoder_get_estimated_destination_size (*p_charls_jpegls_encoder_get_estimated_destination_size)
#define charls_jpegls_encoder_set_destination_buffer (*p_charls_jpegls_encoder_set_destination_buffer)
#define charls_jpegls_encoder_encode_from_buffer (*p_charls_jpegls_encoder_encode_from_buffer)
#define charls_jpegls_encoder_get_bytes_written (*p_charls_jpegls_encoder_get_bytes_written)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "jpegls.c assumes a little-endian host (CharLS uses host byte order)"
#endif

/* planar (c, y, x) <-> interleaved (y, x, c), bytes per sample b */
static void
reorder(const uint8_t *src, uint8_t *dst, const struct pix_desc *pd, int to_interleaved)
{
	size_t npix = (size_t)pd->rows * pd->cols, b = pd->bits_alloc / 8u;
	for (unsigned c = 0; c < pd->spp; c++)
		for (size_t i = 0; i < npix; i++) {
			size_t pl = (c * npix + i) * b, il = (i * pd->spp + c) * b;
			if (to_interleaved)
				memcpy(dst + il, src + pl, b);
			else
				memcpy(dst + pl, src + il, b);
		}
}

int
jpegls_decode(const uint8_t *in, size_t n, const struct pix_desc *pd, uint8_t *out,
    struct jpegls_params *used, struct pv_diag *d)
{
	charls_jpegls_decoder *dec;
	charls_frame_info fi;
	charls_interleave_mode im;
	charls_color_transformation ct;
	charls_jpegls_pc_parameters pc;
	charls_jpegls_errc e;
	size_t need = pix_frame_bytes(pd), size = 0;
	int32_t near = 0;
	uint8_t *tmp = NULL;
	int rc = 0;

	memset(used, 0, sizeof(*used));
	if (!jpegls_available())
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "JPEG-LS: CharLS (libcharls.so.2) cannot be loaded");
	if (pd->bits_alloc > 16)
		return pv_diag_set(d, PV_EUNSUPPORTED, 0, "JPEG-LS holds at most 16-bit samples");
	if (need == 0)
		return pv_diag_set(d, PV_ELIMIT, 0, "JPEG-LS: the image is over the size cap");
	if ((dec = charls_jpegls_decoder_create()) == NULL)
		return PV_ENOMEM;
	e = charls_jpegls_decoder_set_source_buffer(dec, in, n);
	if (e == 0)
		e = charls_jpegls_decoder_read_header(dec);
	if (e == 0)
		e = charls_jpegls_decoder_get_frame_info(dec, &fi);
	if (e == 0)
		e = charls_jpegls_decoder_get_near_lossless(dec, 0, &near);
	if (e == 0)
		e = charls_jpegls_decoder_get_interleave_mode(dec, &im);
	if (e == 0)
		e = charls_jpegls_decoder_get_color_transformation(dec, &ct);
	if (e == 0)
		e = charls_jpegls_decoder_get_preset_coding_parameters(dec, 0, &pc);
	if (e != 0) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG-LS: %s", charls_get_error_message(e));
		goto out;
	}
	if (fi.width != pd->cols || fi.height != pd->rows || fi.component_count != (int32_t)pd->spp ||
	    fi.bits_per_sample < 2 || fi.bits_per_sample > (int32_t)pd->bits_alloc) {
		rc = pv_diag_set(d, PV_EPARSE, 0,
		    "JPEG-LS frame is %ux%u with %d components of %d bits, the data set says %ux%u with %u of %u",
		    (unsigned)fi.width, (unsigned)fi.height, (int)fi.component_count, (int)fi.bits_per_sample,
		    (unsigned)pd->cols, (unsigned)pd->rows, (unsigned)pd->spp, (unsigned)pd->bits_alloc);
		goto out;
	}
	if (ct != 0) {
		rc = pv_diag_set(d, PV_EUNSUPPORTED, 0, "JPEG-LS colour transformations are not DICOM");
		goto out;
	}
	if ((fi.bits_per_sample > 8) != (pd->bits_alloc > 8)) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG-LS sample size does not match BitsAllocated");
		goto out;
	}
	e = charls_jpegls_decoder_get_destination_size(dec, 0, &size);
	if (e != 0 || size != need) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG-LS decoded size does not match the image");
		goto out;
	}
	if (im == CHARLS_INTERLEAVE_MODE_NONE && pd->spp > 1 && (tmp = malloc(need)) == NULL) {
		rc = PV_ENOMEM;
		goto out;
	}
	e = charls_jpegls_decoder_decode_to_buffer(dec, tmp ? tmp : out, need, 0);
	if (e != 0) {
		rc = pv_diag_set(d, PV_EPARSE, 0, "JPEG-LS: %s", charls_get_error_message(e));
		goto out;
	}
	if (tmp != NULL)
		reorder(tmp, out, pd, 1);
	used->near = near;
	used->bits = fi.bits_per_sample;
	used->interleave = (int)im;
	used->maxval = pc.maximum_sample_value;
	used->t1 = pc.threshold1;
	used->t2 = pc.threshold2;
	used->t3 = pc.threshold3;
	used->reset = pc.reset_value;
out:
	free(tmp);
	charls_jpegls_decoder_destroy(dec);
	return rc;
}

int
jpegls_encode(const uint8_t *frame, const struct pix_desc *pd, const struct jpegls_params *p,
    struct pv_buf *out, struct pv_diag *d)
{
	charls_jpegls_encoder *enc;
	charls_frame_info fi;
	charls_jpegls_pc_parameters pc;
	charls_jpegls_errc e;
	size_t need = pix_frame_bytes(pd), cap = 0, written = 0;
	uint8_t *tmp = NULL, *dst = NULL;
	int rc = 0;

	if (!jpegls_available())
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "JPEG-LS: CharLS (libcharls.so.2) cannot be loaded");
	if (need == 0 || pd->bits_alloc > 16)
		return PV_ELIMIT;
	if ((enc = charls_jpegls_encoder_create()) == NULL)
		return PV_ENOMEM;
	fi.width = pd->cols;
	fi.height = pd->rows;
	fi.bits_per_sample = p->bits > 0 ? p->bits : pd->bits_stored;
	fi.component_count = pd->spp;
	memset(&pc, 0, sizeof(pc));
	pc.maximum_sample_value = p->maxval;
	pc.threshold1 = p->t1;
	pc.threshold2 = p->t2;
	pc.threshold3 = p->t3;
	pc.reset_value = p->reset;
	e = charls_jpegls_encoder_set_frame_info(enc, &fi);
	if (e == 0)
		e = charls_jpegls_encoder_set_near_lossless(enc, p->near);
	if (e == 0)
		e = charls_jpegls_encoder_set_interleave_mode(enc, pd->spp > 1 ?
		    (charls_interleave_mode)p->interleave : CHARLS_INTERLEAVE_MODE_NONE);
	if (e == 0 && (pc.maximum_sample_value || pc.threshold1 || pc.threshold2 || pc.threshold3 || pc.reset_value))
		e = charls_jpegls_encoder_set_preset_coding_parameters(enc, &pc);
	if (e == 0)
		e = charls_jpegls_encoder_get_estimated_destination_size(enc, &cap);
	if (e != 0) {
		rc = pv_diag_set(d, PV_EINVAL, 0, "JPEG-LS: %s", charls_get_error_message(e));
		goto out;
	}
	if ((dst = malloc(cap)) == NULL ||
	    (p->interleave == 0 && pd->spp > 1 && (tmp = malloc(need)) == NULL)) {
		rc = PV_ENOMEM;
		goto out;
	}
	if (tmp != NULL)
		reorder(frame, tmp, pd, 0);
	e = charls_jpegls_encoder_set_destination_buffer(enc, dst, cap);
	if (e == 0)
		e = charls_jpegls_encoder_encode_from_buffer(enc, tmp ? tmp : frame, need, 0);
	if (e == 0)
		e = charls_jpegls_encoder_get_bytes_written(enc, &written);
	if (e != 0) {
		rc = pv_diag_set(d, PV_EINVAL, 0, "JPEG-LS: %s", charls_get_error_message(e));
		goto out;
	}
	rc = pv_buf_append(out, dst, written);
out:
	free(tmp);
	free(dst);
	charls_jpegls_encoder_destroy(enc);
	return rc;
}
