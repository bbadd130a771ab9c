#!/bin/sh
# 110-serve: `pacsvault serve` (DIMSE) with real dcmtk peers on loopback:
# configuration errors, the refusal to start unsafely, users, C-ECHO and
# C-STORE over TCP and TLS with pinned client certificates and with user
# name and passcode, every refusal audited, stored bytes identical.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/servecheck.py" "$TMPROOT/serve"
