#!/bin/sh
# 072-inflate: one inflate budget for the whole process (deflate bombs at -j 4).
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/inflatecheck.py" "$TMPROOT/inflate"
