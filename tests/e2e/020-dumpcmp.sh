#!/bin/sh
# 020-dumpcmp: every pydicom test file is listed as dcmdump lists it (tag, VR,
# length, value at every depth), or refused with file and offset where dcmtk
# refuses it too.
. "$(dirname "$0")/lib.sh"
pydicom_files | xargs "$PYTHON" -W ignore "$(dirname "$0")/dumpcmp.py"
