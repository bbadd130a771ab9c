/*
 * recipe.h: site overrides of the de-identification profile (--recipe FILE).
 *
 * A recipe is a text file, one rule a line, '#' starts a comment:
 *
 *   keep    (0008,0080)                 keep a tag (a sequence: the profile inside)
 *   remove  StudyDescription            by PS3.6 keyword
 *   empty   (60xx,0022)                 a repeating-group mask (x = any hex digit)
 *   replace (0008,1030) "RESEARCH"      a string value (printable ASCII, \" and \\)
 *   remove  private "ACME_HOSP"         a whole private block, by creator
 *   keep    private "GEMS_IDEN_01" 01   one element of a block, by offset (hex)
 *
 * Rules win over the profile (the first matching rule, in file order).
 * Every error names the line: "recipe.txt:12: unknown action 'kep'".
 */
#ifndef PV_DEID_RECIPE_H
#define PV_DEID_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/base/err.h"

#define DEID_RECIPE_MAX_RULES 10000
#define DEID_RECIPE_MAX_LINE 4096

enum deid_recipe_action { DEID_R_KEEP = 1, DEID_R_REMOVE, DEID_R_EMPTY, DEID_R_REPLACE };

struct deid_recipe_rule {
	uint8_t action;          /* enum deid_recipe_action */
	uint8_t is_private;      /* match by private creator */
	int16_t offset;          /* private: element offset in the block, -1 = any */
	uint32_t tag, mask;      /* standard: (t & mask) == tag */
	char *creator;           /* private creator (owned) */
	char *value;             /* replace: the new value (owned) */
	unsigned line;
};

struct deid_recipe {
	struct deid_recipe_rule *rules;
	unsigned n;
};

/*
 * Parses n bytes of recipe text. name is used in messages. On error d says
 * "name:LINE: what" and *out is untouched. Free with deid_recipe_free().
 */
int deid_recipe_parse(const char *text, size_t n, const char *name, struct deid_recipe *out,
    struct pv_diag *d) __attribute__((warn_unused_result));

/* Reads and parses a recipe file (at most 1 MiB). */
int deid_recipe_load(const char *path, struct deid_recipe *out, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * The first rule matching tag; for private data elements creator (n bytes,
 * may be NULL) is the value of the block's creator element. NULL if none.
 */
const struct deid_recipe_rule *deid_recipe_match(const struct deid_recipe *r, uint32_t tag,
    const char *creator, size_t n);

void deid_recipe_free(struct deid_recipe *r);

#endif
