#!/bin/sh
# 113-dicomweb: `pacsvault serve`'s DICOMweb listener over HTTPS with curl:
# bearer tokens (issue, revoke, refusals audited), QIDO-RS and WADO-RS as a
# clinician (exact bytes) and as a research user (no planted value), the
# viewer's static files, and hostile HTTP (smuggling, obs-fold, slowloris).
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/webcheck.py" "$TMPROOT/web"
