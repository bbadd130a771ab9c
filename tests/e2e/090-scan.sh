#!/bin/sh
# 090-scan: the residual-PHI scanner finds every planted identifier, nothing on clean files.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/scancheck.py" "$TMPROOT/scan"
