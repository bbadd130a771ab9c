#!/bin/sh
# bench/vault.sh [CORPUS]: the encrypted vault (issue #5), in one run over
# the same CT series (default build/bench/corpus/ct: 1,000 512x512
# instances) with a warm cache:
#   import: pacsvault import (sealing, fsync, index, audit) against Orthanc
#     (started here on loopback, fresh storage: uploaded by its REST API over
#     one keep-alive connection, and by dcmtk's storescu on one association)
#     and against cp -r (with and without a final sync);
#   get: pacsvault get of every study to a folder (verified, atomic, left to
#     writeback as cp leaves its copies; and get --sync, durable, against
#     cp -r + sync) against cat of the files to /dev/null;
#   find: STUDY by Patient ID on an index of 1,000,000 synthetic instances
#     (in process: median and p99 of 1,000 queries; and a whole `pacsvault
#     find` process, with its audit event).
# Targets (issue #5): import >= 3x Orthanc and >= 50% of cp; get >= 70% of
# cat; find by patient ID under 5 ms at 1M instances. Printed as ratios;
# nothing asserts on them.
set -eu
# dcmtk (storescu, and Orthanc built on it) turns Nagle off only with TCP_NODELAY set: without it each
# PDU exchange can wait for a delayed ACK (40 ms), which made the storescu line unfair to Orthanc
export TCP_NODELAY=1
cd "$(dirname "$0")/.."
PV=${PV:-build/pacsvault}
corpus=${1:-build/bench/corpus/ct}
N_FIND=${N_FIND:-1000000}
w=build/bench/vault
rm -rf "$w"
mkdir -p "$w"
now() { date +%s.%N; }
n=$(find "$corpus" -name '*.dcm' | wc -l)
bytes=$(du -sb "$corpus" | cut -f1)
mb=$(echo "$bytes / 1048576" | bc -l)
find "$corpus" -name '*.dcm' -print0 | xargs -0 cat > /dev/null

rate() { # NAME SECONDS
	printf '%-34s %8.2f s %9.0f inst/s %8.1f MB/s\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$(echo "$mb / $2" | bc -l)"
}

# --- import
$PV keygen --type master -o "$w/master.key" > /dev/null
$PV vault init "$w/v" --master-key "$w/master.key" > /dev/null
sync
t0=$(now); $PV import -q --vault "$w/v" --master-key "$w/master.key" "$corpus"; t1=$(now)
t_imp=$(echo "$t1 - $t0" | bc -l)
t0=$(now); cp -r "$corpus" "$w/cp"; t1=$(now)
t_cp=$(echo "$t1 - $t0" | bc -l)
rm -rf "$w/cp2"; sync
t0=$(now); cp -r "$corpus" "$w/cp2"; sync; t1=$(now)
t_cps=$(echo "$t1 - $t0" | bc -l)

# Orthanc on loopback, fresh storage each time; SyncStorageArea (fsync) as it ships.
orthanc() { # MODE: rest | storescu
	od="$w/orthanc-$1"
	rm -rf "$od"
	mkdir -p "$od/db"
	cat > "$od/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$PWD/$od/db", "IndexDirectory": "$PWD/$od/db",
  "HttpPort": 18042, "DicomPort": 14242, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "HttpServerEnabled": true, "DicomServerEnabled": true,
  "StorageCompression": false, "Plugins": [], "ConcurrentJobs": 2, "HttpThreadsCount": 8,
  "DicomCheckCalledAet": false, "UnknownSopClassAccepted": true, "SyncStorageArea": true }
EOF
	Orthanc "$od/orthanc.json" > "$od/log" 2>&1 &
	opid=$!
	i=0
	until curl -sf http://127.0.0.1:18042/system > /dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -gt 200 ] && { echo "bench: Orthanc did not start" >&2; kill "$opid"; return 1; }
		sleep 0.05
	done
	t0=$(now)
	if [ "$1" = rest ]; then
		/usr/bin/python3 bench/orthanc_upload.py 18042 "$corpus"
	else
		find "$corpus" -name '*.dcm' -print0 | sort -z | xargs -0 storescu -q -aec ORTHANC 127.0.0.1 14242
	fi
	t1=$(now)
	got=$(curl -s http://127.0.0.1:18042/statistics | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])')
	kill "$opid"; wait "$opid" 2>/dev/null || true
	[ "$got" = "$n" ] || echo "bench: Orthanc ($1) holds $got of $n instances" >&2
	echo "$t1 - $t0" | bc -l
}
t_orest=$(orthanc rest)
t_oscu=$(orthanc storescu)

