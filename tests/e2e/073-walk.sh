#!/bin/sh
# 073-walk: folder walks (issue #15): an unreadable subfolder is reported with
# its real error and counted, and the rest is walked; symbolic links are
# followed, each folder once (a loop is reported, not walked forever), a
# link to nothing is reported.
. "$(dirname "$0")/lib.sh"
w=$(mktemp -d /tmp/pvwalk.XXXXXX)
trap 'chmod -R u+rwx "$w"; rm -rf "$w"' EXIT
chmod 755 "$w"
f=$PYDICOM_DATA/test_files/CT_small.dcm
mkdir -p "$w/in/a" "$w/in/b" "$w/in/c" "$w/other"
cp "$f" "$w/in/a/1.dcm"
cp "$f" "$w/in/b/2.dcm"
cp "$f" "$w/in/c/3.dcm"
cp "$f" "$w/other/4.dcm"
ln -s ../other "$w/in/d-link"
ln -s .. "$w/in/c/loop"
ln -s nowhere "$w/in/e-broken"
chmod -R a+rX "$w"
chmod 000 "$w/in/b"

# as root every folder is readable: walk as another user so that b is not
if command -v setpriv > /dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PV" scan --no-ocr --no-pixels --json "$w/in" \
		> "$w/scan.json" 2> "$w/scan.err"
	rc=$?
	# the files read hold identifiers (3 wins over 1); without them the unreadable folder gives 1
	check "walk: an unreadable folder does not pass (3: the files read have findings)" [ $rc -eq 3 ]
	mkdir -p "$w/clean/x" "$w/clean/y"
	printf 'not dicom' > "$w/clean/x/readme.txt"
	chmod -R a+rX "$w/clean"
	chmod 000 "$w/clean/y"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PV" scan --no-ocr --no-pixels "$w/clean" > /dev/null 2>&1
	check "walk: an unreadable folder and nothing found: 1" [ $? -eq 1 ]
	check "walk: it is named with its real error" grep -q "in/b: cannot list the folder: Permission denied" "$w/scan.err"
	check "walk: the rest is walked (a, c, the linked folder: 3 files)" [ "$(grep -c '"file"' "$w/scan.json")" -eq 3 ]
	check "walk: the summary counts it" grep -q '1 unreadable' "$w/scan.err"
else
	echo "PASS: walk: SKIP unreadable folder (needs root and setpriv)"
fi
chmod 755 "$w/in/b"
"$PV" scan --no-ocr --no-pixels --json "$w/in" > "$w/scan2.json" 2> "$w/scan2.err"
check "walk: every file, the linked folder's once (4 files)" [ "$(grep -c '"file"' "$w/scan2.json")" -eq 4 ]
check "walk: a link loop is reported and skipped" grep -q "in/c/loop: walked already" "$w/scan2.err"
check "walk: a link to nothing is reported" grep -q "e-broken: a symbolic link to nothing" "$w/scan2.err"
check "walk: no sanitizer report" no_sanitizer "$w/scan2.err"

# Files that are not DICOM at all (a README, an index) are skipped with a
# count, not failures; named on the command line they are still errors.
mkdir -p "$w/mixed"
cp "$f" "$w/mixed/1.dcm"
printf 'Export of study 1, see index.json\n' > "$w/mixed/README"
printf '{"files": 1}\n' > "$w/mixed/index.json"
"$PV" keygen -o "$w/k.key" > /dev/null 2>&1
"$PV" deid --key "$w/k.key" "$w/mixed" -o "$w/deid-out" > /dev/null 2> "$w/deid.err"
check "not DICOM: deid exits 0" [ $? -eq 0 ]
check "not DICOM: deid counts 2 skipped" grep -q '2 not DICOM or DICOMDIR (skipped)' "$w/deid.err"
check "not DICOM: deid writes the one image" [ "$(find "$w/deid-out" -type f | wc -l)" -eq 1 ]
"$PV" scan --no-ocr --no-pixels "$w/mixed" > /dev/null 2> "$w/scan3.err"
check "not DICOM: scan does not call them unreadable" grep -q '0 unreadable, 2 not DICOM (skipped)' "$w/scan3.err"
"$PV" risk --json "$w/mixed" > "$w/risk.json" 2> /dev/null
check "not DICOM: risk counts them apart" grep -q '"unreadable":0,"not_dicom":2' "$w/risk.json"
"$PV" keygen --type master -o "$w/mk.key" > /dev/null 2>&1
"$PV" vault init "$w/v" --master-key "$w/mk.key" > /dev/null 2>&1
"$PV" import --vault "$w/v" --master-key "$w/mk.key" --json "$w/mixed" > "$w/imp.json" 2> "$w/imp.err"
check "not DICOM: import exits 0 and seals nothing of them" grep -q '"quarantined":0,"failed":0,"skipped":2' "$w/imp.json"
"$PV" deid --key "$w/k.key" "$w/mixed/README" -o "$w/deid-out2" > /dev/null 2>&1
check "not DICOM: named on the command line it is an error" [ $? -eq 1 ]

