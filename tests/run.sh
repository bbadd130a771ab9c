#!/bin/sh
# tests/run.sh: every test of `make test`. Each part prints "PASS: ..." or
# "FAIL: ..." lines; this script counts them and ends with
# "N passed, N failed". Exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 2

export ASAN_OPTIONS="detect_leaks=1:exitcode=86:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PV="$PWD/build/test/pacsvault"
export PV_RELEASE="$PWD/build/pacsvault"
export PYDICOM_DATA="${PYDICOM_DATA:-/usr/lib/python3/dist-packages/pydicom/data}"
export PYTHON="${PYTHON:-/usr/bin/python3}"
TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/pvtest.XXXXXX")
export TMPROOT
trap 'rm -rf "$TMPROOT"' EXIT INT TERM

log="$TMPROOT/results.txt"
: > "$log"

run_part() {
	name=$1
	shift
	echo "== $name"
	"$@" > "$TMPROOT/part.out" 2> "$TMPROOT/part.err"
	rc=$?
	grep -E '^(PASS|FAIL)' "$TMPROOT/part.out" >> "$log"
	grep -E '^FAIL' "$TMPROOT/part.out"
	n=$(grep -cE '^(PASS|FAIL)' "$TMPROOT/part.out")
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$TMPROOT/part.out"; then
		echo "FAIL: $name exited with status $rc" | tee -a "$log"
		tail -20 "$TMPROOT/part.err"
	elif [ "$n" -eq 0 ]; then
		echo "FAIL: $name ran no test" | tee -a "$log"
		tail -20 "$TMPROOT/part.err"
	else
		grep -E 'FAIL|Sanitizer|runtime error' "$TMPROOT/part.err" | head -20
		echo "   $n checks"
	fi
}

layers() {
	if PV_LAYERS_OBJ=build/test/obj sh scripts/check-layers.sh; then
		echo "PASS: check-layers on the tree"
	else
		echo "FAIL: check-layers on the tree"
	fi
	# The checker itself must catch a violation.
	t="$TMPROOT/layers"
	mkdir -p "$t/src/base" "$t/src/deid"
	echo '#include "pacsvault/dicom/reader.h"' > "$t/src/base/bad.c"
	echo '#include "pacsvault/store/index.h"' > "$t/src/deid/bad.c"
	mkdir -p "$t/src/app" "$t/src/net" "$t/obj/src/net"
	echo '#include "pacsvault/ledger/log.h"' > "$t/src/app/cmd_vault.c"
	echo '#include "pacsvault/store/vault.h"' > "$t/src/app/cmd_scan.c"
	# a front end that calls the store without including it: the symbol rule catches it
	printf 'int vault_rm(void);\nint f(void);\nint f(void) { return vault_rm(); }\n' > "$t/src/net/sneak.c"
	cc -c -o "$t/obj/src/net/sneak.o" "$t/src/net/sneak.c"
	out=$(PV_LAYERS_OBJ="$t/obj" sh scripts/check-layers.sh "$t" 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -q 'base (layer 0) includes dicom' &&
	    echo "$out" | grep -q 'deid must not include store' &&
	    echo "$out" | grep -q 'cmd_vault.c:1: an archive front end reaches deid and ledger only through svc' &&
	    echo "$out" | grep -q 'cmd_scan.c:1: a front end reaches the store only through svc' &&
	    echo "$out" | grep -q 'sneak.c: calls vault_rm'; then
		echo "PASS: check-layers catches violations"
	else
		echo "FAIL: check-layers missed a violation: $out"
	fi
}

run_part "layer check" layers
run_part "unit tests" build/test/unit
run_part "fuzz regression replay" build/test/regress tests/regress
for t in tests/e2e/[0-9]*.sh; do
	run_part "$(basename "$t")" sh "$t"
done

passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
