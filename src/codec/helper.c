/*
 * helper.c: the sandboxed helper process for the third-party decoders
 * that pacsvault does not run in its own process: OpenJPEG (JPEG 2000) and
 * CharLS (JPEG-LS; fuzzing found inputs of a few hundred bytes on which it
 * spins for seconds, so it gets a CPU limit too).
 *
 * pix_helper_clean() sends every frame of one file, the image
 * description and the rectangles to "pacsvault __codec-helper frames"
 * (this same program), which reads the request, computes its CPU budget
 * from it, enters its sandbox (pv_sandbox_enter: memory and CPU limits, no
 * new files, a seccomp filter) before it parses a byte of a frame, cleans
 * each frame and answers.
 *
 * Request: "PVCH", u32 version 1, u32 codec, rows, cols, spp, bits_alloc,
 * bits_stored, pixrep, 20 bytes of photometric, u32 nrects, 4 x u32 per
 * rectangle, u32 nframes, then per frame u32 length and the bytes.
 * Answer: u8 0, then per frame u32 length, the bytes and u8 flags (1: the
 * JPEG 2000 stream uses RCT); or u8 1, i32 error code, a message.
 */
#include "pacsvault/codec/codec.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELPER_MAX_REQUEST ((size_t)3 << 30)
#define HELPER_MAX_RECTS 4096
#define HELPER_MAX_FRAMES 100000u

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

/* CPU seconds for nf frames: 20 s, and 20 s more per 16 Mi samples. */
static unsigned
budget_s(const struct pix_desc *pd, uint32_t nf)
{
	uint64_t samples = (uint64_t)pd->rows * pd->cols * pd->spp * nf;
	uint64_t s = 20 + 20 * (samples >> 24);
	return s > 3600 ? 3600 : (unsigned)s;
}

#define HELPER_DECODE 0x100u   /* in the codec field: decode, do not clean */

static int helper_call(uint32_t op, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    const struct pix_rect *r, size_t nr, struct pv_buf *outs, int *rct_any, struct pv_diag *d);

int
pix_helper_clean(enum pix_codec c, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    const struct pix_rect *r, size_t nr, struct pv_buf *outs, int *rct_any, struct pv_diag *d)
{
	if (c != PIX_JPEG_2000 && c != PIX_JPEG_LS)
		return PV_EINVAL;
	return helper_call((uint32_t)c, fr, nf, pd, r, nr, outs, rct_any, d);
}

int
pix_helper_decode(enum pix_codec c, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    struct pv_buf *outs, struct pv_diag *d)
{
	int rct;
	if (c != PIX_JPEG_2000 && c != PIX_JPEG_LS)
		return PV_EINVAL;
	return helper_call((uint32_t)c | HELPER_DECODE, fr, nf, pd, NULL, 0, outs, &rct, d);
}

