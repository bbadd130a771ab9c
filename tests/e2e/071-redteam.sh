#!/bin/sh
# 071-redteam: an adversarial corpus (issue #14): unlisted text, SR trees,
# UN-encoded sequences, abused safe-private slots, other people's names,
# institutions, CJK-adjacent IDs, dates in words, ages; scored byte by byte.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/redteam.py" "$TMPROOT/redteam"
