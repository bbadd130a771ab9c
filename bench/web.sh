#!/bin/sh
# bench/web.sh [CORPUS]: DICOMweb (issue #18) in one run over the same CT
# set (default build/bench/corpus/ct: 1,000 instances, 10 studies of one
# 100-instance series), both servers on loopback in plain HTTP (so that
# the servers, not two TLS stacks, are compared):
#   QIDO-RS: wrk, 1 connection and 16, /studies?PatientID=X, against
#     Orthanc's DICOMweb plugin (Debian orthanc-dicomweb);
#   WADO-RS: one 100-instance series as multipart/related, against
#     Orthanc's plugin and against cat of the same files;
#   STOW-RS: the whole set as one multipart/related POST into a fresh
#     archive (pacsvault: durable before the answer), against Orthanc's.
# Targets (issue #18): QIDO >= 5x Orthanc; WADO-RS and STOW-RS >= 2x its
# throughput; WADO-RS >= 50% of cat. Printed as ratios; nothing asserts.
set -eu
cd "$(dirname "$0")/.."
PV=${PV:-build/pacsvault}
corpus=${1:-build/bench/corpus/ct}
w=build/bench/web
rm -rf "$w"
mkdir -p "$w"
now() { date +%s.%N; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for t in wrk curl Orthanc; do
	command -v "$t" > /dev/null || { echo "bench/web.sh: $t is missing (scripts/install-deps.sh)"; exit 0; }
done
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[ -f "$plugin" ] || { echo "bench/web.sh: orthanc-dicomweb is missing (scripts/install-deps.sh)"; exit 0; }
find "$corpus" -name '*.dcm' | sort > "$w/files"
n=$(wc -l < "$w/files")
first=$(head -1 "$w/files")
pid1=$(dcmdump +P PatientID "$first" | head -1 | sed 's/.*\[\(.*\)\].*/\1/')
study=$(dcmdump +P StudyInstanceUID "$first" | head -1 | sed 's/.*\[\(.*\)\].*/\1/')
series=$(dcmdump +P SeriesInstanceUID "$first" | head -1 | sed 's/.*\[\(.*\)\].*/\1/')
# the series' files (for cat), and one multipart body of every file (for STOW)
/usr/bin/python3 - "$w/files" "$series" > "$w/series-files" <<'EOF'
import sys, pydicom
for f in open(sys.argv[1]).read().split():
    if str(pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID) == sys.argv[2]:
        print(f)
EOF
/usr/bin/python3 - "$w/files" "$w/stow.body" <<'EOF'
import sys
with open(sys.argv[2], "wb") as out:
    for f in open(sys.argv[1]).read().split():
        out.write(b"--pvbench\r\nContent-Type: application/dicom\r\n\r\n" + open(f, "rb").read() + b"\r\n")
    out.write(b"--pvbench--\r\n")
EOF
cat $(cat "$w/files") > /dev/null
mb_series=$(echo "$(cat $(cat "$w/series-files") | wc -c) / 1048576" | bc -l)
mb_all=$(echo "$(du -cb $(cat "$w/files") | tail -1 | cut -f1) / 1048576" | bc -l)
ns=$(wc -l < "$w/series-files")

# --- pacsvault
pv_start() { # the vault (fresh or not), a token in $tok, serve on $pport
	pport=$(free_port)
	printf '[server]\nhttp = 127.0.0.1:%s\nmax_associations = 64\nmax_associations_per_address = 64\n' "$pport" \
		> "$w/serve.ini"
	$PV serve --config "$w/serve.ini" --vault "$w/v" --master-key "$w/master.key" 2> "$w/serve.log" &
	spid=$!
	i=0
	until grep -q "listening on" "$w/serve.log" 2>/dev/null; do
		i=$((i + 1)); [ "$i" -gt 400 ] && { echo "bench: serve did not start" >&2; cat "$w/serve.log" >&2; exit 1; }
		sleep 0.05
	done
}
pv_init() {
	rm -rf "$w/v" "$w/master.key"
	$PV keygen --type master -o "$w/master.key" > /dev/null
	$PV vault init "$w/v" --master-key "$w/master.key" > /dev/null
	echo bench-pass | $PV user add bench --role clinician --password-stdin --vault "$w/v" --master-key "$w/master.key" 2> /dev/null
	tok=$($PV token issue bench --vault "$w/v" --master-key "$w/master.key" 2> /dev/null)
}
pv_stop() { kill "$spid"; wait "$spid" 2> /dev/null || true; }

# --- Orthanc with its DICOMweb plugin
orthanc_start() {
	od="$w/orthanc"
	rm -rf "$od"; mkdir -p "$od/db"
	oport=$(free_port); odicom=$(free_port)
	cat > "$od/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$PWD/$od/db", "IndexDirectory": "$PWD/$od/db",
  "HttpPort": $oport, "DicomPort": $odicom, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "StorageCompression": false, "Plugins": [ "$plugin" ], "ConcurrentJobs": 2, "SyncStorageArea": true,
  "HttpThreadsCount": 16, "KeepAlive": true,
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/", "EnableWado": false, "StudiesMetadata": "Full",
    "SeriesMetadata": "Full" } }
EOF
	Orthanc "$od/orthanc.json" > "$od/log" 2>&1 &
	opid=$!
	i=0
	until curl -sf "http://127.0.0.1:$oport/system" > /dev/null 2>&1; do
		i=$((i + 1)); [ "$i" -gt 400 ] && { echo "bench: Orthanc did not start" >&2; tail -5 "$od/log" >&2; exit 1; }
		sleep 0.05
	done
}
orthanc_stop() { kill "$opid"; wait "$opid" 2> /dev/null || true; }

