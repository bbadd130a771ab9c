#!/bin/sh
# 060-keygen: key files are 0600, never overwritten, and fixed-size.
. "$(dirname "$0")/lib.sh"
d=$TMPROOT/keygen
mkdir -p "$d"
umask 022
$PV keygen -o "$d/p.key" > "$d/out.txt" 2>&1
check "keygen writes a key" [ $? -eq 0 ]
check "keygen prints the key id" grep -qE '^wrote project key [0-9a-f]{8} to ' "$d/out.txt"
check "the key file is 0600 whatever the umask" [ "$(stat -c %a "$d/p.key")" = 600 ]
check "the key file is 48 bytes" [ "$(stat -c %s "$d/p.key")" = 48 ]
cp "$d/p.key" "$d/copy.key"
$PV keygen -o "$d/p.key" > /dev/null 2> "$d/err.txt"
check "an existing key file is not overwritten (exit 1)" [ $? -eq 1 ]
check "and is unchanged" cmp -s "$d/p.key" "$d/copy.key"
check "and the refusal is explained" grep -q 'refusing to overwrite' "$d/err.txt"
$PV keygen -o "$d/q.key" > /dev/null
check "two keys differ" sh -c "[ -s '$d/q.key' ] && ! cmp -s '$d/p.key' '$d/q.key'"
$PV keygen > /dev/null 2>&1
check "keygen without -o is a usage error" [ $? -eq 2 ]
$PV keygen --type nonsense -o "$d/r.key" > /dev/null 2>&1
check "an unknown key type is a usage error" [ $? -eq 2 ]
check "no file on usage errors" [ ! -e "$d/r.key" ]
