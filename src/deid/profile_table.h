/* profile_table.h: the generated tables behind profile.c (internal). */
#ifndef PV_DEID_PROFILE_TABLE_H
#define PV_DEID_PROFILE_TABLE_H

#include "pacsvault/deid/profile.h"

extern const char deid_profile_edition_str[];
extern const unsigned deid_profile_rows;
extern const struct deid_rule deid_rules_exact[];
extern const unsigned deid_rules_exact_count;
extern const struct deid_rule deid_rules_masked[];
extern const unsigned deid_rules_masked_count;
extern const struct deid_rule deid_rule_private;
extern const struct deid_safe_private deid_safe_private_table[];
extern const unsigned deid_safe_private_count;
extern const struct deid_method_code deid_cid7050[];
extern const unsigned deid_cid7050_count;

#endif