stow_t() { # URL [TOKEN] -> seconds
	t0=$(now)
	if [ -n "${2:-}" ]; then
		code=$(curl -s -o "$w/stow.ans" -w '%{http_code}' -X POST -H "Authorization: Bearer $2" \
			-H 'Content-Type: multipart/related; type="application/dicom"; boundary=pvbench' --data-binary @"$w/stow.body" "$1")
	else
		code=$(curl -s -o "$w/stow.ans" -w '%{http_code}' -X POST \
			-H 'Content-Type: multipart/related; type="application/dicom"; boundary=pvbench' --data-binary @"$w/stow.body" "$1")
	fi
	t1=$(now)
	[ "$code" = 200 ] || echo "bench: STOW to $1 answered $code" >&2
	echo "$t1 - $t0" | bc -l
}

# STOW into fresh archives (then both hold the set for QIDO and WADO)
pv_init
pv_start
t_stow_pv=$(stow_t "http://127.0.0.1:$pport/dicomweb/studies" "$tok")
orthanc_start
t_stow_or=$(stow_t "http://127.0.0.1:$oport/dicom-web/studies")

# --- QIDO with wrk: requests/s and mean latency
qido() { # NAME URL CONNS [TOKEN]
	if [ -n "${4:-}" ]; then
		wrk -t"$([ "$3" = 1 ] && echo 1 || echo 2)" -c"$3" -d5s -H "Authorization: Bearer $4" "$2" > "$w/wrk.out" 2>&1
	else
		wrk -t"$([ "$3" = 1 ] && echo 1 || echo 2)" -c"$3" -d5s "$2" > "$w/wrk.out" 2>&1
	fi
	rps=$(awk '/Requests\/sec/ {print $2}' "$w/wrk.out")
	lat=$(awk '/Latency/ {print $2}' "$w/wrk.out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$w/wrk.out")
	[ -z "$non2xx" ] || echo "bench: $1: $non2xx answers were not 2xx" >&2
	echo "$rps $lat"
}
echo "== web: DICOMweb on loopback (plain HTTP), $n CT instances"
for c in 1 16; do
	set -- $(qido pacsvault "http://127.0.0.1:$pport/dicomweb/studies?PatientID=$pid1" $c "$tok"); a_rps=$1; a_lat=$2
	set -- $(qido Orthanc "http://127.0.0.1:$oport/dicom-web/studies?PatientID=$pid1" $c); b_rps=$1; b_lat=$2
	printf 'QIDO-RS /studies?PatientID, %2d connection(s): pacsvault %8.0f req/s (mean %s), Orthanc %8.0f req/s (mean %s): %.2fx\n' \
		"$c" "$a_rps" "$a_lat" "$b_rps" "$b_lat" "$(echo "$a_rps / $b_rps" | bc -l)"
done

# --- WADO-RS of one series, best of 3
wado_t() { # URL [TOKEN]
	b=""
	for i in 1 2 3; do
		t0=$(now)
		if [ -n "${2:-}" ]; then
			curl -s -o "$w/wado.out" -H "Authorization: Bearer $2" -H 'Accept: multipart/related; type="application/dicom"' "$1"
		else
			curl -s -o "$w/wado.out" -H 'Accept: multipart/related; type="application/dicom"' "$1"
		fi
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
t_wado_pv=$(wado_t "http://127.0.0.1:$pport/dicomweb/studies/$study/series/$series" "$tok")
sz_pv=$(wc -c < "$w/wado.out")
t_wado_or=$(wado_t "http://127.0.0.1:$oport/dicom-web/studies/$study/series/$series")
sz_or=$(wc -c < "$w/wado.out")
t0=$(now); cat $(cat "$w/series-files") > /dev/null; t1=$(now); t_cat=$(echo "$t1 - $t0" | bc -l)
rate() { printf '%-44s %8.3f s %8.1f MB/s\n' "$1" "$2" "$(echo "$3 / $2" | bc -l)"; }
echo
echo "WADO-RS of one series ($ns instances, $(printf '%.0f' "$mb_series") MiB; answers of $sz_pv and $sz_or bytes):"
rate "pacsvault (decrypt, verify, multipart)" "$t_wado_pv" "$mb_series"
rate "Orthanc DICOMweb plugin" "$t_wado_or" "$mb_series"
rate "cat of the files (warm cache)" "$t_cat" "$mb_series"
printf 'WADO-RS: %.2fx Orthanc (target 2x), %.0f%% of cat (target 50%%)\n' "$(echo "$t_wado_or / $t_wado_pv" | bc -l)" \
	"$(echo "100 * $t_cat / $t_wado_pv" | bc -l)"
echo
echo "STOW-RS of the whole set ($n instances, $(printf '%.0f' "$mb_all") MiB, one request):"
rate "pacsvault (sealed, synced, indexed, audited)" "$t_stow_pv" "$mb_all"
rate "Orthanc DICOMweb plugin (SyncStorageArea)" "$t_stow_or" "$mb_all"
printf 'STOW-RS: %.2fx Orthanc (target 2x)\n' "$(echo "$t_stow_or / $t_stow_pv" | bc -l)"
orthanc_stop
pv_stop
rm -rf "$w/v" "$w/orthanc" "$w/stow.body" "$w/wado.out"
