#!/bin/sh
# 098-ledger: tamper detection, crash safety (50 SIGKILLs), offline proofs.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/ledgercheck.py" "$TMPROOT/ledger"
