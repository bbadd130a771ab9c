#!/bin/sh
# 010-cli: help, version, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"
out=$TMPROOT/cli
mkdir -p "$out"

$PV help > "$out/help.txt" 2>&1
check "help exits 0" [ $? -eq 0 ]
check "help lists dump" grep -q '^  dump' "$out/help.txt"
check "help lists convert" grep -q '^  convert' "$out/help.txt"
check "help lists keygen" grep -q "^  keygen" "$out/help.txt"
check "help documents exit status" grep -q 'Exit status' "$out/help.txt"
$PV --version > "$out/v.txt"
check "version names the dictionary edition" grep -q 'PS3.6 2022b' "$out/v.txt"
for c in dump convert keygen deid reid scan risk ledger vault import find get export rm; do
	$PV $c --help > "$out/h.txt"
	check "$c --help exits 0" [ $? -eq 0 ]
	check "$c --help documents exit status" grep -q 'Exit status' "$out/h.txt"
	$PV help $c > "$out/h2.txt"
	check "help $c is $c --help" cmp -s "$out/h.txt" "$out/h2.txt"
done
for c in show witness export atna; do
	$PV ledger $c --help > "$out/h.txt"
	check "ledger $c --help exits 0 and documents exit status" grep -q 'Exit status' "$out/h.txt"
done
$PV > /dev/null 2>&1
check "no command is a usage error (2)" [ $? -eq 2 ]
$PV frobnicate > /dev/null 2> "$out/e.txt"
check "unknown command is a usage error (2)" [ $? -eq 2 ]
check "unknown command is named" grep -q frobnicate "$out/e.txt"
$PV dump > /dev/null 2>&1
check "dump without files is a usage error" [ $? -eq 2 ]
$PV dump --bogus x > /dev/null 2>&1
check "dump with an unknown option is a usage error" [ $? -eq 2 ]
$PV convert "$PYDICOM_DATA/test_files/CT_small.dcm" > /dev/null 2>&1
check "convert without -o is a usage error" [ $? -eq 2 ]
$PV convert -t no-such-ts -o "$out/x.dcm" "$PYDICOM_DATA/test_files/CT_small.dcm" > /dev/null 2>&1
check "convert with an unknown syntax is a usage error" [ $? -eq 2 ]
check "nothing written on usage errors" [ ! -e "$out/x.dcm" ]
$PV dump /nonexistent.dcm > /dev/null 2> "$out/e.txt"
check "a missing file exits 1" [ $? -eq 1 ]
check "a missing file is named" grep -q 'nonexistent.dcm' "$out/e.txt"

# OpenSSL, SQLite and libjpeg are loaded when a command needs them (not
# linked): dump runs without them; a command that needs one stops with 70,
# names it, and leaves nothing behind. Broken copies (empty files) stand in
# for missing ones, ahead of the system's on the library path.
mkdir -p "$out/badlib"
: > "$out/badlib/libcrypto.so.3"
: > "$out/badlib/libsqlite3.so.0"
LD_LIBRARY_PATH=$out/badlib $PV dump "$PYDICOM_DATA/test_files/CT_small.dcm" > "$out/d.txt" 2> "$out/e.txt"
check "dump needs neither OpenSSL nor SQLite" [ $? -eq 0 ]
check "dump without them prints the file" grep -q 'PatientName' "$out/d.txt"
LD_LIBRARY_PATH=$out/badlib $PV keygen -o "$out/k.key" > /dev/null 2> "$out/e.txt"
check "keygen without libcrypto exits 70" [ $? -eq 70 ]
check "the message names libcrypto" grep -q 'cannot load libcrypto.so.3' "$out/e.txt"
check "the message says how to install it" grep -q 'install-deps.sh' "$out/e.txt"
check "keygen without libcrypto writes no key" [ ! -e "$out/k.key" ]
LD_LIBRARY_PATH=$out/badlib $PV vault --help > "$out/h.txt" 2>&1
check "help needs none of them" [ $? -eq 0 ]
LD_LIBRARY_PATH=$out/badlib $PV vault init "$out/v" > /dev/null 2> "$out/e.txt"
check "vault init without its libraries exits 70" [ $? -eq 70 ]
check "vault init without its libraries makes no vault" [ ! -e "$out/v" ]
rm -f "$out/badlib/libcrypto.so.3"
LD_LIBRARY_PATH=$out/badlib $PV vault init "$out/v" > /dev/null 2> "$out/e.txt"
check "vault init without SQLite exits 70" [ $? -eq 70 ]
check "the message names SQLite" grep -q 'cannot load libsqlite3.so.0' "$out/e.txt"
check "vault init without SQLite makes no vault" [ ! -e "$out/v" ]

# Standard output is an output: a full disk is a failure with the reason
# (issue #15), not exit 0 with half a listing.
$PV dump "$PYDICOM_DATA/test_files/CT_small.dcm" > /dev/full 2> "$out/e.txt"
check "dump into a full disk exits 1" [ $? -eq 1 ]
check "... and says why" grep -q 'cannot write standard output: No space left on device' "$out/e.txt"
$PV dump --json "$PYDICOM_DATA/test_files/CT_small.dcm" > /dev/full 2> /dev/null
check "dump --json into a full disk exits 1" [ $? -eq 1 ]
$PV help > /dev/full 2> /dev/null
check "help into a full disk exits 1" [ $? -eq 1 ]
