#!/bin/sh
# 095-risk: k-anonymity on hand-built sets and a 10,000-patient set checked independently.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/riskcheck.py" "$TMPROOT/risk"