# Stale outputs (issue #15): a second run into the same folder leaves no
# output of a file it held back, such as one with real dates from an
# earlier --retain-full-dates run.
mkdir -p "$w/stale"
cp "$f" "$w/stale/1.dcm"
"$PV" deid --mirror -q --key "$w/k.key" --retain-full-dates "$w/stale" -o "$w/stale-out" > /dev/null 2>&1
check "stale: the first run writes 1.dcm" [ -f "$w/stale-out/stale/1.dcm" ]
head -c 2000 "$f" > "$w/stale/1.dcm"   # the input is now broken: the second run cannot write it
"$PV" deid --mirror -q --key "$w/k.key" "$w/stale" -o "$w/stale-out" > /dev/null 2> "$w/stale.err"
check "stale: the second run fails on it" [ $? -eq 1 ]
check "stale: and leaves no output of its name" [ ! -e "$w/stale-out/stale/1.dcm" ]
check "stale: and says it removed the earlier output" grep -q 'the output of an earlier run removed' "$w/stale.err"

# vault init without --master-key says loudly where the key went; rm
# --dry-run counts and shreds nothing (issue #15).
"$PV" vault init "$w/v2" > /dev/null 2> "$w/init.err"
check "vault init without --master-key warns that the key is inside" grep -q 'WARNING: the master key is INSIDE the vault' "$w/init.err"
study=$("$PV" dump "$f" | sed -n 's/^(0020,000d) UI \[\([0-9.]*\)\].*/\1/p')
"$PV" rm --vault "$w/v" --master-key "$w/mk.key" --dry-run "$study" > "$w/rm.out" 2> /dev/null
check "rm --dry-run says what it would shred" grep -q 'would shred 1 instance$' "$w/rm.out"
"$PV" get --vault "$w/v" --master-key "$w/mk.key" "$study" -o "$w/got" > /dev/null 2>&1
check "rm --dry-run shreds nothing" [ "$(find "$w/got" -type f | wc -l)" -eq 1 ]

# scan runs OCR only where text is likely (issue #15): not on a CT slice
# without text-like regions, still on an ultrasound image.
"$PV" scan --json "$f" 2> /dev/null | head -1 > "$w/ocr-ct.json"
check "scan: no OCR on a CT slice without text-like regions" grep -q '"ocr_frames":0' "$w/ocr-ct.json"
"$PYTHON" "$(dirname "$0")/../../scripts/synth.py" usdemo "$w/us.dcm"
"$PV" scan --json "$w/us.dcm" 2> /dev/null | head -1 > "$w/ocr-us.json"
check "scan: OCR on an ultrasound image" grep -q '"ocr_frames":[1-9]' "$w/ocr-us.json"

# A held-back file says which option would handle it (issue #15).
"$PV" deid -q --key "$w/k.key" "$w/us.dcm" -o "$w/held" 2> "$w/held.err"
check "held back: the message names --clean-pixel-data and --quarantine" grep -q 'not written: .*(--clean-pixel-data cleans burned-in text; --quarantine DIR keeps it for review)' "$w/held.err"

# A DICOMDIR is skipped with a notice, not copied with the original folder
# names in its records, and not sealed into the quarantine (issue #15).
dd=$PYDICOM_DATA/test_files/dicomdirtests
if [ -f "$dd/DICOMDIR" ]; then
	mkdir -p "$w/dd"
	cp -r "$dd/." "$w/dd/"
	"$PV" deid -q --key "$w/k.key" "$w/dd" -o "$w/dd-out" > /dev/null 2> "$w/dd.err"
	check "DICOMDIR: deid says it is not copied" grep -q 'DICOMDIR: a DICOMDIR: not copied' "$w/dd.err"
	check "DICOMDIR: no DICOMDIR in the output" [ -z "$(find "$w/dd-out" -name DICOMDIR)" ]
	"$PV" import --vault "$w/v" --master-key "$w/mk.key" --json "$w/dd/DICOMDIR" > "$w/dd-imp.json" 2> "$w/dd-imp.err"
	check "DICOMDIR: import skips it, nothing quarantined" grep -q '"quarantined":0,"failed":0,"skipped":1' "$w/dd-imp.json"
else
	echo "PASS: DICOMDIR: SKIP (no pydicom DICOMDIR test set)"
fi

# reid with a key that is not a PEM private key: said once, naming the key
# file, before any DICOM file is looked at (issue #15).
"$PV" reid --key "$w/k.key" "$w/mixed" -o "$w/reid-out" > /dev/null 2> "$w/reid.err"
check "reid: a non-PEM key fails once (1)" [ $? -eq 1 ]
check "reid: the message names the key file, once" [ "$(grep -c 'k.key: not a PEM private key' "$w/reid.err")" -eq 1 ]

# ledger show takes $PACSVAULT_DIR like every vault command (issue #15).
PACSVAULT_DIR=$w/v PACSVAULT_MASTER_KEY=$w/mk.key "$PV" ledger show > "$w/show.txt" 2> "$w/show.err"
check "ledger show reads the vault of \$PACSVAULT_DIR" grep -q '110107 Import' "$w/show.txt"

