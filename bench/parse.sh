#!/bin/sh
# bench/parse.sh: what a hostile peer's data set costs the parser (issue #16):
# `pacsvault scan --no-pixels` (release build; it builds the whole data set)
# of 1, 2, 4, 8 and 16 MB of elements in descending tag order, against pydicom reading the same files (dcmdump is no
# peer here: it inserts each element into a sorted list, quadratic in this
# order, more than 5 minutes for 16 MB); time per MB should stay flat (the
# data set is sorted in O(n log n)). Fastest of RUNS runs.
set -eu
cd "$(dirname "$0")/.."
PV=$PWD/build/pacsvault
RUNS=${RUNS:-3}
d=build/bench/hostile
/usr/bin/python3 tests/e2e/hostile.py "$d" --make > /dev/null
now() { date +%s.%N; }
best() {
	b=""
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(now)
		"$@" > /dev/null 2>&1 || true
		t=$(echo "$(now) - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" -eq 1 ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}
echo
echo "== parse: data sets in descending tag order (fastest of $RUNS runs)"
printf '%-8s %14s %14s %14s\n' size "pacsvault s/MB" "pydicom s/MB" ratio
for mb in 1 2 4 8 16; do
	tp=$(best "$PV" scan -q --no-pixels "$d/desc$mb.dcm")
	td=$(best /usr/bin/python3 -c 'import sys, pydicom; ds = pydicom.dcmread(sys.argv[1]); len(ds)' "$d/desc$mb.dcm")
	printf '%-8s %14.3f %14.3f %13.2fx\n' "$mb MB" "$(echo "$tp / $mb" | bc -l)" "$(echo "$td / $mb" | bc -l)" \
		"$(echo "$tp / $td" | bc -l)"
done
tp=$(best "$PV" dump "$d/delims.dcm")
echo "100,000 stray delimiters: $(printf '%.3f' "$tp") s"
