#!/bin/sh
# demo.sh: the README's first command runs this (through `make demo`).
# Makes synthetic studies full of planted identifiers and runs them through
# what pacsvault does so far: read every element at every depth, in every
# character set, de-identify (before and after, and a search for every
# planted value), burned-in text blanked in the pixels, DICOM JSON, rewrite
# in every native transfer syntax.
set -eu
cd "$(dirname "$0")/.."
PV=build/pacsvault
out=build/demo
rm -rf "$out"
mkdir -p "$out/in" "$out/out"

say() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }

say "1. Synthetic CT studies (all values invented, seeded)"
/usr/bin/python3 scripts/synth.py demo "$out/in" "$out/planted.json" 2>/dev/null
for f in "$out"/in/*.dcm; do
	printf '  %s  %s bytes  %s\n' "$f" "$(wc -c < "$f")" \
		"$($PV dump --no-meta "$f" | sed -n 's/^# Used TransferSyntax: //p')"
done

show() {
	$PV dump "$1" | grep -E '^\(0002,0016\)|PN \[|PN \(|\(0010,0020\)|\(0010,0030\)|\(0010,2154\)|\(0008,0050\)|\(0008,0080\)|\(0009,|\(0020,4000\)|OtherPatientIDs|^    \(0010,0020\)|RequestAttributes|\(0008,0018\)|\(0012,006' | sed 's/^/   /'
}

say "2. BEFORE: where the identifiers hide (pacsvault dump, study3: GB18030 text)"
echo "   names, IDs, the national ID in a nested sequence and in free text, a private block:"
show "$out/in/study3.dcm"

say "3. De-identify (PS3.15 E.1-1 Basic Profile, keyed pseudonyms)"
$PV keygen -o "$out/project.key"
$PV deid -q --mirror --key "$out/project.key" --report "$out/report.jsonl" "$out/in" -o "$out/deid"
echo "   pacsvault deid --mirror --key $out/project.key $out/in -o $out/deid"
echo "   (--mirror keeps the input file names for this before/after; by default each output is"
echo "    named by its pseudonymised UIDs, STUDY/SERIES/SOP.dcm, as folder names often carry patients' names)"

say "4. AFTER: the same file"
show "$out/deid/in/study3.dcm"

say "5. Search every output byte for every planted value (UTF-8, GB18030, Latin-1)"
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
plants = json.load(open(os.path.join(out, "planted.json"), encoding="utf-8"))
def encodings(v):
    for e in ("utf-8", "gb18030", "latin-1"):
        try:
            yield v.encode(e)
        except UnicodeEncodeError:
            pass
total = found = 0
for name, values in sorted(plants.items()):
    raw_in = open(os.path.join(out, "in", name), "rb").read()
    raw = open(os.path.join(out, "deid", "in", name), "rb").read()
    n_in = sum(1 for v in values if any(b in raw_in for b in encodings(v)))
    n = sum(1 for v in values if any(b in raw for b in encodings(v)))
    total += len(values)
    found += n
    print("   %-12s planted values found: before %2d, after %d" % (name, n_in, n))
print("   %s" % ("no planted value survives" if found == 0 else "LEAK: %d values survive" % found))
PY

say "5b. Burned-in text: an ultrasound image with a name and ID in its banner (RLE compressed)"
mkdir -p "$out/us"
/usr/bin/python3 scripts/synth.py usdemo "$out/us-native.dcm" 2>/dev/null
dcmcrle "$out/us-native.dcm" "$out/us/us1.dcm"
banner() {
	# The top of the image as text: one character per 2x2 pixels.
	dcmdrle "$1" "$out/banner.dcm" && /usr/bin/python3 - "$out/banner.dcm" <<'PY'
import sys, warnings
warnings.filterwarnings("ignore")
import pydicom
a = pydicom.dcmread(sys.argv[1]).pixel_array
for y in range(4, 50, 2):
    print("   |" + "".join("#" if a[y:y+2, x:x+2].max() > 180 else ("." if a[y:y+2, x:x+2].max() > 20 else " ") for x in range(4, 150, 2)) + "|")
PY
}
echo "   before:"
banner "$out/us/us1.dcm"
$PV deid -q --mirror --key "$out/project.key" --clean-pixel-data --report "$out/us-report.jsonl" "$out/us" -o "$out/us-deid"
echo "   pacsvault deid --mirror --key $out/project.key --clean-pixel-data $out/us -o $out/us-deid"
echo "   after (built-in rule: everything outside the ultrasound region is blanked, still RLE):"
banner "$out/us-deid/us/us1.dcm"
/usr/bin/python3 -c '
import json, sys
j = json.loads(open(sys.argv[1]).readline())
p = j["pixels"]
print("   report: rule %s, %s, %d frame(s), %d pixels overwritten" % (p["rule"], p["codec"], p["frames"], p["changed"]))' "$out/us-report.jsonl"

say "5c. What is left? pacsvault scan, before and after (attributes, text, private tags, UIDs, pixels with OCR)"
summary() {
	$PV scan -q --json "$@" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if "summary" in j:
        s = j["summary"]
        kinds = ", ".join("%s %d" % kv for kv in sorted(s["by_kind"].items(), key=lambda kv: -kv[1]))
        print("   %d files, %d findings%s" % (s["files"], s["findings"], (": " + kinds) if kinds else ""))'
}
echo "   before (the originals):"
summary "$out/in" "$out/us"
echo "   after (pacsvault deid, pixels cleaned):"
summary "$out/deid" "$out/us-deid"
$PV scan -q --html "$out/scan-before.html" "$out/in" "$out/us" > /dev/null || true
echo "   the report page of the originals: $out/scan-before.html (values masked, text in the pixels covered)"

say "5d. The encrypted vault: import, find, a byte search of the vault, the audit trail"
rm -rf "$out/vault"
$PV keygen --type master -o "$out/vault-master.key" > /dev/null
$PV vault init "$out/vault" --master-key "$out/vault-master.key" | sed 's/^/   /'
export PACSVAULT_DIR="$out/vault" PACSVAULT_MASTER_KEY="$out/vault-master.key"
$PV import -q "$out/in" "$out/us"
echo "   pacsvault find PatientName='*' PatientID StudyDate ModalitiesInStudy (C-FIND matching):"
$PV find "PatientName=*" PatientID StudyDate ModalitiesInStudy | sed 's/^/   /'
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
plants = sorted({v for vs in json.load(open(os.path.join(out, "planted.json"), encoding="utf-8")).values() for v in vs})
def encodings(v):
    for e in ("utf-8", "gb18030", "latin-1"):
        try:
            yield v.encode(e)
        except UnicodeEncodeError:
            pass
blob_in = b"".join(open(os.path.join(out, "in", f), "rb").read() for f in os.listdir(os.path.join(out, "in")))
blob = b"".join(open(os.path.join(dp, f), "rb").read() for dp, dn, fn in os.walk(os.path.join(out, "vault")) for f in fn)
n_in = sum(1 for v in plants if any(b in blob_in for b in encodings(v)))
n = sum(1 for v in plants if any(b in blob for b in encodings(v)))
print("   a byte search of every file of the vault (objects, index, ledger) for the %d planted values: "
      "%d in the originals, %d in the vault" % (len(plants), n_in, n))
PY
echo "   pacsvault ledger show (who did what; patients only as keyed pseudonyms):"
$PV ledger show --vault "$out/vault" | tail -3 | cut -c1-150 | sed 's/^/   /'
$PV vault fsck | sed 's/^/   /'
unset PACSVAULT_DIR PACSVAULT_MASTER_KEY

say "6. The original as DICOM JSON (PS3.18 F.2), GB18030 decoded to UTF-8"
$PV dump --json "$out/in/study3.dcm" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
for tag in ("00100010", "00080090", "00101002"):
    print("   %s: %s" % (tag, json.dumps(d[tag], ensure_ascii=False)))
print("   7FE00010: %s" % json.dumps(d["7FE00010"]))'

say "7. Rewritten in every native transfer syntax, checked by dcmtk"
for ts in implicit-le explicit-le explicit-be deflated-le; do
	$PV convert -t "$ts" -o "$out/out/study1-$ts.dcm" "$out/in/study1.dcm"
	if dcmdump -q "$out/out/study1-$ts.dcm" > "$out/out/dcmdump-$ts.txt" 2>&1; then
		verdict="dcmdump reads it"
	else
		verdict="DCMDUMP REJECTS IT"
	fi
	$PV convert -t explicit-le -o "$out/out/back-$ts.dcm" "$out/out/study1-$ts.dcm"
	# Implicit VR carries no VR: private elements come back as UN, so
	# compare their bytes (the JSON InlineBinary) rather than their text.
	keep='^ *\([0-9a-f]{3}[02468ace],'
	$PV dump --no-meta "$out/out/back-$ts.dcm" | grep -E "$keep" > "$out/out/back-$ts.txt"
	$PV dump --no-meta "$out/in/study1.dcm" | grep -E "$keep" > "$out/out/orig.txt"
	if cmp -s "$out/out/orig.txt" "$out/out/back-$ts.txt"; then same="every standard value survives"; else same="VALUES CHANGED"; fi
	printf '   %-12s %7s bytes  %s; back to explicit-le: %s\n' "$ts" \
		"$(wc -c < "$out/out/study1-$ts.dcm")" "$verdict" "$same"
done

say "8. A malformed file: a clear error with file, byte offset and tag path, no value"
head -c 700 "$out/in/study2.dcm" > "$out/out/truncated.dcm"
$PV dump "$out/out/truncated.dcm" 2>&1 >/dev/null | sed 's/^/   /' || true

echo
echo "Files are in $out/. Next: 'make test' runs every test."
