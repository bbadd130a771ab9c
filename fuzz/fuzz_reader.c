/*
 * fuzz_reader.c: the streaming reader, the DOM, value formatting, charset
 * conversion and the JSON model on arbitrary bytes. Must never crash, leak
 * or read out of bounds, whatever the input.
 */
#include "fuzz.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/dicom/charset.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/value.h"

#include <stdlib.h>
#include <string.h>

int
fuzz_reader_one(const uint8_t *data, size_t size)
{
	struct dcm_reader_opts o;
	struct dcm_reader *r;
	struct dcm_event ev;
	struct pv_diag d, w;
	struct dcm_charset cs;
	struct pv_buf b;
	struct dcm_file *f;
	int rc;

	dcm_reader_opts_default(&o);
	o.max_inflated = 1u << 22;
	o.max_depth = 16;
	pv_buf_init(&b, 1u << 24);
	dcm_charset_default(&cs);

	/* 1. The event stream, formatting every loaded value. */
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(data, size, &o, &r, &d) == 0) {
		while ((rc = dcm_reader_next(r, &ev, &d)) == 1) {
			if (ev.type == DCM_EV_ELEMENT && ev.value != NULL) {
				if (ev.tag == DCM_TAG_SPECIFIC_CHARSET)
					(void)dcm_charset_parse(ev.value, ev.length, &cs);
				pv_buf_reset(&b);
				rc = dcm_value_format(ev.vr, ev.value, ev.length, &cs, 16, &b);
				(void)rc;
				(void)dcm_value_vm(ev.vr, ev.value, ev.length);
			}
			if (ev.type == DCM_EV_ELEMENT && ev.value == NULL && ev.length > 0) {
				uint8_t peek[16];
				uint32_t n = ev.length < 16 ? ev.length : 16;
				if (dcm_reader_pread(r, ev.value_offset, peek, n) != 0)
					abort(); /* the reader promised these bytes exist */
			}
			while (dcm_reader_take_warning(r, &w))
				;
		}
		dcm_reader_free(r);
	}

	/* 2. The DOM and the JSON model. */
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(data, size, &o, &r, &d) == 0 && dcm_file_read(r, &f, &d) == 0) {
		pv_buf_reset(&b);
		rc = dcm_json_write_file(f, "fuzz.dcm", 64, &b, &d);
		(void)rc;
		dcm_file_free(f);
	}
	pv_buf_free(&b);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_reader_one)
