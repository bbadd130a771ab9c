/*
 * fuzz_event.c: the audit event parser on arbitrary bytes. What parses must
 * encode back to exactly the input (the encoding is canonical).
 */
#include "fuzz.h"
#include "pacsvault/ledger/event.h"

#include <stdlib.h>
#include <string.h>

int
fuzz_event_one(const uint8_t *data, size_t size)
{
	struct lg_event e;
	struct pv_diag d;
	char *scratch;

	if (size > (1u << 20) || (scratch = malloc(LG_EVENT_SCRATCH(size))) == NULL)
		return 0;
	pv_diag_clear(&d);
	if (lg_event_parse(data, size, &e, scratch, &d) == 0) {
		struct pv_buf b;

		pv_buf_init(&b, size + 1);
		if (lg_event_encode(&e, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
			abort();
		pv_buf_free(&b);
	} else if (d.msg[0] == '\0') {
		abort();   /* every refusal says why */
	}
	{
		char t[40];
		size_t n = size < sizeof(t) - 1 ? size : sizeof(t) - 1;

		memcpy(t, data, n);
		t[n] = '\0';
		(void)lg_event_time_parse(t);
	}
	free(scratch);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_event_one)