static int
helper_call(uint32_t op, const struct pix_frame *fr, uint32_t nf, const struct pix_desc *pd,
    const struct pix_rect *r, size_t nr, struct pv_buf *outs, int *rct_any, struct pv_diag *d)
{
	static char *const argv[] = { "pacsvault", "__codec-helper", "frames", NULL };
	struct pv_buf req, ans;
	size_t total = 0;
	int rc = 0;

	*rct_any = 0;
	for (uint32_t i = 0; i < nf; i++)
		total += fr[i].n + 4;
	if (nr > HELPER_MAX_RECTS || nf > HELPER_MAX_FRAMES || total > HELPER_MAX_REQUEST - 65536 - 16 * nr)
		return pv_diag_set(d, PV_ELIMIT, -1, "pixel data over the decoder helper's size cap");
	pv_buf_init(&req, HELPER_MAX_REQUEST);
	pv_buf_init(&ans, HELPER_MAX_REQUEST);
	rc = pv_buf_append(&req, "PVCH", 4);
	uint32_t h[8] = { 1, op, pd->rows, pd->cols, pd->spp, pd->bits_alloc, pd->bits_stored, pd->pixrep };
	for (int i = 0; rc == 0 && i < 8; i++)
		rc = put32(&req, h[i]);
	if (rc == 0)
		rc = pv_buf_append(&req, pd->photometric, sizeof(pd->photometric));
	if (rc == 0)
		rc = put32(&req, (uint32_t)nr);
	for (size_t i = 0; rc == 0 && i < nr; i++)
		if ((rc = put32(&req, r[i].x)) == 0 && (rc = put32(&req, r[i].y)) == 0 && (rc = put32(&req, r[i].w)) == 0)
			rc = put32(&req, r[i].h);
	if (rc == 0)
		rc = put32(&req, nf);
	for (uint32_t i = 0; rc == 0 && i < nf; i++)
		if ((rc = put32(&req, (uint32_t)fr[i].n)) == 0)
			rc = pv_buf_append(&req, fr[i].p, fr[i].n);
	if (rc == 0)
		rc = pv_helper_exchange(argv, req.data, req.len, &ans, budget_s(pd, nf) + 30, d);
	if (rc == 0) {
		const uint8_t *a = (const uint8_t *)ans.data;
		size_t left = ans.len, pos = 1;
		if (left >= 1 && a[0] == 0) {
			for (uint32_t i = 0; i < nf && rc == 0; i++) {
				uint32_t len;
				if (left - pos < 5 || (len = get32(a + pos)) > left - pos - 5) {
					rc = pv_diag_set(d, PV_EINTERNAL, -1, "the decoder helper's answer is malformed");
					break;
				}
				rc = pv_buf_append(&outs[i], a + pos + 4, len);
				if (a[pos + 4 + len] & 1)
					*rct_any = 1;
				pos += 5 + (size_t)len;
			}
			if (rc == 0 && pos != left)
				rc = pv_diag_set(d, PV_EINTERNAL, -1, "the decoder helper's answer is malformed");
		} else if (left >= 5 && a[0] == 1) {
			int code = (int)get32(a + 1);
			if (code >= 0 || code < -(PV_ERR_COUNT - 1))
				code = PV_EINTERNAL;
			rc = pv_diag_set(d, code, -1, "%.*s", (int)(left - 5 > 200 ? 200 : left - 5), (const char *)a + 5);
		} else {
			rc = pv_diag_set(d, PV_EINTERNAL, -1, "the decoder helper gave no answer");
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

/* JPEG-LS: decode, blank, encode with the same parameters. */
static int
jpegls_clean_local(const uint8_t *in, size_t n, const struct pix_desc *pd, const struct pix_rect *r, size_t nr,
    struct pv_buf *out, struct pv_diag *d)
{
	struct jpegls_params p;
	uint8_t *frame = malloc(pix_frame_bytes(pd));
	int rc;

	if (frame == NULL)
		return PV_ENOMEM;
	if ((rc = jpegls_decode(in, n, pd, frame, &p, d)) == 0) {
		(void)pix_blank(frame, pd, r, nr);
		rc = jpegls_encode(frame, pd, &p, out, d);
	}
	free(frame);
	return rc;
}

int
pix_helper_main(void)
{
	struct pv_sandbox_limits lim = { (size_t)4 << 30, 20 };
	struct pv_buf req, out;
	struct pv_diag d;
	struct pix_desc pd;
	struct pix_rect *rects = NULL;
	const uint8_t *p;
	size_t left, nr;
	uint32_t codec, nf;
	int rc = 0;

	pv_buf_init(&req, HELPER_MAX_REQUEST);
	pv_buf_init(&out, HELPER_MAX_REQUEST);
	pv_diag_clear(&d);
	if (read_all(0, &req) != 0) {
		pv_buf_free(&req);
		return answer_error(PV_EIO, "the decoder helper could not read its request");
	}
	p = (const uint8_t *)req.data;
	left = req.len;
	if (left < 4 + 32 + 20 + 4 || memcmp(p, "PVCH", 4) != 0 || get32(p + 4) != 1)
		goto malformed;
	memset(&pd, 0, sizeof(pd));
	codec = get32(p + 8);
	pd.rows = get32(p + 12);
	pd.cols = get32(p + 16);
	pd.spp = (uint16_t)get32(p + 20);
	pd.bits_alloc = (uint16_t)get32(p + 24);
	pd.bits_stored = (uint16_t)get32(p + 28);
	pd.pixrep = (uint16_t)get32(p + 32);
	pd.frames = 1;
	memcpy(pd.photometric, p + 36, sizeof(pd.photometric));
	pd.photometric[sizeof(pd.photometric) - 1] = '\0';
	nr = get32(p + 56);
	p += 60;
	left -= 60;
	uint32_t decode_only = codec & HELPER_DECODE;
	codec &= ~HELPER_DECODE;
	if ((codec != PIX_JPEG_2000 && codec != PIX_JPEG_LS) || nr > HELPER_MAX_RECTS || left < 16 * nr + 4 ||
	    pix_frame_bytes(&pd) == 0 || (rects = pv_calloc(nr + 1, sizeof(*rects))) == NULL)
		goto malformed;
	for (size_t i = 0; i < nr; i++, p += 16)
		rects[i] = (struct pix_rect){ get32(p), get32(p + 4), get32(p + 8), get32(p + 12) };
	left -= 16 * nr;
	nf = get32(p);
	p += 4;
	left -= 4;
	if (nf == 0 || nf > HELPER_MAX_FRAMES)
		goto malformed;
	lim.max_cpu_s = budget_s(&pd, nf);
	/* The decoder library is loaded now: in the sandbox nothing can be opened or mapped from a file. */
	if (!(codec == PIX_JPEG_2000 ? j2k_available() : jpegls_available())) {
		free(rects);
		pv_buf_free(&req);
		return answer_error(PV_EUNSUPPORTED, codec == PIX_JPEG_2000 ? "OpenJPEG (libopenjp2.so.7) cannot be loaded" :
		    "CharLS (libcharls.so.2) cannot be loaded");
	}
	if (pv_sandbox_enter(&lim) != 0) {
		free(rects);
		pv_buf_free(&req);
		return answer_error(PV_EINTERNAL, "the decoder helper could not enter its sandbox");
	}
	rc = pv_buf_putc(&out, 0);
	for (uint32_t i = 0; i < nf && rc == 0; i++) {
		uint32_t len;
		size_t at;
		int rct = 0;
		if (left < 4 || (len = get32(p)) > left - 4)
			goto malformed;
		at = out.len;
		if ((rc = put32(&out, 0)) != 0)
			break;
		if (decode_only) {
			size_t fb = pix_frame_bytes(&pd);
			uint8_t *nat = malloc(fb);
			struct jpegls_params jp;
			if (nat == NULL) {
				rc = PV_ENOMEM;
			} else {
				rc = codec == PIX_JPEG_2000 ? j2k_decode_local(p + 4, len, &pd, nat, &d) :
				    jpegls_decode(p + 4, len, &pd, nat, &jp, &d);
				if (rc == 0)
					rc = pv_buf_append(&out, nat, fb);
				free(nat);
			}
		} else {
			rc = codec == PIX_JPEG_2000 ? j2k_clean_local(p + 4, len, &pd, rects, nr, &out, &rct, &d) :
			    jpegls_clean_local(p + 4, len, &pd, rects, nr, &out, &d);
		}
		if (rc != 0) {
			char msg[512], full[600];
			pv_diag_format(&d, NULL, msg, sizeof(msg));
			snprintf(full, sizeof(full), "frame %u: %s", i + 1, msg);
			free(rects);
			pv_buf_free(&req);
			pv_buf_free(&out);
			return answer_error(rc, full);
		}
		uint32_t olen = (uint32_t)(out.len - at - 4);
		for (int k = 0; k < 4; k++)
			out.data[at + (size_t)k] = (char)(olen >> (8 * k));
		rc = pv_buf_putc(&out, (char)(rct ? 1 : 0));
		p += 4 + (size_t)len;
		left -= 4 + (size_t)len;
	}
	if (rc == 0 && left != 0)
		goto malformed;
	if (rc == 0)
		rc = pv_write_all(1, out.data, out.len);
	free(rects);
	pv_buf_free(&req);
	pv_buf_free(&out);
	return rc == 0 ? 0 : 1;
malformed:
	free(rects);
	pv_buf_free(&req);
	pv_buf_free(&out);
	return answer_error(PV_EPARSE, "the decoder helper's request is malformed");
}
