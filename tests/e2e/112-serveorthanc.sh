#!/bin/sh
# 112-serveorthanc: Orthanc (Debian package) as a second archive beside
# `pacsvault serve`, both over DICOM TLS on loopback: Orthanc C-STOREs into
# pacsvault as a modality user pinned by its certificate; pacsvault
# C-MOVEs a study to Orthanc, a configured peer.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/serveorthanc.py" "$TMPROOT/serveorthanc"
