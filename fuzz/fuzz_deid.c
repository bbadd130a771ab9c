/*
 * fuzz_deid.c: de-identification on arbitrary input. Whatever the reader
 * accepts, deid_apply must not crash or leak, its output must be writable
 * and must read back, and the output must hold no private element and the
 * PatientIdentityRemoved flag.
 */
#include "fuzz.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
fuzz_deid_one(const uint8_t *data, size_t size)
{
	struct dcm_reader_opts o;
	struct dcm_reader *r;
	struct dcm_file *f = NULL, *g = NULL;
	struct deid_config cfg;
	struct deid_counts c;
	struct pv_diag d;
	uint8_t *bytes;
	off_t len;
	int fd;

	dcm_reader_opts_default(&o);
	o.max_inflated = 1u << 22;
	o.max_depth = 16;
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(data, size, &o, &r, &d) != 0 || dcm_file_read(r, &f, &d) != 0)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.opts = size > 0 ? data[size - 1] & 0x3ff : 0;  /* the options vary with the input */
	if ((cfg.opts & (1u << DEID_OPT_FULL_DATES)) && (cfg.opts & (1u << DEID_OPT_MODIFIED_DATES)))
		cfg.opts &= ~(1u << DEID_OPT_FULL_DATES);
	memset(cfg.key, 7, sizeof(cfg.key));
	if (deid_apply(f, &cfg, &c, NULL, &d) != 0) {
		dcm_file_free(f);
		return 0;
	}
	fd = memfd_create("deid", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	pv_diag_clear(&d);
	if (dcm_write_fd(f, NULL, fd, &d) != 0) {
		close(fd);
		dcm_file_free(f);
		return 0;
	}
	len = lseek(fd, 0, SEEK_CUR);
	bytes = malloc((size_t)len + 1);
	if (bytes == NULL || pread(fd, bytes, (size_t)len, 0) != len)
		abort();
	close(fd);
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(bytes, (size_t)len, &o, &r, &d) != 0 || dcm_file_read(r, &g, &d) != 0) {
		fprintf(stderr, "de-identified output does not read back: %s\n", d.msg);
		abort();
	}
	for (uint32_t i = 0; i < g->ds.n; i++)
		if (DCM_IS_PRIVATE(g->ds.e[i].tag) && !(cfg.opts & 1u)) {
			fprintf(stderr, "private element left without --retain-safe-private\n");
			abort();
		}
	if (dcm_ds_find(&g->ds, 0x00120062) == NULL) {
		fprintf(stderr, "no PatientIdentityRemoved\n");
		abort();
	}
	dcm_file_free(g);
	free(bytes);
	dcm_file_free(f);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_deid_one)
