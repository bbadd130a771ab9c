#!/bin/sh
# check-layers.sh [ROOT]: fails when a module includes a higher layer.
#
# Layers (DESIGN.md): base 0; crypto, dicom 1; codec 2; deid, store, ledger 3;
# svc 4; net 5; app 6. A module may include its own layer and lower ones,
# except that deid, store and ledger never include each other, and ledger
# includes no DICOM code. OpenSSL headers only in crypto (primitives) and
# net (TLS). Headers under include/pacsvault/MODULE/ count as MODULE.
#
# The front ends reach the archive only through svc (issue #16):
#   - src/net/*.c, src/app/cmd_serve.c (serve, user) and src/app/cmd_vault.c
#     (import, find, get, rm, export,
#     vault *, ledger show: the archive's front ends) include no store,
#     deid or ledger header;
#   - every other src/app file includes no store header (the file tools:
#     deid, scan, risk, dump, convert on the user's files, ledger verify and
#     witness on a ledger folder, never open a vault), except devbench.c,
#     `make bench`'s harness that times the store itself.
# With PV_LAYERS_OBJ=DIR (the objects of a build, as tests/run.sh gives),
# the same is checked on the symbols the front ends' objects call: no
# vault_, store_, lg_, deid_, pix* function but the pure helpers that name
# or format (allowed below); the other app objects call no vault_ or
# store_ function.
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

# front_file FILE: 1 for an archive front end, 2 for another app file, 0 otherwise.
front_kind() {
	case "$1" in
	*/src/net/*.c|*/src/app/cmd_vault.c|*/src/app/cmd_serve.c) echo 1 ;;
	*/src/app/devbench.c|*/src/app/ocr_helper.c) echo 0 ;;
	*/src/app/*.c) echo 2 ;;
	*) echo 0 ;;
	esac
}

check_front() {
	file=$1
	kind=$(front_kind "$file")
	[ "$kind" = 0 ] && return
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"pacsvault/\(store\|deid\|ledger\)/' "$file" |
	while IFS= read -r line; do
		n=${line%%:*}
		inc=$(printf '%s' "$line" | sed -n 's/.*"\(pacsvault\/[^"]*\)".*/\1/p')
		case "$inc" in
		pacsvault/store/*)
			echo "check-layers: $file:$n: a front end reaches the store only through svc: $inc" ;;
		*)
			[ "$kind" = 1 ] && echo "check-layers: $file:$n: an archive front end reaches deid and ledger only through svc: $inc" ;;
		esac
	done
	[ -n "${PV_LAYERS_OBJ:-}" ] || return
	rel=${file#"$root"/}
	obj="$PV_LAYERS_OBJ/${rel%.c}.o"
	if [ ! -f "$obj" ]; then
		echo "check-layers: $obj: not built (PV_LAYERS_OBJ=$PV_LAYERS_OBJ)"
		return
	fi
	if [ "$kind" = 1 ]; then
		pat='^(vault|store|lg|deid|pix[a-z]*|index|idx)_'
	else
		pat='^(vault|store)_'
	fi
	nm -u "$obj" | awk '{print $NF}' | grep -E "$pat" |
	    grep -v -x -E 'lg_event_name|lg_event_time|lg_event_time_parse|vault_status_name' |
	while IFS= read -r sym; do
		echo "check-layers: $rel: calls $sym: a front end reaches the archive only through svc"
	done
}

out=$(
	for f in "$root"/src/app/*.c "$root"/src/net/*.c; do
		[ -f "$f" ] || continue
		check_front "$f"
	done
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
