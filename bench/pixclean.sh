#!/bin/sh
# bench/pixclean.sh [N]: pixel cleaning cost. N ultrasound images (320x240,
# 8-bit, a name and ID burned into the banner, one region) in each
# transfer syntax the cleaner handles; times `pacsvault deid
# --clean-pixel-data` (the built-in regions rule; all cores) per syntax,
# against cp -r of the same files and, for uncompressed data, against a
# pydicom script that blanks the same area (bench/pyblank.py).
set -eu
cd "$(dirname "$0")/.."
n=${1:-200}
PV=$PWD/build/pacsvault
root=build/bench/pix
work=$root/work
rm -rf "$root"
mkdir -p "$root/native" "$work"
/usr/bin/python3 scripts/synth.py usbench "$root/native" "$n" 2>/dev/null
for v in "rle:dcmcrle" "jpll:dcmcjpeg +e1" "jpeg:dcmcjpeg +eb" "jpls:dcmcjpls" "j2k:gdcmconv --j2k"; do
	name=${v%%:*}
	cmd=${v#*:}
	mkdir -p "$root/$name"
	for f in "$root"/native/*.dcm; do
		# shellcheck disable=SC2086
		$cmd "$f" "$root/$name/$(basename "$f")" > /dev/null 2>&1
	done
done
[ -f build/bench/project.key ] || "$PV" keygen -o build/bench/project.key > /dev/null

measure() {
	name=$1
	shift
	sync
	/usr/bin/time -f "%e %U %S" -o "$work/time.txt" "$@" > /dev/null 2>&1 || true
	t=$(tail -1 "$work/time.txt")
	eval "${name}_wall=$(echo "$t" | cut -d' ' -f1)"
	eval "${name}_cpu=$(echo "$t" | awk '{print $2 + $3}')"
}

echo
echo "== pixel cleaning: $n ultrasound images per transfer syntax (deid --clean-pixel-data, all cores)"
printf '%-22s %8s %10s %14s %s\n' "syntax" seconds files/s "CPU ms/file" "time vs cp -r"
measure cp cp -r "$root/native" "$work/cp"
[ "$(echo "$cp_wall < 0.001" | bc -l)" = 1 ] && cp_wall=0.001
for v in native rle jpll jpeg jpls j2k; do
	rm -rf "$work/out"
	measure pv "$PV" deid -q --key build/bench/project.key --clean-pixel-data "$root/$v" -o "$work/out"
	got=$(find "$work/out" -name '*.dcm' | wc -l)
	[ "$(echo "$pv_wall < 0.001" | bc -l)" = 1 ] && pv_wall=0.001
	printf '%-22s %8.2f %10.0f %14.2f %8.2fx   (%s of %s written)\n' "$v" "$pv_wall" \
		"$(echo "$n / $pv_wall" | bc -l)" "$(echo "$pv_cpu * 1000 / $n" | bc -l)" \
		"$(echo "$pv_wall / $cp_wall" | bc -l)" "$got" "$n"
done
measure py /usr/bin/python3 bench/pyblank.py "$root/native" "$work/py"
printf '%-22s %8.2f %10.0f %14.2f %8.2fx\n' "pydicom (native)" "$py_wall" "$(echo "$n / $py_wall" | bc -l)" \
	"$(echo "$py_cpu * 1000 / $n" | bc -l)" "$(echo "$py_wall / $cp_wall" | bc -l)"
printf '%-22s %8.2f %10.0f %14.2f %8.2fx\n' "cp -r (native)" "$cp_wall" "$(echo "$n / $cp_wall" | bc -l)" \
	"$(echo "$cp_cpu * 1000 / $n" | bc -l)" 1
rm -rf "$work"
