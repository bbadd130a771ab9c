"""hostile.py: files a hostile peer can send, built here (issue #16, the
parser): 100,000 stray sequence delimiters at the top level (the reader
recursed once per delimiter and overflowed the stack), sequences nested
1,000,000 deep (refused at the nesting limit), one sequence of 1,000,000
items, and 1 to 16 MB of elements in descending tag order (the data set was
sorted by insertion: 58 s of CPU for 1.6 MB). Each is read by `pacsvault
dump` (the descending files by `pacsvault scan`, which builds the whole data
set) under the sanitizers: no crash, a clear answer, and the parse times
per MB are printed (not asserted; `make bench` has them too).

    hostile.py OUTDIR            writes the files and checks them
    hostile.py OUTDIR --make     only writes them (for bench/parse.sh)
"""
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ.get("PV", "build/test/pacsvault")


def elem(group, el, vr, value):
    """An Explicit VR Little Endian element with a short header."""
    return struct.pack("<HH", group, el) + vr + struct.pack("<H", len(value)) + value


def preamble_meta():
    ts = b"1.2.840.10008.1.2.1\0"
    body = (elem(2, 1, b"OB", b"") if False else b"") + elem(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0") + \
        elem(2, 3, b"UI", b"2.25.1234\0") + elem(2, 0x10, b"UI", ts)
    return b"\0" * 128 + b"DICM" + elem(2, 0, b"UL", struct.pack("<I", len(body))) + body


def base():
    return elem(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0") + elem(0x0008, 0x0018, b"UI", b"2.25.1234\0") + \
        elem(0x0010, 0x0010, b"PN", b"DOE^JANE")


def sq_undefined(group, el):
    return struct.pack("<HH", group, el) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF)


ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
EMPTY_ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, 0)


def descending(mb):
    """About mb MB of private elements (odd groups) in strictly descending tag order."""
    n = mb * 1024 * 1024 // 10
    out = bytearray()
    g, e = 0x7FDF, 0xFFFF
    for _ in range(n):
        out += struct.pack("<HH", g, e) + b"US\x02\x00\x01\x00"
        e -= 1
        if e < 0x1000:
            e = 0xFFFF
            g -= 2
    return bytes(out)


def make(d):
    os.makedirs(d, exist_ok=True)
    files = {}
    files["delims"] = preamble_meta() + base() + SEQ_END * 100000
    deep = 1000000
    files["nested"] = preamble_meta() + base() + (sq_undefined(0x0040, 0xA730) + ITEM) * deep
    files["items"] = preamble_meta() + base() + sq_undefined(0x0040, 0xA730) + EMPTY_ITEM * 1000000 + SEQ_END
    for mb in (1, 2, 4, 8, 16):
        files["desc%d" % mb] = preamble_meta() + base() + descending(mb)
    for k, v in files.items():
        with open(os.path.join(d, k + ".dcm"), "wb") as f:
            f.write(v)
    return files


def dump(path, cmd=("dump",)):
    t0 = time.time()
    p = subprocess.run([PV] + list(cmd) + [path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    return p.returncode, p.stderr.decode("utf-8", "replace"), time.time() - t0


def main():
    d = sys.argv[1]
    make(d)
    if "--make" in sys.argv:
        return 0
    rc, err, t = dump(os.path.join(d, "delims.dcm"))
    check(rc in (0, 1) and "Sanitizer" not in err and "runtime error" not in err,
          "100,000 stray sequence delimiters: read without a crash (exit %d, %.1f s)" % (rc, t))
    rc, err, t = dump(os.path.join(d, "nested.dcm"))
    check(rc == 1 and "nested deeper than" in err and "Sanitizer" not in err,
          "sequences nested 1,000,000 deep: refused at the nesting limit, named (%.1f s): %s" % (t, err.strip()[:120]))
    rc, err, t = dump(os.path.join(d, "items.dcm"))
    check(rc == 0 and "Sanitizer" not in err, "one sequence of 1,000,000 items: read (exit %d, %.1f s)" % (rc, t))
    times = []
    for mb in (1, 2, 4, 8, 16):
        # scan builds the whole data set (dump streams it): the sort is in the way
        rc, err, t = dump(os.path.join(d, "desc%d.dcm" % mb), ("scan", "-q", "--no-pixels"))
        times.append((mb, t))
        check(rc in (0, 3) and "Sanitizer" not in err,
              "%d MB of descending tags: read into a data set and sorted (exit %d)" % (mb, rc))
    print("   parse time per MB of descending tags (scan --no-pixels, this build): " +
          ", ".join("%d MB: %.2f s/MB" % (mb, t / mb) for mb, t in times))
    # The same files sent to the vault as a peer sends them: from memory (import -, the ingest
    # path of C-STORE and STOW), never spooled; each stored or quarantined with its reason.
    vault = os.path.join(d, "vault")
    subprocess.run([PV, "vault", "init", vault], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for name in ("delims", "nested", "items", "desc16"):
        data = open(os.path.join(d, name + ".dcm"), "rb").read()
        t0 = time.time()
        p = subprocess.run([PV, "import", "--vault", vault, "-v", "-"], input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=600)
        err = p.stderr.decode("utf-8", "replace")
        status = p.stdout.decode().split("\t")[0]
        check(p.returncode in (0, 1) and status in ("stored", "quarantined", "conflict") and
              "Sanitizer" not in err and "runtime error" not in err,
              "ingest from memory of %s (%d bytes): %s, no crash (%.1f s)" % (name, len(data), status, time.time() - t0))
    rc, err, t = dump(vault, ("vault", "fsck", "--vault"))
    check(rc == 0, "  the vault is whole after them (fsck)")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
