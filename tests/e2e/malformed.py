#!/usr/bin/python3
"""Hostile input: truncated, bit-flipped and planted files.

pacsvault must never crash (any exit status other than 0, 1 or 2, or a
sanitizer report, fails); a refused file gets an error naming the file and
a byte offset, and never quoting a value; `convert` of a refused file
leaves nothing behind (no output, no temporary).
"""
import os
import random
import subprocess
import sys

PV = os.environ.get("PV", "build/pacsvault")
TMP = os.environ.get("TMPROOT", "/tmp")
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
SOURCES = ["test_files/CT_small.dcm", "test_files/MR_small_bigendian.dcm", "test_files/JPEG2000.dcm",
           "test_files/image_dfl.dcm", "test_files/rtplan.dcm", "test_files/nested_priv_SQ.dcm",
           "test_files/ExplVR_LitEndNoMeta.dcm", "charset_files/chrSQEncoding.dcm",
           "test_files/reportsi.dcm"]
failures = 0
checks = 0


def run(args):
    r = subprocess.run([PV] + args, capture_output=True)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def verdict(name, ok, why=""):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL: malformed %s: %s" % (name, why))


CASES = []


def try_bytes(name, data, secret=None):
    CASES.append((name, data, secret))


def run_case(idx, name, data, secret):
    """Returns None when fine, else why."""
    path = os.path.join(TMP, "mal%d.dcm" % idx)
    outdir = os.path.join(TMP, "malout%d" % idx)
    os.makedirs(outdir, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    for args in (["dump", path], ["dump", "--json", path],
                 ["convert", "-o", os.path.join(outdir, "o.dcm"), path],
                 ["convert", "-t", "explicit-be", "-o", os.path.join(outdir, "o.dcm"), path]):
        rc, err = run(args)
        if "Sanitizer" in err or "runtime error" in err or rc not in (0, 1):
            return "%s: status %d %s" % (args[0], rc, err[-300:])
        if rc == 1:
            refusal = ("needs a codec" in err or "unknown transfer syntax" in err
                       or "cannot carry it" in err)
            if path not in err or ("offset" not in err and not refusal):
                return "%s error lacks file or offset: %s" % (args[0], err.strip())
            if secret and secret in err:
                return "error message quotes a value"
            if args[0] == "convert" and os.listdir(outdir):
                return "refused convert left %s" % os.listdir(outdir)
        for f in os.listdir(outdir):
            os.unlink(os.path.join(outdir, f))
    os.unlink(path)
    return None


def main():
    rnd = random.Random(20261129)
    for src in SOURCES:
        with open(os.path.join(DATA, src), "rb") as f:
            data = f.read()
        n = len(data)
        cuts = sorted(set([1, 4, 100, 128, 131, 132, 133, 140, 200, n - 1, n - 2, n - 3] +
                          [rnd.randrange(1, n) for _ in range(12)]))
        for c in cuts:
            if 0 < c < n:
                try_bytes("%s cut at %d" % (src, c), data[:c])
        for i in range(12):
            b = bytearray(data)
            pos = rnd.randrange(132, min(n, 2000))
            b[pos] ^= 1 << rnd.randrange(8)
            try_bytes("%s bit flip at %d" % (src, pos), bytes(b))
        for i in range(6):
            b = bytearray(data)
            pos = rnd.randrange(132, min(n, 2000) - 4)
            b[pos:pos + 4] = b"\xff\xff\xff\xff"
            try_bytes("%s 0xffffffff at %d" % (src, pos), bytes(b))
    # A planted identifier in a value cut short: the error must not quote it.
    secret = b"ZZPLANTEDSECRETNAME"
    head = open(os.path.join(DATA, "test_files/CT_small.dcm"), "rb").read()
    import struct
    elem = struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 40) + secret
    # explicit LE meta of CT_small, then a PN whose length runs past the end
    meta_end = 132 + 12 + struct.unpack("<I", head[140:144])[0]
    try_bytes("planted value cut short", head[:meta_end] + elem, secret.decode())
    try_bytes("garbage", bytes(rnd.randrange(256) for _ in range(5000)))
    try_bytes("empty", b"")
    try_bytes("only a preamble", b"\0" * 128 + b"DICM")
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda a: run_case(a[0], *a[1]), enumerate(CASES)))
    for (name, _, _), why in zip(CASES, results):
        verdict(name, why is None, why or "")
    print("%s: %d checks" % ("malformed", checks), file=sys.stderr)
    if failures == 0:
        print("PASS: malformed inputs (%d cases): no crash, clear errors, nothing left behind" % checks)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
