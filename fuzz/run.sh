#!/bin/sh
# fuzz/run.sh TARGET [SECONDS]: runs a libFuzzer target seeded with
# python3-pydicom's test files and tests/regress/, writing new crashers to
# build/fuzz/crash-TARGET/ (copy each, once fixed, into tests/regress/).
set -eu
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
secs=${2:-600}
cd "$(dirname "$0")/.."
corpus=build/fuzz/corpus-$target
crashes=build/fuzz/crash-$target
mkdir -p "$corpus" "$crashes"
seeds=/usr/lib/python3/dist-packages/pydicom/data
case "$target" in
fuzz_rle|fuzz_jpegll|fuzz_jpeg|fuzz_jpegls|fuzz_j2k)
	[ -z "$(ls -A "$corpus")" ] && /usr/bin/python3 fuzz/codec_seeds.py "$target" "$corpus"
	;;
fuzz_pixrules)
	[ -z "$(ls -A "$corpus")" ] && cp tests/regress/pixrules-sample.txt "$corpus/"
	;;
fuzz_note)
	if [ -z "$(ls -A "$corpus")" ]; then
		# the notes and checkpoint bodies of the test vectors, one per file
		/usr/bin/python3 -c '
import sys
for i, name in enumerate(("tests/vectors/note_open.tsv", "tests/vectors/checkpoint_parse.tsv")):
    for k, line in enumerate(open(name)):
        if line.startswith("#"):
            continue
        f = line.split("\t")
        hexs = f[2] if i == 0 else f[1]
        if hexs != "-":
            open("%s/seed-%d-%d" % (sys.argv[1], i, k), "wb").write(bytes.fromhex(hexs))
' "$corpus"
	fi
	;;
esac
case "$target" in
fuzz_scan)
	[ -d build/demo/in ] && cp build/demo/in/*.dcm build/demo/us/*.dcm "$corpus/" 2>/dev/null || true
	;;
esac
if [ -d "$seeds" ] && [ -z "$(ls -A "$corpus")" ]; then
	find "$seeds" -type f -size -200k ! -name '*.py*' ! -name '*.txt' ! -name '*.json' | \
		while read -r f; do cp "$f" "$corpus/$(echo "$f" | md5sum | cut -c1-16)"; done
fi
exec "build/fuzz/$target" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
	-artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" tests/regress
