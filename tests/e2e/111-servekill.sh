#!/bin/sh
# 111-servekill: `pacsvault serve` killed (SIGKILL) 50 times during stores
# on four associations: every instance that got a successful C-STORE-RSP is
# in the vault, byte for byte; vault fsck and the ledger clean.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/servekill.py" "$TMPROOT/servekill"
