/*
 * fuzz_scan.c: the residual-PHI scanner on whatever the reader accepts:
 * every check, the text detection in the pixels (no OCR: no helper
 * process here), --against with the input itself as the original (its own
 * values must then be found whenever it has any), the JSON-free report.
 */
#include "fuzz.h"
#include "pacsvault/deid/scan.h"
#include "pacsvault/dicom/dataset.h"

#include <stdlib.h>
#include <string.h>

int
fuzz_scan_one(const uint8_t *data, size_t size)
{
	struct dcm_reader *r;
	struct dcm_file *f = NULL, *g = NULL;
	struct scan_config cfg;
	struct scan_report rep;
	struct scan_against *a = NULL;
	struct pv_diag d;

	pv_diag_clear(&d);
	if (dcm_reader_open_mem(data, size, NULL, &r, &d) != 0)
		return 0;
	if (dcm_file_read(r, &f, &d) != 0)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.pixels = 1;
	cfg.thumbs = 1;
	if (scan_against_add_file(&a, f) == 0 && scan_against_finish(a) == 0) {
		cfg.against = a;
		cfg.raw = data;
		cfg.raw_len = size;
	}
	if (scan_file(f, &cfg, &rep, &d) == 0) {
		for (size_t i = 0; i < rep.n; i++)
			if (rep.f[i].kind >= SCAN_KIND_COUNT || strlen(rep.f[i].excerpt) >= sizeof(rep.f[i].excerpt))
				abort();
		if (rep.thumb != NULL && (rep.thumb_w == 0 || rep.thumb_h == 0 || rep.thumb_w > 256 || rep.thumb_h > 256))
			abort();
		scan_report_free(&rep);
	}
	scan_against_free(a);
	dcm_file_free(f);
	(void)g;
	return 0;
}

PV_FUZZ_ENTRY(fuzz_scan_one)
