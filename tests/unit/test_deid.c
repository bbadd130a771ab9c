/* test_deid.c: unit tests of src/deid. */
#include "harness.h"
#include "tests.h"
#include "pacsvault/deid/profile.h"

#include <string.h>

#define ALL_OPTS ((1u << DEID_OPT_COUNT) - 1)

void
test_profile_table(void)
{
	const struct deid_rule *r;

	T_EQ_STR(deid_profile_edition(), "2024c");
	T_EQ_INT(deid_profile_row_count(), 623);
	r = deid_profile_rule(0x00100010);           /* Patient's Name */
	T_ASSERT(r != NULL && strcmp(r->keyword, "PatientName") == 0);
	if (r != NULL)
		T_EQ_INT(deid_profile_action(r, 0), DEID_A_Z);
	r = deid_profile_rule(0x00080018);           /* SOP Instance UID */
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_U);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_UIDS)), DEID_A_K);
	r = deid_profile_rule(0x60023000);           /* Overlay Data, group 6002 */
	T_ASSERT(r != NULL && r->mask == 0xff00ffffu);
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_X);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_CLEAN_GRAPHICS)), DEID_A_C);
	r = deid_profile_rule(0x501e0010);           /* Curve Data, 50xx */
	T_ASSERT(r != NULL && r->mask == 0xff000000u);
	T_ASSERT(deid_profile_rule(0x00280010) == NULL);  /* Rows: not in the table */
	T_EQ_INT(deid_profile_action(NULL, ALL_OPTS), DEID_A_NONE);

	/* Acquisition Date: X/Z; K with full dates; C with modified dates. */
	r = deid_profile_rule(0x00080022);
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_XZ);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_FULL_DATES)), DEID_A_K);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)), DEID_A_C);
	/* Options that disagree: the more conservative wins (docs/DEID.md). */
	r = deid_profile_rule(0x0014407e);           /* Calibration Date: device K, modified dates C */
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_DEVICE) |
	    DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)), DEID_A_C);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_DEVICE)), DEID_A_K);

	/* Private attributes: X; C (keep the safe ones) with Retain Safe Private. */
	r = deid_profile_private_rule();
	T_EQ_INT(deid_profile_action(r, 0), DEID_A_X);
	T_EQ_INT(deid_profile_action(r, DEID_OPT_BIT(DEID_OPT_SAFE_PRIVATE)), DEID_A_C);

	T_EQ_STR(deid_action_name(DEID_A_XZD), "X/Z/D");
	T_EQ_STR(deid_option_flag(DEID_OPT_CLEAN_GRAPHICS), "clean-graphics");
}
