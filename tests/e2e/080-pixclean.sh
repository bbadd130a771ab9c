#!/bin/sh
# 080-pixclean: burned-in text blanked in every frame, in every cleanable transfer syntax.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/pixclean.py" "$TMPROOT/pixclean"
