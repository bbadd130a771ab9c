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
fuzz_rle|fuzz_jpegll|fuzz_jpeg|fuzz_jpegdct|fuzz_jpegls|fuzz_j2k)
	[ -z "$(ls -A "$corpus")" ] && /usr/bin/python3 fuzz/codec_seeds.py "$target" "$corpus"
	;;
fuzz_ini)
	if [ -z "$(ls -A "$corpus")" ]; then
		printf '[server]\nae_title = PACSVAULT\ndimse = 127.0.0.1:11112, [::1]:11112 # two\ntls_cert = a.crt\n; c\n[peer "WS1"]\nhost = 127.0.0.1\nport = 11113\ntls = yes\n' > "$corpus/seed-serve"
	fi
	;;
fuzz_http)
	if [ -z "$(ls -A "$corpus")" ]; then
		printf 'GET /dicomweb/studies?PatientID=1&limit=2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pvt.0123456789abcdef.x\r\n\r\n' > "$corpus/seed-get"
		printf 'POST /dicomweb/studies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n' > "$corpus/seed-chunked"
		printf 'GET /a%%2Fb HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc' > "$corpus/seed-10"
		printf 'pre\r\n--b\r\nContent-Type: application/dicom\r\n\r\nDICM1\r\n--b \r\n\r\nDICM2\r\n--b--\r\nepi' > "$corpus/seed-multipart"
	fi
	;;
fuzz_pdu|fuzz_assoc)
	[ -z "$(ls -A "$corpus")" ] && /usr/bin/python3 fuzz/pdu_seeds.py "$corpus"
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
fuzz_event)
	if [ -z "$(ls -A "$corpus")" ]; then
		printf 'pacsvault-audit 1\nevent 110107\naction C\noutcome 0\ntime 2026-11-29T06:04:00.123Z\nparticipant R root operator pacsvault%%20import - vm\nobject patient 97306d469bf47cc61ac16df4d96c01d6\nobject instance 1.2.3 1.2.840.10008.5.1.4.1.1.2\n' > "$corpus/seed-import"
		printf 'pacsvault-audit 1\nevent 110112\naction E\noutcome 4\ntime 1970-01-01T00:00:00.000Z\nobject query STUDY keys=PatientID%%2CStudyDate\n' > "$corpus/seed-query"
	fi
	;;
fuzz_textclean)
	if [ -z "$(ls -A "$corpus")" ]; then
		# a term length byte, then a term and text (see fuzz_textclean.c)
		i=0
		for t in "Seen by Dr Ferreday Alaric at Saint Wilfrida Hospital, tel 13907551234" \
		    "患者欧阳秀凤，身份证11010519491231002X，电话１３９０７５５１２３４，司马建国医生" \
		    "DOB 14-MAR-1961, 3/14/61, 1961年3月14日, a 95-year-old, 095Y" \
		    "MÜLLER^Anna=ミュラー, contact: Pemberton Lysander, MD; j.doe@example.org"; do
			printf '\006MÜLLER%s' "$t" > "$corpus/seed-$i"
			i=$((i + 1))
		done
	fi
	;;
fuzz_jpegmeta)
	if [ -z "$(ls -A "$corpus")" ]; then
		# the first frame of each JPEG-family test file, after a flag byte (1: JPEG-LS, 2: JPEG 2000)
		/usr/bin/python3 -c '
import glob, os, sys
import pydicom
from pydicom.encaps import decode_data_sequence
for f in glob.glob(os.path.join(sys.argv[2], "test_files", "*.dcm")):
    try:
        ds = pydicom.dcmread(f)
        ts = str(ds.file_meta.TransferSyntaxUID)
        if ts.split(".")[-1] not in ("50", "51", "57", "70", "80", "81", "90", "91"):
            continue
        fr = decode_data_sequence(ds.PixelData)[0]
        flag = b"\x01" if ts.endswith((".80", ".81")) else b"\x02" if ts.endswith((".90", ".91")) else b"\x00"
        open(os.path.join(sys.argv[1], "seed-" + os.path.basename(f)), "wb").write(flag + fr)
        if flag == b"\x02" and b"\xff\x90" in fr:
            # and with a comment in the first tile-part header (its Psot made true)
            import struct
            sot = fr.index(b"\xff\x90")
            com = b"\xff\x64\x00\x08\x00\x01TILE"
            psot = struct.unpack(">I", fr[sot + 6:sot + 10])[0]
            t = fr[:sot + 6] + struct.pack(">I", psot + len(com) if psot else 0) + fr[sot + 10:sot + 12] + com + fr[sot + 12:]
            open(os.path.join(sys.argv[1], "seed-tile-" + os.path.basename(f)), "wb").write(flag + t)
    except Exception:
        pass
' "$corpus" "$seeds"
	fi
	;;
fuzz_vault)
	if [ -z "$(ls -A "$corpus")" ]; then
		printf 'PatientName=D?E*\nDOE^JOHN\nDOE\n' > "$corpus/seed-pn"
		printf 'StudyDate=20200101-20201231\n20200615\n1997.04.24\n' > "$corpus/seed-da"
		printf 'StudyTime=0800-1200\n120059.5\n' > "$corpus/seed-tm"
		/usr/bin/python3 tests/vectors/gen_sealed.py | awk -F'\t' '$3 != "-" && $1 !~ /^#/ {print $3}' | \
			while read -r h; do echo "$h" | xxd -r -p > "$corpus/seed-sealed-$(echo "$h" | md5sum | cut -c1-8)"; done
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
