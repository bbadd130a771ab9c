#!/bin/sh
# 100-vault: the encrypted vault: round trip, C-FIND queries, no clear PHI at
# rest, tampering, 50 SIGKILLs of import, killed key rotations, rm.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/vaultcheck.py" "$TMPROOT/vault"
