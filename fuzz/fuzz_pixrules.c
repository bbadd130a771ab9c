/* fuzz_pixrules.c: the pixel rules parser on arbitrary text; matching on what it accepts. */
#include "fuzz.h"
#include "pacsvault/deid/pixclean.h"

#include <string.h>

int
fuzz_pixrules_one(const uint8_t *data, size_t size)
{
	struct pixrules *rs = NULL;
	struct pix_subject s;
	struct pix_rect rects[256];
	struct pv_diag d;
	size_t n;
	const char *name;

	pv_diag_clear(&d);
	if (pixrules_parse((const char *)data, size, "fuzz", &rs, &d) != 0)
		return 0;
	memset(&s, 0, sizeof(s));
	strcpy(s.modality, "US");
	strcpy(s.manufacturer, "Vendor");
	s.rows = 480;
	s.cols = 640;
	s.regions[0] = (struct pix_rect){ 10, 20, 300, 200 };
	s.nregions = 1;
	if (pixrules_match(rs, &s, rects, 256, &n, &name) != PIXRULES_OVERFLOW)
		for (size_t i = 0; i < n; i++)
			if (rects[i].x + rects[i].w > s.cols || rects[i].y + rects[i].h > s.rows)
				__builtin_trap();  /* every rectangle handed out is clipped */
	pixrules_free(rs);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_pixrules_one)
