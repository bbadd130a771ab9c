#!/usr/bin/python3
"""One inflate budget for the whole process (issue #14, must-show 4).

  inflatecheck.py WORKDIR

Deflated files whose data sets inflate to 600 MB each (deflate bombs: 600 KB
on disk), four at a time (-j 4): the peak resident memory of deid stays
under 1.5 GiB (/usr/bin/time -v), where a per-worker cap allowed 4 x 600 MB.
A legitimate large deflated file (200 MB inflated) among small ones is
de-identified with the rest at -j 4. Every value is invented.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ.get("PV_RELEASE", "build/pacsvault")  # the sanitizer build's memory is not the program's


def el(tag, vr, val):
    g, e = tag >> 16, tag & 0xFFFF
    if vr in (b"OB", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", g, e, vr, 0, len(val)) + val
    return struct.pack("<HH2sH", g, e, vr, len(val)) + val


def deflated(path, n, mb):
    uid = b"1.2.826.0.1.3680043.8.498.99.%d" % n
    uid += b"\x00" * (len(uid) & 1)
    sop = b"1.2.840.10008.5.1.4.1.1.4\x00"  # MR: no burned-in text expected
    metaels = el(0x00020001, b"OB", b"\x00\x01") + el(0x00020002, b"UI", sop) + el(0x00020003, b"UI", uid) + \
        el(0x00020010, b"UI", b"1.2.840.10008.1.2.1.99")
    meta = el(0x00020000, b"UL", struct.pack("<I", len(metaels))) + metaels
    head = el(0x00080016, b"UI", sop) + el(0x00080018, b"UI", uid) + el(0x00080060, b"CS", b"MR") + \
        el(0x00100010, b"PN", b"Inflate^Test")
    co = zlib.compressobj(1, zlib.DEFLATED, -15)
    parts = [co.compress(head + struct.pack("<HH2sHI", 0x0011, 0x1010, b"OB", 0, mb << 20))]
    z = bytes(1 << 20)
    for _ in range(mb):
        parts.append(co.compress(z))
    parts.append(co.flush())
    with open(path, "wb") as f:
        f.write(bytes(128) + b"DICM" + meta + b"".join(parts))


def peak_kb(args):
    r = subprocess.run(["/usr/bin/time", "-v", PV] + args, capture_output=True)
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return r.returncode, int(m.group(1)) if m else -1, r.stderr.decode("utf-8", "replace")


def main(work):
    shutil.rmtree(work, ignore_errors=True)
    bombs = os.path.join(work, "bombs")
    os.makedirs(bombs)
    key = os.path.join(work, "p.key")
    subprocess.run([PV, "keygen", "-o", key], check=True, capture_output=True)
    deflated(os.path.join(bombs, "b0.dcm"), 0, 600)
    for i in range(1, 4):
        shutil.copy(os.path.join(bombs, "b0.dcm"), os.path.join(bombs, "b%d.dcm" % i))
    rc, kb, err = peak_kb(["deid", "--mirror", "-q", "-j", "4", "--key", key, bombs, "-o", os.path.join(work, "out1")])
    check(0 < kb < 1536 * 1024, "inflate: 4 bombs of 600 MB at -j 4 peak at %d MiB (< 1536)" % (kb // 1024))
    check("Sanitizer" not in err and rc in (0, 1), "inflate: bombs refused or done cleanly (exit %d)" % rc)
    check(all("budget" in ln for ln in err.splitlines() if ln.startswith("pacsvault: deid: ")),
          "inflate: each refusal names the budget")

    mixed = os.path.join(work, "mixed")
    os.makedirs(mixed)
    deflated(os.path.join(mixed, "large.dcm"), 10, 200)
    for i in range(6):
        deflated(os.path.join(mixed, "small%d.dcm" % i), 20 + i, 1)
    out = os.path.join(work, "out2")
    rc, kb, err = peak_kb(["deid", "--mirror", "-q", "-j", "4", "--key", key, mixed, "-o", out])
    n = sum(len(fs) for _, _, fs in os.walk(out))
    check(rc == 0 and n == 7, "inflate: a 200 MB deflated file and six small ones all written at -j 4 (exit %d, %d "
          "files)%s" % (rc, n, "".join(": " + ln for ln in err.splitlines() if ln.startswith("pacsvault:"))[:300]))
    return finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
