#!/bin/sh
# bench/deid.sh CORPUS_SET_DIR: times de-identification of one corpus set by
# pacsvault deid (all cores), gdcmanon (E.1 basic profile, -e with a
# certificate), a dcmodify-based script, a pydicom script (bench/pydeid.py)
# and cp -r, each writing a fresh output folder; deid --no-verify gives the
# cost of deid's output check. Prints wall time, files/s,
# MB/s, CPU time (user + sys) per file, and ratios to pacsvault (pacsvault,
# gdcmanon and cp: fastest of 3 runs; the slow scripts: one run).
set -eu
cd "$(dirname "$0")/.."
set_dir=$1
PV=$PWD/build/pacsvault
# Outputs stay until bench/run.sh has finished (see measure() below); a
# folder left by an interrupted run goes now.
work=build/bench/deid-work/$(basename "$set_dir")
rm -rf "$work"
mkdir -p "$work"
n=$(find "$set_dir" -name '*.dcm' | wc -l)
bytes=$(du -sb "$set_dir" | cut -f1)
[ -f build/bench/project.key ] || "$PV" keygen -o build/bench/project.key > /dev/null
if [ ! -f build/bench/gdcm-cert.pem ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pacsvault bench" \
		-keyout build/bench/gdcm-key.pem -out build/bench/gdcm-cert.pem > /dev/null 2>&1
fi

# measure NAME I OUT CMD...: wall and CPU seconds of run I of CMD; the
# fastest run of each NAME is kept as NAME_wall / NAME_cpu, and the files it
# wrote as NAME_out. Each run writes a new folder OUT.1, OUT.2... (the argument @OUT@
# of CMD stands for it). No output is removed until bench/run.sh ends
# (about 9 GB for the CT series): ext4 without a journal will not reuse an
# inode within 60-300 s of its deletion and scans past every such inode
# when it creates a file, which billed up to 150 us per file created, as
# system CPU, to whichever tool ran after a deletion. Each run starts after
# a sync, so no tool pays for another's writeback. The
# machine's disk and page cache make single runs vary by 2x or more; the
# fast tools are run RUNS_FAST times (default 3). Timed by bench/timeit.py
# (microseconds: the small set takes ~50 ms).
with_out() { # DIR CMD...: CMD with every @OUT@ replaced by DIR
	o=$1
	shift
	for a in "$@"; do
		shift
		if [ "$a" = "@OUT@" ]; then set -- "$@" "$o"; else set -- "$@" "$a"; fi
	done
	"$@"
}
measure() { # NAME I OUT CMD...: run I of CMD into OUT.I; NAME_* keep the fastest run so far
	name=$1
	i=$2
	out=$3
	shift 3
	eval "bw=\${${name}_wall:-}"
	sync
	with_out "$out.$i" /usr/bin/python3 bench/timeit.py "$work/time.txt" "$@" || true
	t=$(tail -1 "$work/time.txt")
	w=$(echo "$t" | cut -d' ' -f1)
	if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then
		eval "${name}_wall=$w"
		eval "${name}_cpu=$(echo "$t" | awk '{print $2 + $3}')"
		# what the tool wrote: a tool that holds files back or fails is not faster
		eval "${name}_out=$(find "$out.$i" -type f 2>/dev/null | wc -l)"
	fi
}
R=${RUNS_FAST:-3}

# The fast tools take turns, run 1 of each, then run 2 of each...: a slow
# spell of the machine's disk or memory falls on every tool alike instead
# of on whichever tool's runs it happened to cover.
i=0
while [ "$i" -lt "$R" ]; do
	i=$((i + 1))
	measure cp "$i" "$work/cp" cp -r "$set_dir" @OUT@
	measure pv "$i" "$work/pv" "$PV" deid -q --key build/bench/project.key "$set_dir" -o @OUT@
	# the output check's cost: the same run without it (docs/DEID.md, "The output check")
	measure pvnv "$i" "$work/pvnv" "$PV" deid -q --no-verify --key build/bench/project.key "$set_dir" -o @OUT@
	measure gdcm "$i" "$work/gdcm" gdcmanon -e --continue -c build/bench/gdcm-cert.pem -r -i "$set_dir" -o @OUT@
	# Durable outputs: pacsvault deid --sync (one syncfs before success) against cp -r then sync.
	measure cps "$i" "$work/cps" sh -c 'cp -r "$1" "$2" && sync' sh "$set_dir" @OUT@
	measure pvs "$i" "$work/pvs" "$PV" deid -q --sync --key build/bench/project.key "$set_dir" -o @OUT@
done
# SKIP_SCRIPTS=1 (by hand, while working on pacsvault): leave the two slow scripts out.
dcmod_wall=""; py_wall=""; dcmod_cpu=""; py_cpu=""; dcmod_out=""; py_out=""
[ -n "${SKIP_SCRIPTS:-}" ] || measure dcmod 1 "$work/dcmod" sh bench/dcmodify-deid.sh "$set_dir" @OUT@
[ -n "${SKIP_SCRIPTS:-}" ] || measure py 1 "$work/py" /usr/bin/python3 bench/pydeid.py "$set_dir" @OUT@

echo
echo "== deid: $(basename "$set_dir"): $n files, $((bytes / 1048576)) MiB (each tool writes a new folder; fastest of $R runs but the two scripts)"
printf '%-20s %8s %10s %8s %14s %s\n' tool seconds files/s MB/s "CPU ms/file" "time, CPU vs pacsvault, files written"
for t in "pacsvault deid:pv" "deid --no-verify:pvnv" "gdcmanon:gdcm" "dcmodify script:dcmod" "pydicom script:py" "cp -r:cp" \
    "deid --sync:pvs" "cp -r + sync:cps"; do
	label=${t%%:*}
	k=${t#*:}
	eval "w=\$${k}_wall; c=\$${k}_cpu; o=\$${k}_out"
	[ -n "$w" ] || continue
	[ "$(echo "$w < 0.001" | bc -l)" = 1 ] && w=0.001
	pc=$pv_cpu
	[ "$(echo "$pc < 0.001" | bc -l)" = 1 ] && pc=0.001
	printf '%-20s %8.3f %10.0f %8.1f %14.3f %8.2fx %6.2fx  %s of %s\n' "$label" "$w" "$(echo "$n / $w" | bc -l)" \
		"$(echo "$bytes / 1048576 / $w" | bc -l)" "$(echo "$c * 1000 / $n" | bc -l)" \
		"$(echo "$w / $pv_wall" | bc -l)" "$(echo "$c / $pc" | bc -l)" "$o" "$n"
done
