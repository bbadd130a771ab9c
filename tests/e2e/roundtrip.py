#!/usr/bin/python3
"""Round trips through `pacsvault convert`, checked by dcmtk and dicom3tools.

For every file of python3-pydicom's test data that pacsvault reads:
  1. rewritten in its own transfer syntax, dcmdump lists the same data set
     (every element at every depth, binary values included, lengths of
     values; group lengths, which are recomputed, aside);
  2. converted to each of the four native syntaxes and back, the data set
     is again the same; dcmdump reads every written file without error;
     a file with compressed pixel data is refused for a native syntax with
     exit status 1 and nothing written;
  3. dciodvfy reports no error on the rewritten file that it did not report
     on the input.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dumpcmp  # noqa: E402

PV = os.environ.get("PV", "build/pacsvault")
TMP = os.environ.get("TMPROOT", "/tmp")
NATIVE = ["implicit-le", "explicit-le", "explicit-be", "deflated-le"]
NATIVE_UIDS = {"1.2.840.10008.1.2": "implicit-le", "1.2.840.10008.1.2.1": "explicit-le",
               "1.2.840.10008.1.2.2": "explicit-be", "1.2.840.10008.1.2.1.99": "deflated-le"}


def dcmdump(path):
    # +uc: a known attribute sent as UN is compared by its dictionary VR, as pacsvault rewrites it (PS3.5 6.2.2)
    r = subprocess.run(["dcmdump", "+L", "-Un", "+uc", path], capture_output=True)
    err = [l for l in r.stderr.decode("latin-1").splitlines() if l.startswith("E:")]
    return r.returncode, r.stdout.decode("latin-1"), err


def rows(text):
    out = []
    for path, tag, vr, length, value in dumpcmp.parse(text):
        if tag.endswith("0000"):
            continue  # group lengths are recomputed
        if vr in ("SQ", "na", "PX"):
            length = None  # sequence and item lengths follow the encoding
        out.append((path, tag, vr, length, value))
    return out


def as_bytes(row):
    """OB and OW values as the bytes they stand for (little endian)."""
    path, tag, vr, length, value = row
    if vr not in ("OB", "OW") or value is None or value.startswith("("):
        return row
    out = bytearray()
    for part in value.split("\\"):
        if vr == "OB":
            out.append(int(part, 16))
        else:
            w = int(part, 16)
            out += bytes((w & 0xff, w >> 8))
    return (path, tag, "OX", length, bytes(out))


def pv(*args):
    r = subprocess.run([PV] + list(args), capture_output=True)
    if b"Sanitizer" in r.stderr or b"runtime error" in r.stderr:
        raise RuntimeError("sanitizer report: " + r.stderr.decode("utf-8", "replace")[-500:])
    return r


def ts_of(path):
    """The transfer syntax UID pacsvault reads the file with."""
    r = pv("dump", "--no-meta", path)
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("# Used TransferSyntax: "):
            name = line[len("# Used TransferSyntax: "):].replace(" (detected)", "")
            return name
    return None


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", path], capture_output=True)
    return set(l.strip() for l in r.stderr.decode("latin-1").splitlines() if l.startswith("Error"))


def check(path, idx):
    base = os.path.join(TMP, "rt%d" % idx)
    same = base + "-same.dcm"
    r = pv("dump", path)
    if r.returncode != 0:
        return None  # refused; 020-dumpcmp checks that dcmtk refuses it too
    tsname = ts_of(path)
    r = pv("convert", "-o", same, path)
    if r.returncode != 0:
        return "rewriting in its own syntax failed: " + r.stderr.decode("utf-8", "replace").strip()
    rc, text_same, err = dcmdump(same)
    if rc != 0 or err:
        return "dcmdump cannot read the rewritten file: %s" % err[:2]
    rc_in, text_in, err_in = dcmdump(path)
    if rc_in == 0 and not err_in:
        a, b = rows(text_in), rows(text_same)
        if a != b:
            for x, y in zip(a, b):
                if x != y:
                    return "rewritten data set differs at %s (%s vs %s)" % (x[0], x[1:4], y[1:4])
            return "rewritten data set has %d elements, the input %d" % (len(b), len(a))
    # Compressed pixel data cannot become native without a codec.
    encapsulated = "(PixelSequence" in text_same
    ref = rows(text_same)
    for ts in NATIVE:
        out1 = "%s-%s.dcm" % (base, ts)
        out2 = "%s-%s-back.dcm" % (base, ts)
        r = pv("convert", "-t", ts, "-o", out1, same)
        if encapsulated:
            if r.returncode != 1 or os.path.exists(out1):
                return "compressed pixel data converted to %s (status %d)" % (ts, r.returncode)
            continue
        if r.returncode != 0:
            return "convert to %s failed: %s" % (ts, r.stderr.decode("utf-8", "replace").strip())
        rc, text1, err = dcmdump(out1)
        if rc != 0 or err:
            return "dcmdump cannot read the %s file: %s" % (ts, err[:2])
        r = pv("convert", "-t", "explicit-le", "-o", out2, out1)
        r2 = pv("convert", "-t", "explicit-le", "-o", out2 + ".ref", same)
        if r.returncode != 0 or r2.returncode != 0:
            return "convert back from %s failed" % ts
        rc, t_back, _ = dcmdump(out2)
        rc, t_ref, _ = dcmdump(out2 + ".ref")
        a, b = rows(t_ref), rows(t_back)
        if ts == "implicit-le":
            # Implicit VR loses the VR of private elements (they come back
            # as UN); their bytes must still be the same.
            a = [(p, t, "UN" if int(t[:4], 16) % 2 else v, l, None if int(t[:4], 16) % 2 else x)
                 for (p, t, v, l, x) in a]
            b = [(p, t, "UN" if int(t[:4], 16) % 2 else v, l, None if int(t[:4], 16) % 2 else x)
                 for (p, t, v, l, x) in b]
        if ts == "implicit-le":
            # Implicit VR gives OB pixel data back as OW (PS3.5 A.1): compare bytes.
            a = [as_bytes(r) for r in a]
            b = [as_bytes(r) for r in b]
        if a != b:
            for x, y in zip(a, b):
                if x != y:
                    return "through %s the data set changed at %s (%s vs %s)" % (ts, x[0], x[1:4], y[1:4])
            return "through %s the element count changed" % ts
        for f in (out1, out2, out2 + ".ref"):
            os.unlink(f)
    if os.path.getsize(path) < 2_000_000:
        new_errors = dciodvfy_errors(same) - dciodvfy_errors(path)
        if new_errors:
            return "dciodvfy reports new errors: %s" % sorted(new_errors)[:2]
    os.unlink(same)
    return None


def main(files):
    from concurrent.futures import ThreadPoolExecutor

    def one(args):
        i, f = args
        try:
            return check(f, i)
        except RuntimeError as e:
            return str(e)

    bad = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(one, enumerate(files)))
    for f, why in zip(files, results):
        name = os.path.relpath(f, os.environ.get("PYDICOM_DATA", "/"))
        if why is None:
            print("PASS: roundtrip %s" % name)
        else:
            bad += 1
            print("FAIL: roundtrip %s: %s" % (name, why))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main([l.strip() for l in sys.stdin if l.strip()]))
