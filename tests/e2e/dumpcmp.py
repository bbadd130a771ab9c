#!/usr/bin/python3
"""Compares `pacsvault dump` with dcmtk's dcmdump, element by element.

For every file given (or every file under the directories given) both tools
list the data set. Both listings are parsed into (path, tag, VR, length,
value) rows at every depth and compared:
  - tag, VR and length of every element, item and fragment;
  - the value of every non-binary element (strings, numbers, AT);
  - for text in a non-ASCII character set, the value against pydicom's
    decoding (dcmdump is run without conversion).
When dcmdump rejects a file, pacsvault must reject it too, with a message
naming the file and a byte offset. pacsvault must never crash.

Prints "PASS: dumpcmp FILE" or "FAIL: dumpcmp FILE: reason" per file.
"""
import os
import re
import subprocess
import sys

PV = os.environ.get("PV", "build/pacsvault")
LINE = re.compile(r"^(\s*)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*?)\s*#\s*(u/l|\d+),\s*(\d+) (\S.*)$")
BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "??", "ox", "xs", "px", "lt"}
CHARSET_VRS = {"SH", "LO", "ST", "LT", "PN", "UC", "UT"}

try:
    import pydicom
except ImportError:  # pragma: no cover
    pydicom = None


def parse(text):
    """Rows (path, tag, vr, len, value) from a dcmdump-style listing."""
    rows = []
    stack = []  # (indent, label)
    in_data = False
    counters = {}
    for line in text.splitlines():
        if line.startswith("# Dicom-Data-Set"):
            in_data = True
            continue
        if line.lstrip().startswith("#") or not line.strip():
            continue
        m = LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        tag = (m.group(2) + m.group(3)).lower()
        vr, value, length = m.group(4), m.group(5), m.group(6)
        if not in_data or tag.startswith("0002") and indent == 0:
            continue
        if tag in ("fffee00d", "fffee0dd"):
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = "/".join(s[1] for s in stack)
        if tag == "fffee000":
            key = parent
            counters[key] = counters.get(key, -1) + 1
            label = "%s[%d]" % (parent.split("/")[-1] if parent else "", counters[key])
            path = parent + "/" + label if parent else label
            rows.append((path, tag, vr if vr in ("pi",) else "na", length, None))
            stack.append((indent, label))
            continue
        path = (parent + "/" if parent else "") + tag
        if vr == "SQ" or "(PixelSequence" in value:
            rows.append((path, tag, "SQ" if vr == "SQ" else "PX", length, None))
            stack.append((indent, tag))
            counters[path] = -1
            continue
        if vr == "??":
            vr = "UN"
        if vr == "up":
            vr = "UL"
        rows.append((path, tag, vr, length, value))
    rows.sort(key=sort_key)
    # A tag twice in one data set: dcmtk keeps the first only.
    seen, out = set(), []
    for r in rows:
        if r[0] in seen:
            continue
        seen.add(r[0])
        out.append(r)
    return out


def sort_key(row):
    """dcmtk lists a data set in tag order; the file may not be."""
    key = []
    for part in row[0].split("/"):
        m = re.match(r"^([0-9a-f]*)\[(\d+)\]$", part)
        if m:
            key.append((m.group(1), int(m.group(2))))
        else:
            key.append((part, -1))
    return key


def pydicom_tags(path):
    """Sorted (path, tag) of every element via pydicom, or None if it fails."""
    if pydicom is None:
        return None
    try:
        ds = pydicom.dcmread(path, force=True)
        out = []

        def walk(d, prefix):
            for el in d:
                tag = "%08x" % el.tag
                p = (prefix + "/" if prefix else "") + tag
                out.append(p)
                if el.VR == "SQ":
                    for i, item in enumerate(el.value):
                        walk(item, p + "/" + tag + "[%d]" % i)
        walk(ds, "")
        return sorted(out)
    except Exception:
        return None


def norm_value(vr, value):
    if value is None:
        return None
    if value.startswith("(no value available)"):
        return ""
    if value.startswith("[") and value.endswith("]"):
        return value[1:-1]
    if value.startswith("=") or value.startswith("(not loaded)"):
        return None
    return value


def numbers_equal(a, b):
    pa, pb = a.split("\\"), b.split("\\")
    if len(pa) != len(pb):
        return False
    for x, y in zip(pa, pb):
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            if x != y:
                return False
            continue
        if fx != fy and abs(fx - fy) > 1e-6 * max(abs(fx), abs(fy)):
            return False
    return True


def pydicom_texts(path):
    """{(path) -> decoded text} for charset-affected elements, via pydicom."""
    out = {}
    if pydicom is None:
        return out
    try:
        ds = pydicom.dcmread(path, force=True)
        ds.decode()
    except Exception:
        return None

    def walk(d, prefix):
        for el in d:
            tag = "%08x" % el.tag
            p = (prefix + "/" if prefix else "") + tag
            if el.VR == "SQ":
                for i, item in enumerate(el.value):
                    walk(item, p + "/" + tag + "[%d]" % i)
            elif el.VR in CHARSET_VRS:
                v = el.value
                if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
                    v = "\\".join(str(x) for x in v)
                out[p] = str(v) if v is not None else ""
    walk(ds, "")
    return out


