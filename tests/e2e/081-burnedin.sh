#!/bin/sh
# 081-burnedin: anti-aliased TrueType and bitmap text, Latin and Chinese, dark
# and bright, 8 to 16 bits, RGB Big Endian, Deflated, RLE, 64x64 to
# 1024x1024, on files no rule covers: every text pixel blanked, nothing held
# back, scan finds nothing left.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/burnedin.py" "$TMPROOT/burnedin"
