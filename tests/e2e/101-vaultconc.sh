#!/bin/sh
# 101-vaultconc: readers beside a writer, writers that wait, what an
# interrupted import leaves (placed or shredded by the next writer), and the
# quarantine's release and purge.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/vaultconc.py" "$TMPROOT/vaultconc"
