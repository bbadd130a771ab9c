#!/bin/sh
# 098-ledger: tamper detection, crash safety (50 SIGKILLs), offline proofs;
# witnesses (the C2SP tlog-witness vector sequence) and policy quorums.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/ledgercheck.py" "$TMPROOT/ledger"
"$PYTHON" -W ignore "$(dirname "$0")/witnesscheck.py" "$TMPROOT/witness"
