#!/bin/sh
# 040-malformed: truncated, bit-flipped and planted files: no crash, a clear
# error with file and offset, no value quoted, no partial output.
. "$(dirname "$0")/lib.sh"
"$PYTHON" "$(dirname "$0")/malformed.py"
