# lib.sh: helpers for the end-to-end tests (sourced).
# Each check prints "PASS: name" or "FAIL: name: why".
set -u
: "${PV:=build/test/pacsvault}"
: "${PYTHON:=/usr/bin/python3}"
: "${PYDICOM_DATA:=/usr/lib/python3/dist-packages/pydicom/data}"
: "${TMPROOT:=$(mktemp -d)}"

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }

# check NAME COMMAND...: passes when the command succeeds
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# no_sanitizer FILE: the stderr file holds no sanitizer report
no_sanitizer() {
	! grep -qE 'Sanitizer|runtime error' "$1"
}

# pydicom_files: every DICOM file of python3-pydicom's test data
pydicom_files() {
	find "$PYDICOM_DATA/test_files" "$PYDICOM_DATA/charset_files" "$PYDICOM_DATA/palettes" \
		-type f ! -name '*.txt' ! -name '*.json' ! -name '*.dump' ! -name '*.gz' \
		! -name '*.py' ! -name '*.md' ! -name '*.pyc' | sort
}
