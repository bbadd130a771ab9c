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
esac
if [ -d "$seeds" ] && [ -z "$(ls -A "$corpus")" ]; then
	find "$seeds" -type f -size -200k ! -name '*.py*' ! -name '*.txt' ! -name '*.json' | \
		while read -r f; do cp "$f" "$corpus/$(echo "$f" | md5sum | cut -c1-16)"; done
fi
exec "build/fuzz/$target" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
	-artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" tests/regress
