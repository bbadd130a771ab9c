/* pipeline.c: the de-identification of one instance (see pipeline.h). */
#include "pacsvault/deid/pipeline.h"
#include "pacsvault/deid/gate.h"
#include "pacsvault/deid/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A file that may carry burned-in text and that no rule covers: the text
 * the detector and the OCR find is blanked (4 pixels of margin), then they
 * look again; the file is released only when nothing is left. Anything
 * they cannot judge is held.
 */
static void
ocr_clean(struct deid_outcome *o, struct dcm_file *f)
{
	enum { MAXB = 512 };
	struct pix_rect *boxes = malloc(MAXB * sizeof(*boxes));
	char note[256];
	size_t nb = 0, l = strlen(o->reason);
	struct pv_diag pd;

	o->held = 1;
	if (boxes == NULL) {
		snprintf(o->reason + l, sizeof(o->reason) - l, "; out of memory");
		return;
	}
	if (scan_text_boxes(f, 1, boxes, MAXB, &nb, note, sizeof(note)) != 0) {
		snprintf(o->reason + l, sizeof(o->reason) - l, "; no pixel rule matches and %s", note);
		free(boxes);
		return;
	}
	for (size_t i = 0; i < nb; i++) {
		uint32_t x0 = boxes[i].x >= 4 ? boxes[i].x - 4 : 0, y0 = boxes[i].y >= 4 ? boxes[i].y - 4 : 0;
		boxes[i].w += boxes[i].x - x0 + 4;
		boxes[i].h += boxes[i].y - y0 + 4;
		boxes[i].x = x0;
		boxes[i].y = y0;
	}
	pv_diag_clear(&pd);
	if (nb > 0 && deid_pixclean(f, boxes, nb, &o->pix, &pd) != 0) {
		char msg[160];
		pv_diag_format(&pd, NULL, msg, sizeof(msg));
		snprintf(o->reason + l, sizeof(o->reason) - l, "; the text found could not be blanked: %s", msg);
		free(boxes);
		return;
	}
	if (nb > 0) {
		size_t left = 0;
		if (scan_text_boxes(f, 1, boxes, MAXB, &left, note, sizeof(note)) != 0 || left > 0) {
			snprintf(o->reason + l, sizeof(o->reason) - l, "; text remains after blanking what OCR found%s%s",
			    note[0] ? ": " : "", note);
			free(boxes);
			return;
		}
	}
	free(boxes);
	o->pix_rule = "ocr-and-text-detection";
	o->held = 0;
	o->reason[0] = '\0';
}

/*
 * Pixel cleaning before the header is touched (the rules read the original
 * attributes). Holds the file, with a reason, when it may carry burned-in
 * text that was not cleaned.
 */
static void
pixels(const struct deid_pipeline *p, struct deid_outcome *o, struct dcm_file *f)
{
	struct pix_subject subj;
	struct pix_rect rects[256];
	size_t nrects = 0, matched = 0;
	const char *name = NULL;
	struct pv_diag pd;
	int risk = deid_burned_in_risk(f, o->reason, sizeof(o->reason));

	if (!p->clean_pixels) {
		o->held = risk;
		return;
	}
	if (pix_subject_read(f, &subj) != 0) {
		o->held = risk;  /* no pixel data: no risk either */
		return;
	}
	matched = pixrules_match(p->rules, &subj, rects, sizeof(rects) / sizeof(rects[0]), &nrects, &name);
	if (matched == PIXRULES_OVERFLOW) {
		o->held = 1;
		snprintf(o->reason, sizeof(o->reason), "the matching pixel rules need over 256 rectangles");
		return;
	}
	if (matched == 0) {
		if (!risk)
			return;
		if (p->no_ocr) {
			size_t l = strlen(o->reason);
			snprintf(o->reason + l, sizeof(o->reason) - l, "; no pixel rule matches");
			o->held = 1;
			return;
		}
		ocr_clean(o, f);
		return;
	}
	pv_diag_clear(&pd);
	if (deid_pixclean(f, rects, nrects, &o->pix, &pd) != 0) {
		char msg[160];
		pv_diag_format(&pd, NULL, msg, sizeof(msg));
		o->held = 1;
		snprintf(o->reason, sizeof(o->reason), "pixel rule %s matches but: %s", name, msg);
		return;
	}
	o->pix_rule = name;
	o->held = 0;
}

int
deid_process(const struct deid_pipeline *p, struct dcm_file *f, struct deid_outcome *o, struct pv_buf *report,
    struct pv_diag *d)
{
	struct deid_gate *gate = NULL;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	if (!p->no_verify && (rc = deid_gate_begin(f, &gate)) != 0)
		return pv_diag_set(d, rc, -1, "the output check cannot start: %s", pv_strerror(rc));
	pixels(p, o, f);
	rc = deid_apply(f, p->cfg, &o->counts, report, d);
	if (rc == 0 && o->pix_rule != NULL)
		rc = dcm_ds_set_str(f, &f->ds, 0x00280301u, DCM_VR_CS, "NO");
	if (rc == 0) {
		/* JPEG comments, Exif/XMP/IPTC and extra fragments can carry a name: they go, also
		 * from a held copy (a reviewer's copy is an output too) */
		unsigned rm = 0;
		struct pv_diag pd;

		pv_diag_clear(&pd);
		if (deid_pixel_metadata_strip(f, &rm, &pd) != 0) {
			char msg[200];
			size_t l = strlen(o->reason);

			pv_diag_format(&pd, NULL, msg, sizeof(msg));
			if (!o->held)
				snprintf(o->reason, sizeof(o->reason), "%s", msg);
			else
				snprintf(o->reason + l, sizeof(o->reason) - l, "; %s", msg);
			o->held = 1;
		}
		o->counts.removed += rm;
	}
	if (rc == 0 && gate != NULL) {
		/* the output is checked before anything is released (docs/DEID.md) */
		char why[sizeof(o->reason)];
		int g = deid_gate_check(gate, f, p->cfg->opts, o->pix_rule != NULL, p->cfg->recipe, why, sizeof(why));

		if (g < 0) {
			rc = pv_diag_set(d, g, -1, "the output check failed: %s", pv_strerror(g));
		} else if (g > 0 && !o->held) {
			o->held = 1;
			o->gated = 1;
			snprintf(o->reason, sizeof(o->reason), "%s", why);
		}
	}
	deid_gate_free(gate);
	return rc;
}
