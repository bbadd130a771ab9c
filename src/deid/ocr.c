/* ocr.c: the client side of the OCR helper (see ocr.h). */
#include "pacsvault/deid/ocr.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/sandbox.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static char helper[PATH_MAX + 64];
static int helper_found;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
find_helper(void)
{
	char self[PATH_MAX - 64], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *env = getenv("PACSVAULT_OCR_HELPER");

	if (env != NULL && env[0] == '/' && access(env, X_OK) == 0 && strlen(env) < sizeof(helper)) {
		strcpy(helper, env);
		helper_found = 1;
		return;
	}
	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(helper, sizeof(helper), "%s/pacsvault-ocr", self);
	if (access(helper, X_OK) == 0) {
		helper_found = 1;
		return;
	}
	/* build/test/pacsvault uses build/pacsvault-ocr */
	snprintf(helper, sizeof(helper), "%s/../pacsvault-ocr", self);
	if (access(helper, X_OK) == 0) {
		helper_found = 1;
		return;
	}
	snprintf(helper, sizeof(helper), "%s/../libexec/pacsvault/pacsvault-ocr", self);
	helper_found = access(helper, X_OK) == 0;
}

const char *
ocr_helper_path(void)
{
	pthread_once(&once, find_helper);
	return helper_found ? helper : NULL;
}

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
ocr_frame(const uint8_t *grey, uint32_t w, uint32_t h, struct ocr_result *out, struct pv_diag *d)
{
	const char *exe = ocr_helper_path();
	char *argv[] = { (char *)"pacsvault-ocr", NULL };
	char **envp = NULL;
	struct pv_buf req, ans;
	size_t ne = 0;
	int rc;

	memset(out, 0, sizeof(out[0]));
	if (exe == NULL)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "OCR is not available (pacsvault-ocr is not installed)");
	if (w == 0 || h == 0 || (uint64_t)w * h > ((uint64_t)1 << 28))
		return pv_diag_set(d, PV_ELIMIT, -1, "image too large for OCR");
	/* The helper's environment: ours, and one OpenMP thread (the sandbox allows no new threads). */
	while (environ[ne] != NULL)
		ne++;
	if ((envp = pv_calloc(ne + 2, sizeof(char *))) == NULL)
		return PV_ENOMEM;
	envp[0] = (char *)"OMP_THREAD_LIMIT=1";
	for (size_t i = 0, k = 1; i < ne; i++)
		if (strncmp(environ[i], "OMP_", 4) != 0)
			envp[k++] = environ[i];
	pv_buf_init(&req, (size_t)w * h + 64);
	pv_buf_init(&ans, (size_t)1 << 24);
	rc = pv_buf_append(&req, "PVOC", 4);
	if (rc == 0)
		rc = put32(&req, 1);
	if (rc == 0)
		rc = put32(&req, w);
	if (rc == 0)
		rc = put32(&req, h);
	if (rc == 0)
		rc = pv_buf_append(&req, grey, (size_t)w * h);
	if (rc == 0)
		rc = pv_helper_exchange_exe(exe, argv, envp, req.data, req.len, &ans, 120, d);
	if (rc == 0) {
		const uint8_t *a = (const uint8_t *)ans.data;
		size_t len = ans.len, pos = 8;
		if (len >= 4 && memcmp(a, "PVOE", 4) == 0) {
			rc = pv_diag_set(d, PV_EINTERNAL, -1, "OCR: %.*s", (int)(len - 4 > 200 ? 200 : len - 4), (const char *)a + 4);
		} else if (len < 8 || memcmp(a, "PVOA", 4) != 0 || get32(a + 4) > OCR_MAX_WORDS) {
			rc = pv_diag_set(d, PV_EINTERNAL, -1, "OCR helper's answer is malformed");
		} else {
			uint32_t n = get32(a + 4);
			if (n > 0 && (out->w = pv_calloc(n, sizeof(*out->w))) == NULL)
				rc = PV_ENOMEM;
			for (uint32_t i = 0; i < n && rc == 0; i++) {
				if (len - pos < 24) {
					rc = pv_diag_set(d, PV_EINTERNAL, -1, "OCR helper's answer is malformed");
					break;
				}
				int32_t x = (int32_t)get32(a + pos), y = (int32_t)get32(a + pos + 4);
				int32_t bw = (int32_t)get32(a + pos + 8), bh = (int32_t)get32(a + pos + 12);
				int32_t conf = (int32_t)get32(a + pos + 16);
				uint32_t tl = get32(a + pos + 20);
				pos += 24;
				if (tl > len - pos || x < 0 || y < 0 || bw <= 0 || bh <= 0) {
					rc = pv_diag_set(d, PV_EINTERNAL, -1, "OCR helper's answer is malformed");
					break;
				}
				struct ocr_word *ow = &out->w[out->n++];
				ow->box = (struct pix_rect){ (uint32_t)x, (uint32_t)y, (uint32_t)bw, (uint32_t)bh };
				ow->conf = conf < 0 ? 0 : conf > 100 ? 100 : conf;
				size_t cl = tl < sizeof(ow->text) - 1 ? tl : sizeof(ow->text) - 1;
				memcpy(ow->text, a + pos, cl);
				ow->text[cl] = '\0';
				pos += tl;
			}
		}
	}
	if (rc != 0)
		ocr_result_free(out);
	pv_buf_free(&req);
	pv_buf_free(&ans);
	free(envp);
	return rc;
}

void
ocr_result_free(struct ocr_result *r)
{
	free(r->w);
	r->w = NULL;
	r->n = 0;
}
