/* cmd_reid.c: `pacsvault reid`: restore originals from the Encrypted Attributes Sequence. */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/cms.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/writer.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char reid_help[] =
"usage: pacsvault reid --key KEY.pem [--cert CERT.pem] INPUT... -o OUTDIR\n"
"\n"
"Re-identifies files that 'pacsvault deid --reid-cert CERT.pem' wrote: the\n"
"original values kept, encrypted, in the Encrypted Attributes Sequence\n"
"(0400,0500) (PS3.15 E.1.2) are decrypted with the private key and put\n"
"back; the de-identification attributes pacsvault added go. INPUT may be\n"
"files or folders; OUTDIR mirrors them. Inputs are never modified.\n"
"\n"
"Options:\n"
"  -k, --key KEY.pem     the private key of the re-identification certificate\n"
"  --cert CERT.pem       its certificate (picks the recipient when there are several)\n"
"  -o, --output DIR      where to write (required)\n"
"  -h, --help            this text\n"
"\n"
"Exit status: 0 when every file was restored, 1 when any could not be (no\n"
"encrypted attributes, not a recipient, damaged), 2 on bad usage.\n";

#define TAG_ENCRYPTED_ATTRS   0x04000500u
#define TAG_ENCRYPTED_CONTENT 0x04000520u
#define TAG_MODIFIED_ATTRS    0x04000550u

/* Restores one file; 0 or an error in d. */
static int
reid_file(const char *in, const char *out, const char *key, const char *certp, struct pv_diag *d)
{
	struct dcm_file *f = NULL, *g = NULL;
	struct dcm_elem *ea, *mod;
	struct pv_buf plain;
	int rc;

	pv_buf_init(&plain, (size_t)1 << 31);
	if ((rc = dcm_file_open(in, NULL, &f, d)) != 0)
		goto done;
	ea = dcm_ds_find(&f->ds, TAG_ENCRYPTED_ATTRS);
	if (ea == NULL || ea->seq == NULL || ea->seq->nitems == 0) {
		rc = pv_diag_set(d, PV_ENOTFOUND, -1, "no Encrypted Attributes Sequence (0400,0500)");
		goto done;
	}
	rc = PV_EAUTH;
	for (uint32_t k = 0; k < ea->seq->nitems && rc != 0; k++) {
		struct dcm_elem *c = dcm_ds_find(ea->seq->items[k], TAG_ENCRYPTED_CONTENT);
		const uint8_t *v;
		struct pv_diag d2;
		if (c == NULL || c->seq != NULL || dcm_file_value(f, c, &v) != 0)
			continue;
		pv_diag_clear(&d2);
		pv_buf_reset(&plain);
		rc = pv_cms_decrypt(key, certp, v, c->length, &plain, &d2);
		if (rc != 0 && k + 1 == ea->seq->nitems)
			*d = d2;
	}
	if (rc != 0)
		goto done;
	{
		struct dcm_reader *r;
		if ((rc = dcm_reader_open_mem(plain.data, plain.len, NULL, &r, d)) != 0 ||
		    (rc = dcm_file_read(r, &g, d)) != 0) {
			pv_diag_set(d, rc, -1, "the decrypted attributes do not parse");
			goto done;
		}
	}
	mod = dcm_ds_find(&g->ds, TAG_MODIFIED_ATTRS);
	if (mod == NULL || mod->seq == NULL || mod->seq->nitems == 0) {
		rc = pv_diag_set(d, PV_EPARSE, -1, "no Modified Attributes Sequence (0400,0550) inside");
		goto done;
	}
	/* What de-identification added goes; the originals (which may hold some
	 * of these too) come back on top. */
	(void)dcm_ds_remove(&f->ds, TAG_ENCRYPTED_ATTRS);
	(void)dcm_ds_remove(&f->ds, 0x00120062u);
	(void)dcm_ds_remove(&f->ds, 0x00120063u);
	(void)dcm_ds_remove(&f->ds, 0x00120064u);
	(void)dcm_ds_remove(&f->ds, 0x00280303u);
	{
		struct dcm_dataset *item = mod->seq->items[0];
		for (uint32_t i = 0; i < item->n && rc == 0; i++)
			rc = dcm_ds_copy_elem(f, &f->ds, g, &item->e[i]);
		if (rc != 0) {
			pv_diag_set(d, rc, -1, "cannot restore the attributes");
			goto done;
		}
	}
	f->meta.n = 0;
	{
		char *slash = strrchr(out, '/');
		if (slash != NULL) {
			*slash = '\0';
			rc = pv_mkdir_p(out, 0755);
			*slash = '/';
			if (rc != 0) {
				rc = pv_diag_set(d, PV_EIO, -1, "cannot create the output folder");
				goto done;
			}
		}
	}
	rc = dcm_write_path(f, NULL, out, 0644, DCM_WRITE_DURABLE, d);
done:
	pv_buf_free_scrub(&plain);
	dcm_file_free(g);
	dcm_file_free(f);
	return rc;
}

int
cmd_reid(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *certp = NULL, *outdir = NULL;
	struct app_inputs ins = { NULL, 0, 0 };
	int c, failed = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'c': certp = optarg; break;
		case 'o': outdir = optarg; break;
		case 'h':
			fputs(reid_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("reid", "unknown option");
		}
	}
	if (key == NULL || outdir == NULL || optind >= argc)
		return app_usage_error("reid", "--key KEY.pem, -o OUTDIR and inputs are required");
	{
		struct pv_diag kd;
		pv_diag_clear(&kd);
		if (pv_cms_check_key(key, certp, &kd) != 0) {
			/* the key is wrong, not every file: said once, nothing written */
			app_report("reid", NULL, &kd);
			return PV_EXIT_FAIL;
		}
	}
	rc = app_inputs_collect(&ins, "reid", argv + optind, argc - optind, outdir, &failed);
	for (size_t i = 0; rc == PV_EXIT_OK && i < ins.n; i++) {
		struct pv_diag d;
		pv_diag_clear(&d);
		if (reid_file(ins.v[i].in, ins.v[i].out, key, certp, &d) != 0) {
			app_report("reid", ins.v[i].in, &d);
			failed = 1;
		}
	}
	app_inputs_free(&ins);
	if (rc != PV_EXIT_OK)
		return rc;
	return failed ? PV_EXIT_FAIL : PV_EXIT_OK;
}