echo
echo "== vault import: $n CT instances, $(printf '%.0f' "$mb") MiB"
rate "pacsvault import (sealed, fsync)" "$t_imp"
rate "Orthanc, REST upload" "$t_orest"
rate "Orthanc, storescu" "$t_oscu"
rate "cp -r" "$t_cp"
rate "cp -r + sync" "$t_cps"
printf 'import vs Orthanc REST: %.2fx, vs Orthanc storescu: %.2fx, %% of cp -r: %.0f%%, %% of cp -r + sync: %.0f%%\n' \
	"$(echo "$t_orest / $t_imp" | bc -l)" "$(echo "$t_oscu / $t_imp" | bc -l)" \
	"$(echo "100 * $t_cp / $t_imp" | bc -l)" "$(echo "100 * $t_cps / $t_imp" | bc -l)"

# --- get
studies=$($PV find --vault "$w/v" --master-key "$w/master.key" --json | /usr/bin/python3 -c '
import json, sys
print(" ".join(r["StudyInstanceUID"] for r in json.load(sys.stdin)))')
# get_all DIR [OPTION]: seconds to get every study into DIR/<study>
get_all() {
	sync
	t0=$(now)
	for s in $studies; do
		$PV get ${2:-} --vault "$w/v" --master-key "$w/master.key" "$s" -o "$1/$s" 2> /dev/null
	done
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
# min A B: the smaller of two times
min() { if [ "$(echo "$1 < $2" | bc -l)" = 1 ]; then echo "$1"; else echo "$2"; fi; }
# Each get and cat is run twice and the faster run counts: single runs here
# vary by 2x with the page cache and the disk's background work.
t_get=$(get_all "$w/get")
got=$(find "$w/get" -name '*.dcm' | wc -l)
t_get=$(min "$t_get" "$(get_all "$w/get2")")
t_gets=$(get_all "$w/gets" --sync)
t_gets=$(min "$t_gets" "$(get_all "$w/gets2" --sync)")
rm -rf "$w/get2" "$w/gets" "$w/gets2"
t_cat=""
for k in 1 2; do
	t0=$(now); find "$corpus" -name '*.dcm' -print0 | xargs -0 cat > /dev/null; t1=$(now)
	t=$(echo "$t1 - $t0" | bc -l)
	if [ -z "$t_cat" ]; then t_cat=$t; else t_cat=$(min "$t_cat" "$t"); fi
done
rm -rf "$w/cp3"
t0=$(now); cp -r "$corpus" "$w/cp3"; sync; t1=$(now)
t_cp3=$(echo "$t1 - $t0" | bc -l)
echo
echo "== vault get: $got instances (every study to a folder, verified; one get process per study)"
rate "pacsvault get" "$t_get"
rate "cat > /dev/null" "$t_cat"
rate "pacsvault get --sync (durable)" "$t_gets"
rate "cp -r + sync" "$t_cp3"
printf 'get: %.0f%% of cat; get --sync: %.0f%% of cp -r + sync\n' "$(echo "100 * $t_cat / $t_get" | bc -l)" \
	"$(echo "100 * $t_cp3 / $t_gets" | bc -l)"

# --- find at 1M instances
$PV vault init "$w/big" > /dev/null
echo
echo "== vault find: an index of $N_FIND synthetic instances (4 studies of 100 per patient)"
$PV __vault-bench fill "$w/big" "$N_FIND" | sed 's/^/   /'
$PV __vault-bench find "$w/big" 1000 "$((N_FIND / 400))" | sed 's/^/   /'
t0=$(now)
for i in 1 2 3 4 5 6 7 8 9 10; do
	$PV find --vault "$w/big" "PatientID=BENCH0000$((i * 37))" > /dev/null
done
t1=$(now)
printf '   a whole `pacsvault find PatientID=...` process (open, query, audit event, exit): %.1f ms\n' \
	"$(echo "($t1 - $t0) * 100" | bc -l)"
echo "   index.db: $(du -sh "$w/big/index.db" | cut -f1)"
rm -rf "$w/big" "$w/cp" "$w/cp2" "$w/cp3" "$w/get" "$w"/orthanc-*
