#!/bin/sh
# 074-options: one meaning per option and per exit status across commands
# (issue #15, item 16): -k is a key file wherever it exists (risk's target is
# --target-k); a file named by -o is never replaced without --force (keygen:
# never); the same error gives the same exit status in every command (1: an
# input, key, recipe or vault named on the command line cannot be used;
# 2: the command line itself is wrong; 3: scan found something, risk is
# below k); every summary line starts "pacsvault: COMMAND:".
. "$(dirname "$0")/lib.sh"
w=$(mktemp -d /tmp/pvopt.XXXXXX)
trap 'rm -rf "$w"' EXIT
f=$PYDICOM_DATA/test_files/CT_small.dcm
export PACSVAULT_WAIT=0
unset PACSVAULT_DIR PACSVAULT_MASTER_KEY
"$PV" keygen -o "$w/p.key" > /dev/null 2>&1
"$PV" keygen --type master -o "$w/m.key" > /dev/null 2>&1

# -k
"$PV" risk -q -k 3 "$f" > /dev/null 2> "$w/err"
check "risk -k is refused (2), pointing at --target-k" [ $? -eq 2 ]
check "  the message names --target-k" grep -q -- "--target-k" "$w/err"
"$PV" risk -q --json --target-k 2 "$f" > "$w/risk.json" 2> /dev/null
rc=$?
check "risk --target-k 2 on one patient: below k (3)" [ $rc -eq 3 ]

# -o never replaces without --force
printf 'keep me' > "$w/out.dcm"
"$PV" convert "$f" -o "$w/out.dcm" 2> "$w/err"
check "convert onto an existing file: refused (1)" [ $? -eq 1 ]
check "  the file is untouched" [ "$(cat "$w/out.dcm")" = "keep me" ]
check "  the message says why and how" grep -q "out.dcm: exists; not replaced (--force replaces it)" "$w/err"
"$PV" convert --force "$f" -o "$w/out.dcm"
check "convert --force replaces it" [ $? -eq 0 ] && cmp -s "$w/out.dcm" "$f"
"$PV" vault init "$w/v" --master-key "$w/m.key" > /dev/null 2>&1
"$PV" import --vault "$w/v" --master-key "$w/m.key" "$f" 2> "$w/import.err"
check "import: its summary starts 'pacsvault: import:'" grep -q "^pacsvault: import: 1 files: 1 stored" "$w/import.err"
sop=$("$PYTHON" -c "import pydicom,sys; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)" "$f")
printf 'keep me' > "$w/got.dcm"
"$PV" get --vault "$w/v" --master-key "$w/m.key" "$sop" -o "$w/got.dcm" 2> "$w/err"
check "get onto an existing file: refused (1)" [ $? -eq 1 ]
check "  the file is untouched" [ "$(cat "$w/got.dcm")" = "keep me" ]
"$PV" get --vault "$w/v" --master-key "$w/m.key" --force "$sop" -o "$w/got.dcm"
check "get --force replaces it with the exact bytes" [ $? -eq 0 ] && cmp -s "$w/got.dcm" "$f"
"$PV" keygen -o "$w/p.key" > /dev/null 2>&1
check "keygen never replaces a key (1)" [ $? -eq 1 ]

# the same error, the same status
for c in "dump" "convert -o $w/x.dcm" "deid --key $w/p.key -o $w/d" "scan" "risk" \
	"import --vault $w/v --master-key $w/m.key"; do
	# shellcheck disable=SC2086
	"$PV" $c "$w/missing.dcm" > /dev/null 2>&1
	rc=$?
	check "a missing input: ${c%% *} exits 1 ($rc)" [ $rc -eq 1 ]
done
for c in dump convert deid scan risk import find get rm export keygen; do
	"$PV" $c --no-such-option > /dev/null 2>&1
	rc=$?
	check "an unknown option: $c exits 2 ($rc)" [ $rc -eq 2 ]
done
"$PV" deid --key "$w/m.key" "$f" -o "$w/d" > /dev/null 2> "$w/err"
check "deid with a key of the wrong type: 1, the key file named" [ $? -eq 1 ] && grep -q "m.key" "$w/err"
"$PV" find --vault "$w/v" --master-key "$w/p.key" > /dev/null 2> "$w/err"
check "find with a key of the wrong type: 1, the key file named" [ $? -eq 1 ] && grep -q "p.key" "$w/err"
printf 'kep (0010,0010)\n' > "$w/recipe.txt"
"$PV" deid --key "$w/p.key" --recipe "$w/recipe.txt" "$f" -o "$w/d" > /dev/null 2>&1
check "deid with a bad recipe: 1" [ $? -eq 1 ]
for c in "find" "get 1.2.3 -o $w/y.dcm" "rm 1.2.3" "export 1.2.3 -o $w/e" "vault fsck" "ledger show"; do
	# shellcheck disable=SC2086
	"$PV" $c --vault "$w/nothing" > /dev/null 2> "$w/err"
	rc=$?
	check "no vault there: ${c%% *} exits 1 ($rc)" [ $rc -eq 1 ]
done
check "  said once: 'DIR: not a vault', the folder not repeated" \
	[ "$(grep -c "nothing" "$w/err")" -eq 1 ] && grep -q "nothing: not a vault" "$w/err"

# summaries
"$PV" scan --no-ocr "$f" > /dev/null 2> "$w/scan.err"
check "scan on an identified file: 3" [ $? -eq 3 ]
check "  its summary starts 'pacsvault: scan:'" grep -q "^pacsvault: scan: 1 files" "$w/scan.err"
"$PV" deid --key "$w/p.key" "$f" -o "$w/d2" 2> "$w/deid.err"
check "deid: its summary starts 'pacsvault: deid:'" grep -q "^pacsvault: deid: 1 of 1 files" "$w/deid.err"
"$PV" rm --vault "$w/v" --master-key "$w/m.key" --dry-run "$sop" > /dev/null 2> "$w/rm.err"
check "rm: its summary starts 'pacsvault: rm:'" grep -q "^pacsvault: rm: --dry-run: 1 instances" "$w/rm.err"
