#!/bin/sh
# 041-hostile: what a hostile peer can send the parser: 100,000 stray
# delimiters, 1,000,000-deep nesting, 1,000,000 items, 1-16 MB of descending
# tags; no crash, clear answers, linear time (printed).
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/hostile.py" "$TMPROOT/hostile"
