#!/bin/sh
# 080-pixclean: burned-in text blanked in every frame, in every cleanable transfer syntax.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/pixclean.py" "$TMPROOT/pixclean"
# The helper's sandbox (seccomp is left out of sanitizer builds: test the release binary).
"$PV_RELEASE" __codec-helper sandbox-check 2>/dev/null
rc=$?
if [ "$rc" -eq 159 ] || [ "$rc" -eq 31 ]; then
	pass "the decoder helper's sandbox kills a process that opens a file (SIGSYS)"
else
	fail "the decoder helper's sandbox: exit status $rc, expected death by SIGSYS"
fi
