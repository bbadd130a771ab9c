#!/bin/sh
# check-layers.sh [ROOT]: fails when a module includes a higher layer.
#
# Layers (DESIGN.md): base 0; crypto, dicom 1; codec 2; deid, store, ledger 3;
# svc 4; net 5; app 6. A module may include its own layer and lower ones,
# except that deid, store and ledger never include each other, and ledger
# includes no DICOM code. OpenSSL headers only in crypto (primitives) and
# net (TLS). Headers under include/pacsvault/MODULE/ count as MODULE.
set -u
root=${1:-.}
fail=0

layer() {
	case "$1" in
	base) echo 0 ;;
	crypto|dicom) echo 1 ;;
	codec) echo 2 ;;
	deid|store|ledger) echo 3 ;;
	svc) echo 4 ;;
	net) echo 5 ;;
	app) echo 6 ;;
	*) echo 99 ;;
	esac
}

check_file() {
	file=$1
	mod=$2
	own=$(layer "$mod")
	if [ "$own" = 99 ]; then
		echo "check-layers: $file: unknown module '$mod'"
		fail=1
		return
	fi
	grep -n '^[[:space:]]*#[[:space:]]*include' "$file" | while IFS= read -r line; do
		n=${line%%:*}
		inc=$(printf '%s' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p')
		case "$inc" in
		pacsvault/*/*)
			dep=$(printf '%s' "$inc" | cut -d/ -f2)
			;;
		../*/*)
			dep=$(printf '%s' "$inc" | cut -d/ -f2)
			;;
		openssl/*)
			case "$mod" in
			crypto|net) ;;
			*) echo "check-layers: $file:$n: OpenSSL outside crypto/net: $inc" ;;
			esac
			continue
			;;
		*)
			continue
			;;
		esac
		dl=$(layer "$dep")
		if [ "$dl" -gt "$own" ]; then
			echo "check-layers: $file:$n: $mod (layer $own) includes $dep (layer $dl): $inc"
		elif [ "$dl" = 3 ] && [ "$own" = 3 ] && [ "$dep" != "$mod" ]; then
			echo "check-layers: $file:$n: $mod must not include $dep (same layer; svc composes them)"
		elif [ "$mod" = ledger ] && [ "$dep" = dicom ]; then
			echo "check-layers: $file:$n: ledger must not include DICOM code"
		elif [ "$own" = 1 ] && [ "$dl" = 1 ] && [ "$dep" != "$mod" ]; then
			echo "check-layers: $file:$n: $mod must not include $dep (same layer)"
		fi
	done
}

out=$(
	for dir in "$root"/src/* "$root"/include/pacsvault/*; do
		[ -d "$dir" ] || continue
		mod=$(basename "$dir")
		for f in "$dir"/*.c "$dir"/*.h; do
			[ -f "$f" ] || continue
			check_file "$f" "$mod"
		done
	done
)
if [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	exit 1
fi
exit $fail
