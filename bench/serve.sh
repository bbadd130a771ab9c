#!/bin/sh
# bench/serve.sh [CORPUS]: the DIMSE server (issue #17), in one run over the
# same CT series (default build/bench/corpus/ct), everything on loopback
# over TLS with client certificates, clients with TCP_NODELAY (dcmtk's
# default):
#   C-STORE: dcmtk storescu +tls with 1 and with 4 associations into
#     pacsvault serve (sealed, fsync, index, audit: durable before each
#     C-STORE-RSP), into Orthanc (DICOM TLS, its storage synced as it
#     ships) and into dcmtk storescp +tls (files, no fsync);
#   C-FIND: findscu +tls latency (a whole findscu process: TLS handshake,
#     association, query) for PatientID exact, PatientName with a trailing
#     wildcard and a StudyDate range, against Orthanc, median of RUNS;
#   C-GET: getscu of the whole study through one stunnel each (getscu has
#     no TLS), against Orthanc.
# Targets (issue #17): 4-association durable ingest >= 3x Orthanc and >=
# storescp +tls; C-FIND >= 5x faster than Orthanc; C-GET >= 3x Orthanc.
# Printed as ratios; nothing asserts on them.
set -eu
cd "$(dirname "$0")/.."
# dcmtk (storescu, findscu, getscu, storescp, and Orthanc, built on it) turns Nagle's algorithm off only
# when TCP_NODELAY is set; without it every PDU exchange can wait for a delayed ACK (40 ms)
export TCP_NODELAY=1
PV=${PV:-build/pacsvault}
corpus=${1:-build/bench/corpus/ct}
RUNS=${RUNS:-15}
w=build/bench/serve
rm -rf "$w"
mkdir -p "$w/pki"
now() { date +%s.%N; }
n=$(find "$corpus" -name '*.dcm' | wc -l)
mb=$(echo "$(du -sb "$corpus" | cut -f1) / 1048576" | bc -l)
find "$corpus" -name '*.dcm' | sort > "$w/files"
split -n l/4 "$w/files" "$w/part."
cat $(cat "$w/files") > /dev/null
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PKI: a CA, a server certificate for 127.0.0.1 (also the destinations'), a client certificate.
p=$w/pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
	-keyout $p/ca.key -out $p/ca.crt 2>/dev/null
for name in server client; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" -keyout $p/$name.key \
		-out $p/$name.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' > $p/$name.ext
	openssl x509 -req -in $p/$name.csr -CA $p/ca.crt -CAkey $p/ca.key -CAcreateserial -days 2 \
		-out $p/$name.crt -extfile $p/$name.ext 2>/dev/null
done
chmod 600 $p/*.key
TLS="+tls $p/client.key $p/client.crt +cf $p/ca.crt"

# store AET PORT N: seconds for storescu with N associations (N parallel processes, a quarter each)
store() {
	t0=$(now)
	if [ "$3" = 1 ]; then
		xargs storescu -q $TLS -aec "$1" 127.0.0.1 "$2" < "$w/files"
	else
		for f in "$w"/part.*; do
			xargs storescu -q $TLS -aec "$1" 127.0.0.1 "$2" < "$f" &
		done
		wait
	fi
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

# --- pacsvault serve
pv_start() {
	rm -rf "$w/v"
	rm -f "$w/master.key"
	$PV keygen --type master -o "$w/master.key" > /dev/null
	$PV vault init "$w/v" --master-key "$w/master.key" > /dev/null
	$PV user add bench --role clinician --cert $p/client.crt --vault "$w/v" --master-key "$w/master.key" 2> /dev/null
	pport=$(free_port)
	printf '[server]\nae_title = PACSVAULT\ndimse = 127.0.0.1:%s\ntls_cert = pki/server.crt\ntls_key = pki/server.key\nanonymous = none\n' \
		"$pport" > "$w/serve.ini"
	$PV serve --config "$w/serve.ini" --vault "$w/v" --master-key "$w/master.key" 2> "$w/serve.log" &
	spid=$!
	i=0
	until grep -q "listening on" "$w/serve.log" 2>/dev/null; do
		i=$((i + 1)); [ "$i" -gt 400 ] && { echo "bench: serve did not start" >&2; cat "$w/serve.log" >&2; exit 1; }
		sleep 0.05
	done
}
pv_stop() { kill "$spid"; wait "$spid" 2>/dev/null || true; }
pv_start
t_pv1=$(store PACSVAULT "$pport" 1)
got=$($PV find --vault "$w/v" --master-key "$w/master.key" --level IMAGE SOPInstanceUID= 2>/dev/null | wc -l)
[ "$got" = "$n" ] || echo "bench: pacsvault holds $got of $n instances after 1 association" >&2
pv_stop
pv_start
t_pv4=$(store PACSVAULT "$pport" 4)
got=$($PV find --vault "$w/v" --master-key "$w/master.key" --level IMAGE SOPInstanceUID= 2>/dev/null | wc -l)
[ "$got" = "$n" ] || echo "bench: pacsvault holds $got of $n instances after 4 associations" >&2
# (left running for C-FIND and C-GET)

# --- storescp +tls writing files, no fsync
scp_run() { # N
	rm -rf "$w/scp"; mkdir -p "$w/scp"
	sport=$(free_port)
	storescp +tls $p/server.key $p/server.crt +cf $p/ca.crt -od "$w/scp" -aet STORESCP "$sport" &
	scpid=$!
	sleep 0.5
	t=$(store STORESCP "$sport" "$1")
	kill "$scpid"; wait "$scpid" 2>/dev/null || true
	echo "$t"
}
t_scp1=$(scp_run 1)
t_scp4=$(scp_run 4)

# --- Orthanc with DICOM TLS
oport=$(free_port)
ohttp=$(free_port)
orthanc_start() {
	od="$w/orthanc"
	rm -rf "$od"; mkdir -p "$od/db"
	cat > "$od/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$PWD/$od/db", "IndexDirectory": "$PWD/$od/db",
  "HttpPort": $ohttp, "DicomPort": $oport, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "HttpServerEnabled": true, "DicomServerEnabled": true,
  "StorageCompression": false, "Plugins": [], "ConcurrentJobs": 2,
  "DicomCheckCalledAet": false, "UnknownSopClassAccepted": true, "SyncStorageArea": true,
  "DicomTlsEnabled": true, "DicomTlsCertificate": "$PWD/$p/server.crt", "DicomTlsPrivateKey": "$PWD/$p/server.key",
  "DicomTlsTrustedCertificates": "$PWD/$p/ca.crt", "DicomTlsRemoteCertificateRequired": true,
  "DicomAlwaysAllowStore": true, "DicomAlwaysAllowFind": true, "DicomAlwaysAllowGet": true,
  "DicomModalities": {} }
EOF
	Orthanc "$od/orthanc.json" > "$od/log" 2>&1 &
	opid=$!
	i=0
	until curl -sf "http://127.0.0.1:$ohttp/system" > /dev/null 2>&1; do
		i=$((i + 1)); [ "$i" -gt 400 ] && { echo "bench: Orthanc did not start" >&2; tail -5 "$od/log" >&2; return 1; }
		sleep 0.05
	done
}
orthanc_count() { curl -s "http://127.0.0.1:$ohttp/statistics" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'; }
orthanc_start
t_or1=$(store ORTHANC "$oport" 1)
[ "$(orthanc_count)" = "$n" ] || echo "bench: Orthanc holds $(orthanc_count) of $n after 1 association" >&2
kill "$opid"; wait "$opid" 2>/dev/null || true
orthanc_start
t_or4=$(store ORTHANC "$oport" 4)
[ "$(orthanc_count)" = "$n" ] || echo "bench: Orthanc holds $(orthanc_count) of $n after 4 associations" >&2

rate() {
	printf '%-44s %8.2f s %8.0f inst/s %8.1f MB/s\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$(echo "$mb / $2" | bc -l)"
}
echo
echo "== serve: C-STORE over TLS, $n CT instances, $(printf '%.0f' "$mb") MiB"
rate "pacsvault serve, 1 association (durable)" "$t_pv1"
rate "pacsvault serve, 4 associations (durable)" "$t_pv4"
rate "Orthanc, 1 association (synced)" "$t_or1"
rate "Orthanc, 4 associations (synced)" "$t_or4"
rate "storescp +tls, 1 association (no fsync)" "$t_scp1"
rate "storescp +tls, 4 associations (no fsync)" "$t_scp4"
printf '4 associations: %.2fx Orthanc, %.2fx storescp +tls (targets 3x and 1x); 1 association: %.2fx Orthanc\n' \
	"$(echo "$t_or4 / $t_pv4" | bc -l)" "$(echo "$t_scp4 / $t_pv4" | bc -l)" "$(echo "$t_or1 / $t_pv1" | bc -l)"

# --- C-FIND latency: whole findscu processes, median of RUNS
pid1=$(dcmdump +P PatientID "$(head -1 "$w/files")" | head -1 | sed 's/.*\[\(.*\)\].*/\1/')
pn=$(dcmdump +P PatientName "$(head -1 "$w/files")" | head -1 | sed 's/.*\[\(.*\)\].*/\1/' | cut -c1-3)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# find_t AET PORT REPEAT KEY: seconds of one findscu process asking REPEAT times on one association (best of 3)
find_t() {
	b=""
	for i in 1 2 3; do
		t0=$(now)
		findscu -q $TLS -aec "$1" -S --repeat "$3" -k QueryRetrieveLevel=STUDY -k StudyInstanceUID= -k "$4" \
			127.0.0.1 "$2" > /dev/null 2>&1
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
echo
echo "== serve: C-FIND at $n instances over TLS: a whole findscu process (association, one query), and each"
echo "   further query on the open association ((time of $RUNS+1 queries - time of 1) / $RUNS), best of 3"
for q in "PatientID=$pid1" "PatientName=$pn*" "StudyDate=20000101-20301231"; do
	a1=$(find_t PACSVAULT "$pport" 1 "$q"); an=$(find_t PACSVAULT "$pport" $((RUNS + 1)) "$q")
	b1=$(find_t ORTHANC "$oport" 1 "$q"); bn=$(find_t ORTHANC "$oport" $((RUNS + 1)) "$q")
	qa=$(echo "($an - $a1) * 1000 / $RUNS" | bc -l); qb=$(echo "($bn - $b1) * 1000 / $RUNS" | bc -l)
	printf '%-30s process: pacsvault %6.1f ms, Orthanc %6.1f ms (%.2fx); per query: %6.2f ms, %6.2f ms (%.2fx)\n' \
		"$q" "$(echo "$a1 * 1000" | bc -l)" "$(echo "$b1 * 1000" | bc -l)" "$(echo "$b1 / $a1" | bc -l)" \
		"$qa" "$qb" "$(echo "$qb / $qa" | bc -l)"
done

# --- C-GET of the study through stunnel
study=$(dcmdump +P StudyInstanceUID "$(head -1 "$w/files")" | head -1 | sed 's/.*\[\(.*\)\].*/\1/')
tunnel() { # PORT -> prints the local port; pid in tpid
	lp=$(free_port)
	printf 'foreground = yes\npid =\n[d]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\ncert = %s/client.crt\nkey = %s/client.key\nCAfile = %s/ca.crt\nverifyChain = yes\ncheckIP = 127.0.0.1\n' \
		"$lp" "$1" "$PWD/$p" "$PWD/$p" "$PWD/$p" > "$w/stunnel-$1.conf"
	stunnel4 "$w/stunnel-$1.conf" > /dev/null 2>&1 &
	tpid=$!
	sleep 0.5
}
get_s() { # AET LOCALPORT -> "seconds instances"
	rm -rf "$w/get"; mkdir -p "$w/get"
	t0=$(now)
	getscu -q -aec "$1" -od "$w/get" -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" 127.0.0.1 "$2" > /dev/null 2>&1 || true
	t1=$(now)
	echo "$(echo "$t1 - $t0" | bc -l) $(ls "$w/get" | wc -l)"
}
tunnel "$pport"; tp=$tpid; lpv=$lp
tunnel "$oport"; to=$tpid; lor=$lp
set -- $(get_s PACSVAULT "$lpv"); t_gpv=$1; g_pv=$2
set -- $(get_s ORTHANC "$lor"); t_gor=$1; g_or=$2
kill "$tp" "$to" 2>/dev/null || true
[ "$g_pv" = "$g_or" ] || echo "bench: C-GET returned $g_pv instances from pacsvault, $g_or from Orthanc" >&2
echo
echo "== serve: C-GET of one study ($g_pv instances) through stunnel"
n=$g_pv
mb=$(echo "$(du -sb "$w/get" | cut -f1) / 1048576" | bc -l)
rate "pacsvault serve" "$t_gpv"
rate "Orthanc" "$t_gor"
printf 'C-GET: %.2fx Orthanc (target 3x)\n' "$(echo "$t_gor / $t_gpv" | bc -l)"
kill "$opid"; wait "$opid" 2>/dev/null || true
pv_stop
rm -rf "$w/scp" "$w/get" "$w/orthanc" "$w/v"
