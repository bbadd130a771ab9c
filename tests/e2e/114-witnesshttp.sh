#!/bin/sh
# 114-witnesshttp: the ledger's witnesses over HTTP and HTTPS (C2SP
# tlog-witness): `ledger witness serve`, `ledger checkpoint --policy` with a
# 2-of-2 quorum, 409 and retry, a forked log refused (422), bad requests.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/witnesshttp.py" "$TMPROOT/witnesshttp"
