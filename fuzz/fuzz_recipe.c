/* fuzz_recipe.c: the recipe parser on arbitrary text; matching on what it accepts. */
#include "fuzz.h"
#include "pacsvault/deid/recipe.h"

int
fuzz_recipe_one(const uint8_t *data, size_t size)
{
	struct deid_recipe r;
	struct pv_diag d;

	pv_diag_clear(&d);
	if (deid_recipe_parse((const char *)data, size, "fuzz", &r, &d) != 0)
		return 0;
	(void)deid_recipe_match(&r, 0x00100010, NULL, 0);
	(void)deid_recipe_match(&r, 0x00091010, "ACME", 4);
	deid_recipe_free(&r);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_recipe_one)
