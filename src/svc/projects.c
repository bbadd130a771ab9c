/*
 * projects.c: de-identification projects in the vault (see projects.h).
 * projects.pvo holds, sealed, "pacsvault-projects 1" and one line per
 * project: NAME TAB KEY (64 hex) TAB OPTS (hex DEID_OPT bits) TAB
 * CLEAN_PIXELS (0/1) TAB NO_OCR (0/1).
 */
#include "pacsvault/svc/projects.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/store/vault.h"
#include "pacsvault/svc/users.h"
#include "svc_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define MAGIC "pacsvault-projects 1\n"

typedef int (*row_fn)(void *ctx, const char *name, const uint8_t key[32], unsigned opts, int clean, int no_ocr);

static int
unhex32(const char *h, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int
each(struct svc *s, row_fn fn, void *ctx, struct pv_buf *all, struct pv_diag *d)
{
	char *p, *end;
	int rc;

	if ((rc = vault_blob_get(s->v, "projects.pvo", all, d)) == PV_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (pv_buf_putc(all, '\0') != 0)
		return PV_ENOMEM;
	p = all->data;
	end = all->data + all->len - 1;
	if (strncmp(p, MAGIC, strlen(MAGIC)) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "projects.pvo: not a list of projects");
	p += strlen(MAGIC);
	while (p < end) {
		char name[SVC_NAME_MAX + 1], hex[65];
		unsigned opts, clean, no_ocr;
		uint8_t key[32];
		int used = 0;

		if (sscanf(p, "%64[^\t]\t%64[0-9a-f]\t%x\t%u\t%u\n%n", name, hex, &opts, &clean, &no_ocr, &used) != 5 ||
		    used == 0 || strlen(hex) != 64 || unhex32(hex, key) != 0) {
			return pv_diag_set(d, PV_EPARSE, -1, "projects.pvo: a project malformed");
		}
		p += used;
		rc = fn(ctx, name, key, opts, clean != 0, no_ocr != 0);
		pv_cleanse(key, sizeof(key));
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct adder {
	struct svc *s;
	size_t n;
	struct pv_diag *d;
};

static int
add_one(void *ctx, const char *name, const uint8_t key[32], unsigned opts, int clean, int no_ocr)
{
	struct adder *a = ctx;
	struct svc_project pj;
	int rc;

	memset(&pj, 0, sizeof(pj));
	pj.name = name;
	pj.cfg.opts = opts;
	memcpy(pj.cfg.key, key, 32);
	pj.clean_pixels = clean;
	pj.no_ocr = no_ocr;
	rc = svc_project_add(a->s, &pj, a->d);
	pv_cleanse(&pj, sizeof(pj));
	if (rc == 0)
		a->n++;
	return rc;
}

int
svc_projects_load(struct svc *s, size_t *n, struct pv_diag *d)
{
	struct adder a = { s, 0, d };
	struct pv_buf all;
	int rc;

	pv_buf_init(&all, (size_t)16 << 20);
	rc = each(s, add_one, &a, &all, d);
	pv_buf_free_scrub(&all);
	*n = a.n;
	return rc;
}

struct namer {
	int (*fn)(void *ctx, const char *name, unsigned opts, int clean_pixels);
	void *ctx;
	const char *want;      /* store: the new name, found when it exists */
	int found;
	struct pv_buf *out;    /* store: the lines kept */
};

static int
name_one(void *ctx, const char *name, const uint8_t key[32], unsigned opts, int clean, int no_ocr)
{
	struct namer *n = ctx;

	if (n->want != NULL && strcmp(n->want, name) == 0)
		n->found = 1;
	if (n->out != NULL) {
		char hex[65];

		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", key[i]);
		if (pv_buf_printf(n->out, "%s\t%s\t%x\t%d\t%d\n", name, hex, opts, clean, no_ocr) != 0)
			return PV_ENOMEM;
		pv_cleanse(hex, sizeof(hex));
	}
	return n->fn != NULL ? n->fn(n->ctx, name, opts, clean) : 0;
}

int
svc_project_names(struct svc *s, int (*fn)(void *ctx, const char *name, unsigned opts, int clean_pixels), void *ctx,
    struct pv_diag *d)
{
	struct namer n = { fn, ctx, NULL, 0, NULL };
	struct pv_buf all;
	int rc;

	pv_buf_init(&all, (size_t)16 << 20);
	rc = each(s, name_one, &n, &all, d);
	pv_buf_free_scrub(&all);
	return rc;
}

int
svc_project_store(struct svc *s, const struct svc_principal *p, const struct svc_project *pj, struct pv_diag *d)
{
	struct pv_buf all, out;
	struct namer n;
	char hex[65], detail[160];
	int fd, rc;

	if (p->role != SVC_OPERATOR && p->role != SVC_ADMIN)
		return svc__refuse(s, p, "project add", d);
	if (!svc_name_valid(pj->name))
		return pv_diag_set(d, PV_EINVAL, -1, "a project name is 1 to 64 letters, digits, '.', '_', '-' or '@'");
	if ((fd = svc__lock_file(s, "users.lock", d)) < 0)
		return fd;
	pv_buf_init(&all, (size_t)16 << 20);
	pv_buf_init(&out, (size_t)16 << 20);
	memset(&n, 0, sizeof(n));
	n.want = pj->name;
	n.out = &out;
	if (pv_buf_puts(&out, MAGIC) != 0)
		rc = PV_ENOMEM;
	else
		rc = each(s, name_one, &n, &all, d);
	if (rc == 0 && n.found)
		rc = pv_diag_set(d, PV_EEXIST, -1, "project %s exists", pj->name);
	for (int i = 0; rc == 0 && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", pj->cfg.key[i]);
	if (rc == 0 && pv_buf_printf(&out, "%s\t%s\t%x\t%d\t%d\n", pj->name, hex, pj->cfg.opts, pj->clean_pixels ? 1 : 0,
	    pj->no_ocr ? 1 : 0) != 0)
		rc = PV_ENOMEM;
	snprintf(detail, sizeof(detail), "project added: options 0x%x%s%s", pj->cfg.opts,
	    pj->clean_pixels ? ", pixels cleaned" : "", pj->no_ocr ? ", no OCR" : "");
	if (rc == 0 && (rc = svc__audit_as(s, p, 110113, 'C', 0, "project", pj->name, detail, d)) == 0)
		rc = vault_blob_put(s->v, "projects.pvo", out.data, out.len, d);
	pv_cleanse(hex, sizeof(hex));
	pv_buf_free_scrub(&all);
	pv_buf_free_scrub(&out);
	close(fd);
	return rc;
}
