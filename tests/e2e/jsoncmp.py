#!/usr/bin/python3
"""Compares `pacsvault dump --json` with pydicom's DICOM JSON (PS3.18 F.2).

For every file given that both read: the output is valid JSON; the same
attributes at every depth with the same VR (pydicom's VR where the file
gives none); the same values for text, numbers and PN (component groups);
binary values are InlineBinary (base64 of the value bytes, checked against
pydicom's bytes) or a BulkDataURI whose offset and length point at the very
bytes of the value in the file.
"""
import base64
import json
import os
import re
import subprocess
import sys

import pydicom

PV = os.environ.get("PV", "build/pacsvault")
BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def num_eq(a, b):
    try:
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)), abs(float(b)))
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def cmp_ds(ours, ref, raw, where):
    if set(ours) != set(ref):
        return "%s: attributes differ: only ours %s, only pydicom %s" % (
            where, sorted(set(ours) - set(ref))[:3], sorted(set(ref) - set(ours))[:3])
    for tag in sorted(ours):
        a, b = ours[tag], ref[tag]
        w = "%s/%s" % (where, tag)
        vr = a.get("vr")
        if vr != b.get("vr") and not (vr in BINARY and b.get("vr") in BINARY) \
                and not (vr == "UN" or b.get("vr") == "UN") \
                and not ({vr, b.get("vr")} <= {"US", "SS"}):
            return "%s: VR %s vs %s" % (w, vr, b.get("vr"))
        if vr == "SQ":
            ia, ib = a.get("Value", []), b.get("Value", [])
            if len(ia) != len(ib):
                return "%s: %d items vs %d" % (w, len(ia), len(ib))
            for k, (x, y) in enumerate(zip(ia, ib)):
                why = cmp_ds(x, y, raw, "%s[%d]" % (w, k))
                if why:
                    return why
            continue
        if vr in BINARY or "InlineBinary" in a or "BulkDataURI" in a:
            if "InlineBinary" in a and "InlineBinary" in b:
                if base64.b64decode(a["InlineBinary"]).rstrip(b"\0 ") != base64.b64decode(b["InlineBinary"]).rstrip(b"\0 "):
                    return "%s: InlineBinary differs" % w
            if "BulkDataURI" in a:
                m = re.search(r"offset=(\d+)&length=(\d+)$", a["BulkDataURI"])
                if not m:
                    return "%s: bad BulkDataURI %s" % (w, a["BulkDataURI"])
                if "InlineBinary" in b:
                    off, n = int(m.group(1)), int(m.group(2))
                    want = base64.b64decode(b["InlineBinary"])
                    if raw is not None and vr not in ("OW", "OF", "OD", "OL", "OV") and raw[off:off + n].rstrip(b"\0") != want.rstrip(b"\0"):
                        return "%s: BulkDataURI does not point at the value" % w
            continue
        va, vb = a.get("Value"), b.get("Value")
        if not va and not vb:
            continue
        if va is None or vb is None or len(va) != len(vb):
            return "%s: values %r vs %r" % (w, va, vb)
        for x, y in zip(va, vb):
            if isinstance(x, dict) or isinstance(y, dict):
                x = {k: v for k, v in (x or {}).items() if v}
                y = {k: v for k, v in (y or {}).items() if v}
                if x != y:
                    return "%s: PN %r vs %r" % (w, x, y)
            elif isinstance(x, (int, float)) or isinstance(y, (int, float)):
                if not num_eq(x, y):
                    return "%s: number %r vs %r" % (w, x, y)
            elif (x or "").rstrip() != (y or "").rstrip():
                return "%s: value %r vs %r" % (w, x, y)
    return None


def main(files):
    bad = 0
    for f in files:
        name = os.path.basename(f)
        try:
            ds = pydicom.dcmread(f)
            ds.decode()
            ref = ds.to_json_dict(bulk_data_threshold=1 << 30)
        except Exception:
            continue  # pydicom cannot be the oracle for this one
        r = subprocess.run([PV, "dump", "--json", f], capture_output=True)
        if r.returncode != 0:
            if subprocess.run(["dcmdump", "-q", f], capture_output=True).returncode != 0:
                continue  # dcmtk refuses it too (020-dumpcmp checks the refusal)
            print("FAIL: json %s: pacsvault refused it: %s" % (name, r.stderr.decode()[:200]))
            bad += 1
            continue
        try:
            ours = json.loads(r.stdout.decode("utf-8"))
        except ValueError as e:
            print("FAIL: json %s: invalid JSON: %s" % (name, e))
            bad += 1
            continue
        ts = str(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        raw = open(f, "rb").read() if ts != "1.2.840.10008.1.2.1.99" else None
        why = cmp_ds(ours, ref, raw, "")
        if why:
            print("FAIL: json %s: %s" % (name, why))
            bad += 1
        else:
            print("PASS: json %s" % name)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
