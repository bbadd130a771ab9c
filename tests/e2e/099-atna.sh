#!/bin/sh
# 099-atna: DICOM audit messages over RFC 5425 TLS syslog to a real rsyslog
# on loopback: schema-valid, every event exactly once in order, none lost
# while the collector is down.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -W ignore "$(dirname "$0")/atnacheck.py" "$TMPROOT/atna"
