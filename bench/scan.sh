#!/bin/sh
# bench/scan.sh: `pacsvault scan` (no pixels; the text detection without
# OCR) against cat and a pydicom script that visits every element
# (bench/pywalk.py), on the corpus sets of bench/run.sh; then the OCR time
# per image (20 CT images, one OCR process each). Fastest of RUNS runs,
# warm cache. Target (issue #4): scan without OCR at least 50% of cat's rate.
set -eu
cd "$(dirname "$0")/.."
PV=build/pacsvault
RUNS=${RUNS:-3}
corpus=build/bench/corpus
now() { date +%s.%N; }
best() {
	b=""
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(now)
		"$@" > /dev/null 2>&1 || true
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}
for set_name in ct small; do
	dir=$corpus/$set_name
	n=$(find "$dir" -name '*.dcm' | wc -l)
	bytes=$(du -sb "$dir" | cut -f1)
	find "$dir" -name '*.dcm' -print0 | xargs -0 cat > /dev/null
	t_scan=$(best "$PV" scan -q --no-pixels "$dir")
	t_pix=$(best "$PV" scan -q --no-ocr "$dir")
	t_cat=$(best sh -c "find '$dir' -name '*.dcm' -print0 | xargs -0 cat")
	t_py=$(best sh -c "find '$dir' -name '*.dcm' -print0 | xargs -0 /usr/bin/python3 bench/pywalk.py")
	echo
	echo "== scan: $set_name: $n files, $((bytes / 1048576)) MiB"
	printf '%-28s %8s %10s %8s %s\n' tool seconds files/s MB/s "rate vs cat"
	for row in "pacsvault scan --no-pixels:$t_scan" "scan, text detection:$t_pix" \
	    "pydicom, every element:$t_py" "cat:$t_cat"; do
		name=${row%%:*}
		t=${row#*:}
		[ "$(echo "$t < 0.001" | bc -l)" = 1 ] && t=0.001
		printf '%-28s %8.3f %10.0f %8.1f %8.0f%%\n' "$name" "$t" "$(echo "$n / $t" | bc -l)" \
			"$(echo "$bytes / 1048576 / $t" | bc -l)" "$(echo "100 * $t_cat / $t" | bc -l)"
	done
done

# OCR: time per image (the helper is started for each).
ocrset=build/bench/ocr20
rm -rf "$ocrset"
mkdir -p "$ocrset"
find "$corpus/ct" -name '*.dcm' | sort | head -20 | while read -r f; do cp "$f" "$ocrset/"; done
t_ocr=$(best "$PV" scan -q --jobs 1 "$ocrset")
t_nocr=$(best "$PV" scan -q --jobs 1 --no-ocr "$ocrset")
echo
printf 'OCR (Tesseract in pacsvault-ocr, one core): %.0f ms per 512x512 image (scan of 20 images %.2f s, %.2f s without OCR)\n' \
	"$(echo "($t_ocr - $t_nocr) * 1000 / 20" | bc -l)" "$t_ocr" "$t_nocr"
