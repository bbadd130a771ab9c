/* err.c: error strings and diagnostics. */
#include "pacsvault/base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	const char *text;
} err_table[PV_ERR_COUNT] = {
	{ "PV_OK", "success" },
	{ "PV_ENOMEM", "out of memory" },
	{ "PV_EIO", "input/output error" },
	{ "PV_EPARSE", "malformed input" },
	{ "PV_ELIMIT", "limit exceeded" },
	{ "PV_EINVAL", "invalid argument" },
	{ "PV_EUNSUPPORTED", "not supported" },
	{ "PV_EAUTH", "authentication failed" },
	{ "PV_EINTEGRITY", "integrity check failed" },
	{ "PV_ENOTFOUND", "not found" },
	{ "PV_EEXIST", "already exists" },
	{ "PV_ETRUNC", "input truncated" },
	{ "PV_ECHARSET", "character set conversion failed" },
	{ "PV_EINTERNAL", "internal error" },
	{ "PV_ENOTDICOM", "not a DICOM file" },
	{ "PV_EHELD", "held back by de-identification" },
};

const char *
pv_strerror(int code)
{
	if (code > 0 || code <= -PV_ERR_COUNT)
		return "unknown error";
	return err_table[-code].text;
}

const char *
pv_errname(int code)
{
	if (code > 0 || code <= -PV_ERR_COUNT)
		return "PV_E?";
	return err_table[-code].name;
}

void
pv_diag_clear(struct pv_diag *d)
{
	if (d != NULL)
		memset(d, 0, sizeof(*d));
}

int
pv_diag_set(struct pv_diag *d, int code, int64_t offset, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (d == NULL || d->code != 0)
		return code;
	d->code = code;
	d->sys_errno = code == PV_EIO ? saved : 0;
	d->has_offset = offset >= 0;
	d->offset = offset >= 0 ? (uint64_t)offset : 0;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
pv_diag_set_path(struct pv_diag *d, const char *path)
{
	if (d == NULL || d->path[0] != '\0' || path == NULL)
		return;
	snprintf(d->path, sizeof(d->path), "%s", path);
}

void
pv_diag_format(const struct pv_diag *d, const char *file, char *out, size_t outsz)
{
	size_t n = 0;
	int w;

	if (outsz == 0)
		return;
	out[0] = '\0';
#define APPEND(...) do { \
		w = snprintf(out + n, outsz - n, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= outsz - n) return; \
		n += (size_t)w; \
	} while (0)
	if (file != NULL)
		APPEND("%s: ", file);
	if (d == NULL || d->code == 0) {
		APPEND("no error");
		return;
	}
	if (d->has_offset)
		APPEND("offset %llu: ", (unsigned long long)d->offset);
	if (d->path[0] != '\0')
		APPEND("%s: ", d->path);
	APPEND("%s", d->msg[0] != '\0' ? d->msg : pv_strerror(d->code));
	if (d->sys_errno != 0)
		APPEND(": %s", strerror(d->sys_errno));
#undef APPEND
}
