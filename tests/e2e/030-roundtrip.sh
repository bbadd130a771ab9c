#!/bin/sh
# 030-roundtrip: rewrite in the same and in every native syntax; dcmtk reads
# every written file; the data set survives; dciodvfy finds no new error.
. "$(dirname "$0")/lib.sh"
pydicom_files | "$PYTHON" "$(dirname "$0")/roundtrip.py"
