/* dcmbuild.h: builds synthetic DICOM byte streams for tests (no PHI, ever). */
#ifndef PV_TEST_DCMBUILD_H
#define PV_TEST_DCMBUILD_H

#include <stdint.h>

#include "pacsvault/base/buf.h"

struct tb {
	struct pv_buf b;
	int implicit, big;
	size_t open[256];   /* length fields to patch (defined lengths) */
	int undef[256];
	int sp;
};

void tb_init(struct tb *t, int implicit, int big);
void tb_free(struct tb *t);
/* 128 zero bytes, "DICM", and a File Meta Information group for ts_uid. */
void tb_meta(struct tb *t, const char *ts_uid);
void tb_elem(struct tb *t, uint32_t tag, const char *vr, const void *v, uint32_t len);
void tb_str(struct tb *t, uint32_t tag, const char *vr, const char *s);
void tb_u16(struct tb *t, uint32_t tag, uint16_t v);
void tb_seq(struct tb *t, uint32_t tag, int undefined);
void tb_item(struct tb *t, int undefined);
void tb_end(struct tb *t);   /* closes the innermost item or sequence */

#endif
