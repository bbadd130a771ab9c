/*
 * gate.h: deid checks its own output (issue #14, docs/DEID.md "The output
 * check").
 *
 * Before a de-identified data set is written, the scanner's detectors run
 * on it in-process: national IDs, SSNs, phones, e-mail, person names,
 * institutions, ages over 89, dates in text (unless a dates option is on),
 * every identifying value of the original (the --against collection of
 * scan.h, minus what the options keep), values the profile removes that
 * are still there, and, when the pixels were cleaned, text-like regions
 * in the cleaned frames. A finding means the engine missed something: the
 * file goes to quarantine, with the finding's kind and tag path (never the
 * value) as the reason.
 *
 * Usage, per file: deid_gate_begin(f) on the original (before
 * deid_apply), deid_gate_check(g, f, ...) on the result, deid_gate_free(g).
 * Each gate is one file's; threads use one each.
 */
#ifndef PV_DEID_GATE_H
#define PV_DEID_GATE_H

#include <stddef.h>

#include "pacsvault/dicom/dataset.h"

struct deid_gate;

/*
 * Collects the identifying values of the original f. *out is the gate
 * (free with deid_gate_free). PV_ENOMEM.
 */
int deid_gate_begin(struct dcm_file *f, struct deid_gate **out) __attribute__((warn_unused_result));

/*
 * Checks the de-identified f, made under the option set opts (DEID_OPT_BIT
 * bits: what they keep is not a finding). pixels: the pixels were cleaned
 * (look at the cleaned frames for text too). recipe (may be NULL): the
 * site's recipe; an attribute it keeps or replaces, and private elements
 * and attributes the profile would remove once a recipe is in use, are
 * the site's choice, not findings. Returns 0 when nothing was found; 1 when
 * something was, with "KIND at PATH (DETAIL)" in reason; PV_ENOMEM or
 * PV_EIO.
 */
struct deid_recipe;
int deid_gate_check(struct deid_gate *g, struct dcm_file *f, unsigned opts, int pixels,
    const struct deid_recipe *recipe, char *reason, size_t n) __attribute__((warn_unused_result));

void deid_gate_free(struct deid_gate *g);

#endif
