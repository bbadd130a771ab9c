/*
 * ocr_helper.c: pacsvault-ocr, the OCR helper program (see
 * include/pacsvault/deid/ocr.h). A separate program so that pacsvault
 * does not link Tesseract and what it pulls in (libcurl, libarchive,
 * OpenMP). It reads one request on stdin, loads the language data, enters
 * its sandbox, recognises, answers on stdout, and exits.
 */
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/sandbox.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tesseract/capi.h>

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

static int
fail(const char *msg)
{
	struct pv_buf b;
	pv_buf_init(&b, 4096);
	int rc = 1;
	if (pv_buf_append(&b, "PVOE", 4) == 0 && pv_buf_puts(&b, msg) == 0 && pv_write_all(1, b.data, b.len) == 0)
		rc = 0;  /* the answer says it */
	pv_buf_free(&b);
	return rc;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static const struct pv_sandbox_limits lim = { (size_t)6 << 30, 120 };
	struct pv_buf req, ans;
	char chunk[65536];
	uint32_t w, h, scale;
	uint8_t *img = NULL;
	TessBaseAPI *api;
	TessResultIterator *it;
	uint32_t count = 0;
	size_t count_at;
	int rc = 0;

	(void)argc;
	(void)argv;
	pv_buf_init(&req, ((size_t)1 << 28) + 64);
	pv_buf_init(&ans, (size_t)1 << 24);
	for (;;) {
		ssize_t r = read(0, chunk, sizeof(chunk));
		if (r == 0)
			break;
		if (r < 0 || pv_buf_append(&req, chunk, (size_t)r) != 0)
			return fail("the request could not be read");
	}
	const uint8_t *p = (const uint8_t *)req.data;
	if (req.len < 16 || memcmp(p, "PVOC", 4) != 0 || get32(p + 4) != 1)
		return fail("the request is malformed");
	w = get32(p + 8);
	h = get32(p + 12);
	if (w == 0 || h == 0 || (uint64_t)w * h != req.len - 16 || (uint64_t)w * h > ((uint64_t)1 << 26))
		return fail("the request is malformed");
	/* Tesseract reads text best at 20-30 pixels of height: small burned-in fonts are scaled up. */
	scale = w <= 1024 && h <= 1024 ? 3 : w <= 2048 && h <= 2048 ? 2 : 1;
	if ((img = malloc((size_t)w * scale * h * scale)) == NULL)
		return fail("out of memory");
	for (uint32_t y = 0; y < h * scale; y++)
		for (uint32_t x = 0; x < w * scale; x++)
			img[(size_t)y * w * scale + x] = p[16 + (size_t)(y / scale) * w + x / scale];
	api = TessBaseAPICreate();
	if (api == NULL)
		return fail("Tesseract could not start");
	if (TessBaseAPIInit3(api, NULL, "eng+chi_sim") != 0 && TessBaseAPIInit3(api, NULL, "eng") != 0)
		return fail("Tesseract has no language data (tesseract-ocr-eng, tesseract-ocr-chi-sim)");
	/* Tesseract's warnings ("Empty page!!") would go to our stderr: a log file of the caller's,
	 * which the sandbox's RLIMIT_FSIZE of 0 turns into SIGXFSZ. Nothing of it is needed. */
	{
		int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (dn < 0 || dup2(dn, 2) < 0)
			return fail("cannot silence the OCR library");
		if (dn != 2)
			close(dn);
	}
	/* The language data is loaded: from here on, no file, no network, no new process. */
	if (pv_sandbox_enter(&lim) != 0)
		return fail("the OCR helper could not enter its sandbox");
	TessBaseAPISetPageSegMode(api, PSM_SPARSE_TEXT);
	TessBaseAPISetImage(api, img, (int)(w * scale), (int)(h * scale), 1, (int)(w * scale));
	TessBaseAPISetSourceResolution(api, 300);
	if (TessBaseAPIRecognize(api, NULL) != 0)
		return fail("Tesseract could not recognise the image");
	if (pv_buf_append(&ans, "PVOA", 4) != 0)
		return fail("out of memory");
	count_at = ans.len;
	rc |= put32(&ans, 0);
	it = TessBaseAPIGetIterator(api);
	if (it != NULL) {
		do {
			char *t = TessResultIteratorGetUTF8Text(it, RIL_WORD);
			int l, tp, r, b;
			if (t == NULL)
				continue;
			float conf = TessResultIteratorConfidence(it, RIL_WORD);
			if (t[0] != '\0' && count < 4096 &&
			    TessPageIteratorBoundingBox(TessResultIteratorGetPageIteratorConst(it), RIL_WORD, &l, &tp, &r, &b)) {
				size_t tl = strlen(t);
				rc |= put32(&ans, (uint32_t)(l / (int)scale));
				rc |= put32(&ans, (uint32_t)(tp / (int)scale));
				rc |= put32(&ans, (uint32_t)((r - l + (int)scale - 1) / (int)scale));
				rc |= put32(&ans, (uint32_t)((b - tp + (int)scale - 1) / (int)scale));
				rc |= put32(&ans, (uint32_t)(conf < 0 ? 0 : conf));
				rc |= put32(&ans, (uint32_t)tl);
				rc |= pv_buf_append(&ans, t, tl);
				count++;
			}
			TessDeleteText(t);
		} while (TessResultIteratorNext(it, RIL_WORD));
		TessResultIteratorDelete(it);
	}
	if (rc != 0)
		return fail("out of memory");
	for (int k = 0; k < 4; k++)
		ans.data[count_at + (size_t)k] = (char)(count >> (8 * k));
	if (pv_write_all(1, ans.data, ans.len) != 0)
		_exit(1);
	/* Exit without tearing Tesseract down: the process ends here anyway. */
	_exit(0);
}