def compare(path):
    # +uc: a known attribute sent as UN is read by its dictionary VR, as pacsvault reads it (PS3.5 6.2.2)
    d = subprocess.run(["dcmdump", "-q", "+L", "-Un", "-E", "+uc", path],
                       capture_output=True)
    p = subprocess.run([PV, "dump", "--max-values", "0", path], capture_output=True)
    if p.returncode < 0 or p.returncode > 2 or b"Sanitizer" in p.stderr or b"runtime error" in p.stderr:
        return "pacsvault crashed (status %d): %s" % (p.returncode, p.stderr[-300:])
    ours_err = p.returncode != 0
    dcmtk_err = d.returncode != 0 or not d.stdout.strip()
    if dcmtk_err:
        if ours_err:
            err = p.stderr.decode("utf-8", "replace")
            if "offset" not in err:
                return "rejected without a byte offset: " + err.strip()
            return None
        # dcmtk cannot read it; pydicom is the second oracle.
        ref = pydicom_tags(path)
        if ref is None:
            return "dcmdump and pydicom reject this file, pacsvault read it"
        mine = sorted(r[0] for r in parse(p.stdout.decode("utf-8"))
                      if r[1] != "fffee000" and not r[0].startswith("0002"))
        if mine != ref:
            return "dcmdump rejects this file; pacsvault's elements differ from pydicom's"
        return None
    if ours_err:
        return "pacsvault rejects a file dcmdump reads: " + p.stderr.decode("utf-8", "replace").strip()
    theirs = parse(d.stdout.decode("latin-1"))
    ours = parse(p.stdout.decode("utf-8"))
    texts = None
    if len(theirs) != len(ours):
        for i, (a, b) in enumerate(zip(theirs, ours)):
            if a[:3] != b[:3]:
                return "element count %d vs %d; first difference at %s (%s %s) vs %s (%s %s)" % (
                    len(theirs), len(ours), a[0], a[1], a[2], b[0], b[1], b[2])
        return "element count differs: dcmdump %d, pacsvault %d" % (len(theirs), len(ours))
    for a, b in zip(theirs, ours):
        apath, atag, avr, alen, aval = a
        bpath, btag, bvr, blen, bval = b
        if atag != btag or apath != bpath:
            return "at %s: tag %s vs %s" % (apath, atag, btag)
        if avr != bvr:
            return "at %s: VR %s vs %s" % (apath, avr, bvr)
        if alen != blen:
            # dcmtk reports an odd length as the padded even one
            if not (alen.isdigit() and blen.isdigit() and int(blen) % 2 == 1 and int(alen) == int(blen) + 1):
                return "at %s: length %s vs %s" % (apath, alen, blen)
        if avr in BINARY or avr in ("na", "pi", "SQ", "PX"):
            continue
        va, vb = norm_value(avr, aval), norm_value(bvr, bval)
        if va is None or vb is None:
            continue
        if avr in ("FL", "FD", "DS", "IS", "SL", "SS", "UL", "US", "SV", "UV"):
            if avr in ("DS", "IS"):
                if va.strip() != vb.strip():
                    return "at %s: value differs" % apath
            elif not numbers_equal(va, vb):
                return "at %s: %s value %r vs %r" % (apath, avr, va, vb)
            continue
        if va == vb:
            continue
        if avr in CHARSET_VRS and not all(31 < ord(c) < 128 for c in va):
            if texts is None:
                texts = pydicom_texts(path) or {}
            key = "/".join(x for x in apath.split("/"))
            ref = texts.get(key)
            if ref is not None and ref.rstrip(" \x00") == vb:
                continue
            if ref is not None and ref.strip() == vb.strip():
                continue
            if ref is not None and avr == "PN" and ref.rstrip("=") == vb.rstrip("="):
                continue
            return "at %s: text differs from pydicom's decoding" % apath
        if va.rstrip() == vb.rstrip():
            continue
        return "at %s: %s value differs" % (apath, avr)
    return None


def main(args):
    files = []
    for a in args:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                for n in sorted(names):
                    if n.endswith((".txt", ".json", ".dump", ".gz", ".py", ".pyc", ".md")):
                        continue
                    files.append(os.path.join(root, n))
        else:
            files.append(a)
    bad = 0
    for f in sorted(files):
        why = compare(f)
        name = os.path.relpath(f, "/usr/lib/python3/dist-packages/pydicom/data")
        if why is None:
            print("PASS: dumpcmp %s" % name)
        else:
            bad += 1
            print("FAIL: dumpcmp %s: %s" % (name, why))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
