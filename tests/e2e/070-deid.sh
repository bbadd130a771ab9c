#!/bin/sh
# 070-deid: de-identification of synthetic studies with planted PHI.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/deidcheck.py" "$TMPROOT/deid"