# An output folder inside an input through a symbolic link is refused before
# anything is created in the input (issue #15).
ln -s mixed "$w/mixed-link"
"$PV" deid -q --key "$w/k.key" "$w/mixed" -o "$w/mixed-link/out/a" > /dev/null 2> "$w/ln.err"
check "output through a link into the input: refused (2)" [ $? -eq 2 ]
check "... and nothing created in the input" [ ! -e "$w/mixed/out" ]

# A symbolic link planted inside the output folder is not followed out of it
# (issue #15): the outputs under it are refused, nothing lands elsewhere.
mkdir -p "$w/planted-out" "$w/elsewhere"
ln -s "$w/elsewhere" "$w/planted-out/mixed"
"$PV" deid --mirror -q --key "$w/k.key" "$w/mixed" -o "$w/planted-out" > /dev/null 2> "$w/planted.err"
check "planted link: deid fails (1)" [ $? -eq 1 ]
check "planted link: nothing lands where it points" [ -z "$(ls -A "$w/elsewhere")" ]
check "planted link: the message says why" grep -q 'a symbolic link in the output folder leads out of it' "$w/planted.err"

# Outputs are named by their pseudonymised UIDs by default (issue #15 #1): a
# folder named after the patient and a file named by its original SOP
# Instance UID do not reach the output; two inputs with one SOP Instance UID
# give one output and an error; the report says where each went.
sop=$("$PV" dump "$f" | sed -n 's/^(0008,0018) UI \[\([0-9.]*\)\].*/\1/p')
mkdir -p "$w/names/Doe^John_12345"
cp "$f" "$w/names/Doe^John_12345/$sop.dcm"
cp "$f" "$w/names/Doe^John_12345/copy.dcm"
"$PV" deid -q --key "$w/k.key" --report "$w/names.jsonl" "$w/names" -o "$w/names-out" > /dev/null 2> "$w/names.err"
check "UID names: a second input with the same SOP Instance UID is refused (1)" [ $? -eq 1 ]
check "... and says why" grep -q 'same SOP Instance UID' "$w/names.err"
check "UID names: one output" [ "$(find "$w/names-out" -type f | wc -l)" -eq 1 ]
out1=$(find "$w/names-out" -type f)
check "UID names: no folder or file name of the input in the output path" \
	sh -c "! echo '$out1' | grep -q -e Doe -e 12345 -e '$sop' -e copy"
rel=${out1#"$w/names-out/"}
st=$("$PV" dump "$out1" | sed -n 's/^(0020,000d) UI \[\([0-9.]*\)\].*/\1/p')
se=$("$PV" dump "$out1" | sed -n 's/^(0020,000e) UI \[\([0-9.]*\)\].*/\1/p')
so=$("$PV" dump "$out1" | sed -n 's/^(0008,0018) UI \[\([0-9.]*\)\].*/\1/p')
check "UID names: STUDY/SERIES/SOP.dcm by the output's own UIDs" [ "$rel" = "$st/$se/$so.dcm" ]
check "UID names: the report says where it went" grep -q "\"output\":\"$out1\"" "$w/names.jsonl"
# A file without Study or Series Instance UID is still named without its path.
mkdir -p "$w/nouid/Doe^Jane"
"$PYTHON" - "$f" "$w/nouid/Doe^Jane/x.dcm" <<'PY'
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
del ds.StudyInstanceUID
del ds.SeriesInstanceUID
ds.save_as(sys.argv[2])
PY
"$PV" deid -q --key "$w/k.key" "$w/nouid" -o "$w/nouid-out" > /dev/null 2>&1
check "UID names: missing Study/Series UIDs: no-study/no-series/SOP.dcm" \
	sh -c "find '$w/nouid-out' -type f | grep -q '/no-study/no-series/2\.25\.[0-9]*\.dcm$'"

# scan looks at file and folder names like any text (issue #15 #1): the
# patient's name in a folder and the original UID as a file name are
# found; deid's UID-named outputs give nothing.
"$PV" scan --no-pixels "$w/names" > "$w/names-scan.txt" 2>&1
check "scan: a folder named after the patient is found" grep -q 'file name: in a file or folder name: person-name-like text' "$w/names-scan.txt"
check "scan: a file named by its original UID is found" grep -q 'uid: file name: a file or folder named by a UID' "$w/names-scan.txt"
# the report page may be passed around: names that carry an identifier are masked there
"$PV" scan -q --no-pixels --html "$w/names.html" "$w/names" > /dev/null 2>&1
check "scan --html: the folder and file names that carry identifiers are masked in the report" \
	sh -c "! grep -q -e 'Doe' -e '12345' -e '$sop' '$w/names.html' && grep -q 'Do\*' '$w/names.html'"
"$PV" scan --no-pixels --against "$w/names" "$w/names-out" > "$w/names-scan2.txt" 2>&1
check "scan: deid's UID-named outputs have clean names" sh -c "! grep -q 'file name' '$w/names-scan2.txt'"
