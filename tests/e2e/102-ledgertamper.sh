#!/bin/sh
# 102-ledgertamper: a vault's audit trail against someone who can write the
# vault folder without the master key: tail cut, entry rewritten and
# re-signed, checkpoints dropped, entries appended; an auditor's copy.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/ledgertamper.py" "$TMPROOT/ledgertamper"
