#!/bin/sh
# 097-html: the scan and risk HTML reports in headless Chromium.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/htmlcheck.py" "$TMPROOT/html"
