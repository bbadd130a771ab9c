#!/bin/sh
# bench/ledger.sh: the audit log. Appends/s with group commit (batches of
# 1,000) against one commit (fsync) per entry; then a 1,000,000-entry log:
# the time of inclusion and consistency proofs (in process, 1,000 random
# ones) and of a full `ledger verify`. Targets (issue #6): 50,000 appends/s
# with group commit, a proof under 1 ms, verify of 1M entries under 3 s.
set -eu
cd "$(dirname "$0")/.."
PV=${PV:-build/pacsvault}
d=build/bench/ledger
rm -rf "$d"
mkdir -p "$d"
now() { date +%s.%N; }
seq 1 200000 | sed 's/^/audit-event-/' > "$d/in200k"
$PV ledger init "$d/gc" > /dev/null
t0=$(now); $PV ledger append "$d/gc" "$d/in200k" --batch 1000 > /dev/null 2>&1; t1=$(now)
gc=$(echo "200000 / ($t1 - $t0)" | bc -l)
head -2000 "$d/in200k" > "$d/in2k"
$PV ledger init "$d/one" > /dev/null
t0=$(now); $PV ledger append "$d/one" "$d/in2k" --batch 1 > /dev/null 2>&1; t1=$(now)
one=$(echo "2000 / ($t1 - $t0)" | bc -l)
echo
echo "== ledger"
printf 'appends/s, group commit (batches of 1000): %8.0f\n' "$gc"
printf 'appends/s, one fsync per entry:            %8.0f   (group commit %.0fx)\n' "$one" "$(echo "$gc / $one" | bc -l)"
seq 1 1000000 | sed 's/^/audit-event-/' > "$d/in1m"
$PV ledger init "$d/big" > /dev/null
t0=$(now); $PV ledger append "$d/big" "$d/in1m" --batch 10000 > /dev/null 2>&1; t1=$(now)
printf '1,000,000 entries appended in %.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
$PV ledger checkpoint "$d/big" > /dev/null
$PV ledger time-proofs "$d/big"
t0=$(now); $PV ledger verify "$d/big" > /dev/null; t1=$(now)
printf 'ledger verify of 1,000,000 entries (every hash, the checkpoint): %.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
rm -rf "$d"
