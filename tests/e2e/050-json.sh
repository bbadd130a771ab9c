#!/bin/sh
# 050-json: `dump --json` is valid DICOM JSON and agrees with pydicom's.
. "$(dirname "$0")/lib.sh"
pydicom_files | xargs "$PYTHON" -W ignore "$(dirname "$0")/jsoncmp.py"
