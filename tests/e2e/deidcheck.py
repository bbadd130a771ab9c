#!/usr/bin/python3
"""End-to-end checks of `pacsvault deid` on synthetic files with planted PHI.

  deidcheck.py WORKDIR

Makes synthetic studies (scripts/synth.py: names in UTF-8 and GB18030,
resident IDs in free text, nested sequences, private blocks, a source AE
title in the meta), de-identifies them, and checks:
  - no planted value survives anywhere: element by element at every depth
    (pydicom, decoded), and as raw bytes in UTF-8, GB18030 and Latin-1;
  - the required attributes are there (PS3.15 E.1.1) and the meta carries
    no source AE title;
  - UIDs are 2.25 pseudonyms equal to HMAC-SHA256(key, "uid" || uid)
    computed here independently; a reference across files resolves;
  - two separate runs over two halves of the set give identical outputs;
  - --retain-modified-dates moves a date by the keyed offset, computed here;
  - dcmdump reads every output; dciodvfy finds no error the input lacked;
  - a malformed file in the batch is refused while the rest is written;
  - an output folder inside the input is refused; the report holds no value;
  - overlays embedded in the unused bits of the pixels (every syntax and
    layout) and in 60xx,3000 are gone, every stored value kept.
Prints PASS/FAIL lines.
"""
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys

import pydicom

PV = os.environ.get("PV", "build/pacsvault")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print("PASS: deid %s" % name)
    else:
        failures += 1
        print("FAIL: deid %s%s" % (name, ": " + why if why else ""))


def pv(*args):
    r = subprocess.run([PV] + list(args), capture_output=True)
    if b"Sanitizer" in r.stderr or b"runtime error" in r.stderr:
        check("no sanitizer report (%s)" % args[0], False, r.stderr.decode("utf-8", "replace")[-400:])
    return r


def all_strings(ds):
    for el in ds.iterall():
        if el.VR == "SQ":
            continue
        v = el.value
        if isinstance(v, bytes):
            continue
        if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
            for x in v:
                yield el.tag, str(x)
        elif v is not None:
            yield el.tag, str(v)


def uid_pseudonym(key, uid):
    h = hmac.new(key, b"uid" + uid.encode(), hashlib.sha256).digest()
    return "2.25.%d" % int.from_bytes(h[:16], "big")


def main(work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "in")
    manifest = os.path.join(work, "planted.json")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts/synth.py"), "demo", src, manifest],
                   check=True, capture_output=True)
    plants = json.load(open(manifest, encoding="utf-8"))
    keyfile = os.path.join(work, "p.key")
    check("keygen", pv("keygen", "-o", keyfile).returncode == 0)
    key = open(keyfile, "rb").read()[16:48]

    out = os.path.join(work, "out")
    report = os.path.join(work, "report.jsonl")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--report", report, src, "-o", out)
    check("batch succeeds", r.returncode == 0, r.stderr.decode("utf-8", "replace"))

    # 1. no planted value anywhere
    for name, values in sorted(plants.items()):
        path = os.path.join(out, "in", name)
        if not os.path.exists(path):
            check("%s written" % name, False)
            continue
        raw = open(path, "rb").read()
        ds = pydicom.dcmread(path)
        ds.decode()
        strings = list(all_strings(ds))
        leaks = []
        for v in values:
            for enc in ("utf-8", "gb18030", "latin-1"):
                try:
                    b = v.encode(enc)
                except UnicodeEncodeError:
                    continue
                if b in raw or b.lower() in raw:
                    leaks.append("%r as %s bytes" % (v, enc))
            for tag, s in strings:
                if v.lower() in s.lower():
                    leaks.append("%r in %s" % (v, tag))
        check("%s: no planted value in any element or byte" % name, not leaks, "; ".join(leaks[:5]))
        # 2. required attributes, clean meta
        check("%s: PatientIdentityRemoved YES" % name, ds.get("PatientIdentityRemoved") == "YES")
        codes = [it.CodeValue for it in ds.get("DeidentificationMethodCodeSequence", [])]
        check("%s: CID 7050 code 113100" % name, "113100" in codes)
        check("%s: LongitudinalTemporalInformationModified" % name,
              ds.get("LongitudinalTemporalInformationModified") == "REMOVED")
        check("%s: no source AE title in the meta" % name,
              "SourceApplicationEntityTitle" not in ds.file_meta)
        check("%s: meta follows the new SOP Instance UID" % name,
              ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID)
        check("%s: preamble zeroed" % name, raw[:128] == b"\0" * 128)
        # 3. UIDs are the keyed pseudonyms
        orig = pydicom.dcmread(os.path.join(src, name))
        for kw in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
            check("%s: %s = HMAC pseudonym" % (name, kw),
                  getattr(ds, kw) == uid_pseudonym(key, getattr(orig, kw)))
        check("%s: no private element left" % name, not any(t.group % 2 for t in ds.keys()))
        rc = subprocess.run(["dcmdump", "-q", path], capture_output=True).returncode
        check("%s: dcmdump reads it" % name, rc == 0)
        e_in = set(l for l in subprocess.run(["dciodvfy", os.path.join(src, name)], capture_output=True)
                   .stderr.decode("latin-1").splitlines() if l.startswith("Error"))
        e_out = set(l for l in subprocess.run(["dciodvfy", path], capture_output=True)
                    .stderr.decode("latin-1").splitlines() if l.startswith("Error"))
        check("%s: dciodvfy finds no new error" % name, not (e_out - e_in), str(sorted(e_out - e_in)[:2]))

    # a reference across files resolves to the referenced file's new UID
    a = pydicom.dcmread(os.path.join(out, "in", "study1.dcm"))
    b = pydicom.dcmread(os.path.join(out, "in", "study1b.dcm"))
    check("a reference across files resolves",
          b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID)
    check("one patient, one pseudonym across files", a.PatientID == b.PatientID and a.PatientID.startswith("PV"))

    # 4. two runs over two halves: identical outputs
    half1, half2 = os.path.join(work, "h1"), os.path.join(work, "h2")
    os.makedirs(half1)
    os.makedirs(half2)
    shutil.copy(os.path.join(src, "study1.dcm"), half1)
    shutil.copy(os.path.join(src, "study1b.dcm"), half2)
    pv("deid", "--mirror", "-q", "--key", keyfile, half1, "-o", os.path.join(work, "o1"))
    pv("deid", "--mirror", "-q", "--key", keyfile, half2, "-o", os.path.join(work, "o2"))
    same1 = open(os.path.join(work, "o1", "h1", "study1.dcm"), "rb").read() == \
        open(os.path.join(out, "in", "study1.dcm"), "rb").read()
    same2 = open(os.path.join(work, "o2", "h2", "study1b.dcm"), "rb").read() == \
        open(os.path.join(out, "in", "study1b.dcm"), "rb").read()
    check("separate runs, same key: byte-identical outputs", same1 and same2)

    # 5. modified dates: the keyed per-patient offset
    mo = os.path.join(work, "mod")
    pv("deid", "--mirror", "-q", "--key", keyfile, "--retain-modified-dates", os.path.join(src, "study2.dcm"), "-o", mo)
    o2 = pydicom.dcmread(os.path.join(src, "study2.dcm"))
    d2 = pydicom.dcmread(os.path.join(mo, "study2.dcm"))
    h = hmac.new(key, b"date-shift" + o2.PatientID.encode(), hashlib.sha256).digest()
    days = -(1 + int.from_bytes(h[:4], "big") % 3650)
    want = (datetime.date(int(o2.StudyDate[:4]), int(o2.StudyDate[4:6]), int(o2.StudyDate[6:8])) +
            datetime.timedelta(days=days)).strftime("%Y%m%d")
    check("modified dates: StudyDate moved by the keyed offset", d2.StudyDate == want,
          "%s vs %s" % (d2.StudyDate, want))
    check("modified dates: LongitudinalTemporalInformationModified MODIFIED",
          d2.get("LongitudinalTemporalInformationModified") == "MODIFIED")
    check("modified dates: the birth date is still removed", not d2.get("PatientBirthDate"))

    # 6. a malformed file in the batch
    bad = os.path.join(work, "badbatch")
    shutil.copytree(src, bad)
    data = open(os.path.join(src, "study2.dcm"), "rb").read()
    open(os.path.join(bad, "zz-truncated.dcm"), "wb").write(data[:700])
    ob = os.path.join(work, "badout")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, bad, "-o", ob)
    err = r.stderr.decode("utf-8", "replace")
    check("a malformed file: exit status 1", r.returncode == 1)
    check("a malformed file: named with its offset", "zz-truncated.dcm" in err and "offset" in err, err)
    check("a malformed file: no output for it", not os.path.exists(os.path.join(ob, "badbatch", "zz-truncated.dcm")))
    check("a malformed file: the rest is written",
          all(os.path.exists(os.path.join(ob, "badbatch", n)) for n in plants))

    # 6b. a recipe
    recipe = os.path.join(work, "recipe.txt")
    open(recipe, "w").write('keep (0008,0080)\nreplace StudyDescription "RESEARCH"\n')
    ro = os.path.join(work, "recipe-out")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--recipe", recipe, os.path.join(src, "study2.dcm"), "-o", ro)
    rd = pydicom.dcmread(os.path.join(ro, "study2.dcm"))
    check("recipe: keep wins over the profile", rd.InstitutionName == o2.InstitutionName)
    check("recipe: replace", rd.StudyDescription == "RESEARCH")
    check("recipe: the rest follows the profile", rd.PatientID != o2.PatientID)
    open(recipe, "w").write('keep (0008,0080)\nkep (0010,0010)\n')
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--recipe", recipe, os.path.join(src, "study2.dcm"),
           "-o", os.path.join(work, "recipe-bad"))
    err = r.stderr.decode("utf-8", "replace")
    check("recipe: an error names the line and stops the run",
          r.returncode == 1 and "recipe.txt:2: unknown action 'kep'" in err and
          not os.path.exists(os.path.join(work, "recipe-bad", "study2.dcm")), err)

    # 6c. re-identification (PS3.15 E.1.2): originals encrypted for a certificate
    for tag in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", "/CN=pacsvault test %s" % tag, "-keyout", os.path.join(work, "reid-%s.key" % tag),
                        "-out", os.path.join(work, "reid-%s.pem" % tag)], check=True, capture_output=True)
    eo = os.path.join(work, "enc-out")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--reid-cert", os.path.join(work, "reid-a.pem"), src, "-o", eo)
    check("reid-cert: batch succeeds", r.returncode == 0, r.stderr.decode("utf-8", "replace"))
    leaks = []
    for name, values in plants.items():
        raw = open(os.path.join(eo, "in", name), "rb").read()
        for v in values:
            for enc in ("utf-8", "gb18030", "latin-1"):
                try:
                    if v.encode(enc) in raw:
                        leaks.append(v)
                except UnicodeEncodeError:
                    pass
    check("reid-cert: the encrypted originals leak no planted value", not leaks, str(leaks[:3]))
    ro2 = os.path.join(work, "reid-out")
    r = pv("reid", "--key", os.path.join(work, "reid-a.key"), os.path.join(eo, "in"), "-o", ro2)
    check("reid: restores with the right key", r.returncode == 0, r.stderr.decode("utf-8", "replace"))
    for name in sorted(plants):
        a = pv("dump", "--no-meta", os.path.join(src, name)).stdout
        b = pv("dump", "--no-meta", os.path.join(ro2, "in", name)).stdout
        check("reid: %s is the original data set again" % name, a == b and len(a) > 0)
    r = pv("reid", "--key", os.path.join(work, "reid-b.key"), os.path.join(eo, "in", "study1.dcm"),
           "-o", os.path.join(work, "reid-wrong"))
    check("reid: another key is refused (1), nothing written",
          r.returncode == 1 and not os.path.exists(os.path.join(work, "reid-wrong", "study1.dcm")))
    r = pv("reid", "--key", os.path.join(work, "reid-a.key"), os.path.join(out, "in", "study1.dcm"),
           "-o", os.path.join(work, "reid-none"))
    check("reid: a file without encrypted attributes is refused (1)", r.returncode == 1)

    # 6d. burned-in text: never written to OUTDIR as it is
    us_in = os.path.join(work, "us-in")
    os.makedirs(us_in)
    u = pydicom.dcmread(os.path.join(src, "study2.dcm"))
    u.Modality = "US"
    u.save_as(os.path.join(us_in, "us.dcm"))
    b2 = pydicom.dcmread(os.path.join(src, "study3.dcm"))
    b2.BurnedInAnnotation = "YES"
    b2.save_as(os.path.join(us_in, "bia.dcm"))
    shutil.copy(os.path.join(src, "study1.dcm"), os.path.join(us_in, "ct.dcm"))
    uo, uq = os.path.join(work, "us-out"), os.path.join(work, "us-quarantine")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--quarantine", uq, us_in, "-o", uo)
    err = r.stderr.decode("utf-8", "replace")
    check("burned-in risk: exit status 1 and the reason given",
          r.returncode == 1 and "modality US" in err and "BurnedInAnnotation is YES" in err, err)
    check("burned-in risk: nothing under OUTDIR but the CT",
          sorted(os.listdir(os.path.join(uo, "us-in"))) == ["ct.dcm"])
    check("burned-in risk: both in the quarantine, header de-identified",
          sorted(os.listdir(os.path.join(uq, "us-in"))) == ["bia.dcm", "us.dcm"] and
          pydicom.dcmread(os.path.join(uq, "us-in", "us.dcm")).get("PatientIdentityRemoved") == "YES")

    # 7. output inside the input, missing key, report content
    r = pv("deid", "--mirror", "-q", "--key", keyfile, src, "-o", os.path.join(src, "inner"))
    check("output inside the input is refused (2)", r.returncode == 2)
    r = pv("deid", "--mirror", "-q", src, "-o", os.path.join(work, "nokey"))
    check("no key is a usage error (2)", r.returncode == 2)
    # An output path that is its input: the folder's parent as OUTDIR maps
    # every file onto itself; a file given alone into its own folder too.
    # Refused before anything is written; the inputs are unchanged.
    before = {f: open(os.path.join(src, f), "rb").read() for f in sorted(os.listdir(src))
              if os.path.isfile(os.path.join(src, f))}
    r = pv("deid", "--mirror", "-q", "--key", keyfile, src, "-o", os.path.dirname(src))
    check("an output that would replace its input is refused (2)",
          r.returncode == 2 and "would replace its input" in r.stderr.decode(), r.stderr.decode()[-300:])
    one = sorted(before)[0]
    r = pv("deid", "--mirror", "-q", "--key", keyfile, os.path.join(src, one), "-o", src)
    check("a file de-identified into its own folder is refused (2)",
          r.returncode == 2 and "would replace its input" in r.stderr.decode(), r.stderr.decode()[-300:])
    check("the refused runs left the inputs as they were",
          all(open(os.path.join(src, f), "rb").read() == b for f, b in before.items()))
    lines = open(report, encoding="utf-8").read().splitlines()
    check("report: one JSON line per file", len(lines) == len(plants) and
          all(json.loads(l)["status"] == "ok" for l in lines))
    text = open(report, encoding="utf-8").read()
    leaked = [v for vals in plants.values() for v in vals if v in text]
    check("report: no planted value", not leaked, str(leaked[:3]))
    embedded_overlays(work, keyfile)
    clean_graphics_overlays(work, keyfile)
    sync_calls(work, keyfile, src)
    return 1 if failures else 0


def sync_calls(work, keyfile, src):
    """deid leaves outputs to writeback; --sync makes them durable with one
    syncfs of the output folder, after the last output is in place. strace
    is the oracle (the calls a process makes cannot be seen otherwise)."""
    probe = subprocess.run(["strace", "-o", "/dev/null", "true"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: deid --sync: strace cannot trace here: %s" % probe.stderr.decode()[-200:])
        return
    calls = {}
    # LeakSanitizer cannot run under a tracer; the other runs check leaks.
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    for name, extra in (("default", []), ("--sync", ["--sync"])):
        out = os.path.join(work, "sync-" + name.strip("-"))
        log = out + ".strace"
        r = subprocess.run(["strace", "-f", "-qq", "-o", log, "-e", "trace=syncfs,fsync,fdatasync,sync,"
                            "sync_file_range,openat,linkat,renameat,renameat2,rename", PV, "deid", "--mirror", "-q",
                            "--key", keyfile] + extra + [src, "-o", out], capture_output=True, env=env)
        check("%s run succeeds under strace" % name, r.returncode == 0, r.stderr.decode()[-300:])
        lines = [l for l in open(log, encoding="utf-8", errors="replace").read().splitlines()]
        calls[name] = lines
    def name_of(line):  # "PID call(args) = rc"
        rest = line.split(None, 1)[-1]
        return rest.split("(", 1)[0]
    def syncs(lines):
        return [l for l in lines if name_of(l) in ("syncfs", "fsync", "fdatasync", "sync", "sync_file_range")]
    check("without --sync nothing is synced", not syncs(calls["default"]), str(syncs(calls["default"])[:3]))
    s = syncs(calls["--sync"])
    check("--sync: exactly one syncfs and no per-file fsync",
          len(s) == 1 and "syncfs(" in s[0], str(s[:5]))
    lines = calls["--sync"]
    last_put = max((i for i, l in enumerate(lines) if name_of(l) in ("linkat", "rename", "renameat", "renameat2")),
                   default=-1)
    first_sync = min((i for i, l in enumerate(lines) if name_of(l) == "syncfs"), default=-1)
    check("--sync: the syncfs comes after the last output is named", 0 <= last_put < first_sync,
          "last link/rename at %d, syncfs at %d" % (last_put, first_sync))
    def tree(root):
        return {os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
                for d, _, fs in os.walk(root) for f in fs}
    a, b = tree(os.path.join(work, "sync-default")), tree(os.path.join(work, "sync-sync"))
    same = len(a) > 0 and a == b
    check("--sync writes the same bytes", same)


def clean_graphics_overlays(work, keyfile):
    """--clean-graphics on overlay planes: the text in the bitmap (a name and
    an ID in a 5x7 font, in two frames) is cleared, the graphics (an ROI
    outline, a cross) stay bit for bit, the free text of the plane goes;
    without the option the plane goes whole. Checked by unpacking the bits
    here, and by the scanner's text detector finding nothing left."""
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import pixfont
    from pydicom.uid import ExplicitVRLittleEndian
    d = os.path.join(work, "cg-in")
    os.makedirs(d)
    rows, cols, nf = 96, 128, 2
    planes = np.zeros((nf, rows, cols), dtype=np.uint8)
    text = np.zeros((nf, rows, cols), dtype=bool)
    for k in range(nf):
        x0, y0, w, h = pixfont.render(planes[k], "DOE JOHN 4471", 4, 4 + 20 * k, 1)
        text[k, y0:y0 + h, x0:x0 + w] = True
        x0, y0, w, h = pixfont.render(planes[k], "ID 55-1029", 40, 85, 1)  # clear of the ROI, with margins
        text[k, y0:y0 + h, x0:x0 + w] = True
    graphics = np.zeros((rows, cols), dtype=np.uint8)
    graphics[50:52, 70:120] = 1          # an ROI outline
    graphics[50:76, 70:72] = 1
    graphics[74:76, 70:120] = 1
    graphics[50:76, 118:120] = 1
    graphics[60, 10:30] = 1              # a cross
    graphics[50:70, 20] = 1
    planes |= graphics[np.newaxis]
    ds = mr_dataset(ExplicitVRLittleEndian, "2.25.5151", rows, cols, 1, "DOE^JOHN", "4471")
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = nf
    ds.PixelData = np.zeros((nf, rows, cols), dtype=np.uint8).tobytes()
    add_overlay(ds, 0x6000, rows, cols, 0, planes)
    ds.add_new(0x60000015, "IS", str(nf))
    ds.add_new(0x60000022, "LO", "annotations of DOE JOHN")
    ds.add_new(0x60001500, "LO", "DOE JOHN")
    ds.add_new(0x60004000, "LT", "drawn for DOE JOHN")
    ds.save_as(os.path.join(d, "ovl.dcm"), write_like_original=False)
    for opt, keep in (("--clean-graphics", True), (None, False)):
        out = os.path.join(work, "cg-out" + ("-opt" if opt else ""))
        rep = os.path.join(work, "cg-report%s.jsonl" % ("-opt" if opt else ""))
        args = ["deid", "--mirror", "-q", "--key", keyfile, "--report", rep] + ([opt] if opt else []) + [d, "-o", out]
        r = pv(*args)
        check("clean graphics %s: batch succeeds" % (opt or "off"), r.returncode == 0,
              r.stderr.decode("utf-8", "replace"))
        p = os.path.join(out, "cg-in", "ovl.dcm")
        if not os.path.exists(p):
            check("clean graphics: %s written" % p, False)
            continue
        b = pydicom.dcmread(p)
        groups = {t.element for t in b.keys() if t.group == 0x6000}
        if not keep:
            check("clean graphics off: the overlay plane is removed whole", not groups, str(sorted(groups)))
            continue
        check("clean graphics: the plane's layout and bitmap are kept",
              {0x0010, 0x0011, 0x0015, 0x0040, 0x0050, 0x0100, 0x0102, 0x3000} <= groups, str(sorted(groups)))
        check("clean graphics: the plane's free text is removed (description, label, comments)",
              not groups & {0x0022, 0x1500, 0x4000}, str(sorted(groups)))
        got = np.unpackbits(np.frombuffer(b[0x60003000].value, dtype=np.uint8), bitorder="little")
        got = got[:nf * rows * cols].reshape(nf, rows, cols)
        check("clean graphics: no text pixel is left in any frame", not (got & text).any(),
              "%d left" % int((got & text).sum()))
        check("clean graphics: the graphics are kept bit for bit in every frame",
              all(np.array_equal(got[k] & graphics, graphics) for k in range(nf)))
        check("clean graphics: nothing was drawn", not (got & ~planes.astype(bool)).any())
        j = json.loads(open(rep, encoding="utf-8").readline())
        check("clean graphics: the report says C for 60003000", j.get("actions", {}).get("60003000") == "C",
              str(j.get("actions", {}).get("60003000")))
        raw = open(p, "rb").read()
        check("clean graphics: no planted text in the file", b"DOE" not in raw and b"4471" not in raw)


def mr_dataset(ts, sop, rows, cols, spp, name, pid):
    """A minimal MR image data set (no pixel attributes beyond the layout)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = sop + ".1"
    ds.SeriesInstanceUID = sop + ".2"
    ds.Modality = "MR"
    ds.PatientName = name
    ds.PatientID = pid
    ds.BurnedInAnnotation = "NO"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, spp
    ds.PhotometricInterpretation = "RGB" if spp == 3 else "MONOCHROME2"
    if spp == 3:
        ds.PlanarConfiguration = 0
    return ds


def add_overlay(ds, group, rows, cols, bit_position, bitmap=None):
    """An overlay plane in group 0x60gg: the layout, and the packed bitmap
    (60gg,3000) when given (none: an overlay embedded in the pixels)."""
    import numpy as np
    g = group << 16
    ds.add_new(g | 0x0010, "US", rows)
    ds.add_new(g | 0x0011, "US", cols)
    ds.add_new(g | 0x0040, "CS", "G")
    ds.add_new(g | 0x0050, "SS", [1, 1])
    ds.add_new(g | 0x0100, "US", 1)
    ds.add_new(g | 0x0102, "US", bit_position)
    if bitmap is not None:
        ds.add_new(g | 0x3000, "OW", np.packbits(bitmap.ravel(), bitorder="little").tobytes())


def stored_values(ds):
    """Pixel values as a conforming reader sees them: bits HighBit-BitsStored+1
    .. HighBit, sign-extended when PixelRepresentation is 1 (computed here from
    the raw bytes, not through pydicom's pixel handlers)."""
    import numpy as np
    dt = {8: "u1", 16: "u2", 32: "u4"}[ds.BitsAllocated]
    r = np.frombuffer(ds.PixelData, dtype=("<" if ds.is_little_endian else ">") + dt).astype(np.int64)
    bs, hb = ds.BitsStored, ds.HighBit
    v = (r >> (hb + 1 - bs)) & ((1 << bs) - 1)
    if ds.PixelRepresentation:
        v = np.where(v >= (1 << (bs - 1)), v - (1 << bs), v)
    return v, r


def embedded_overlays(work, keyfile):
    """An overlay drawn in the unused high bits of the pixels (PS3.5 8.1.2,
    retired) and one in 60xx,3000: both gone after deid, in every syntax and
    layout, with every stored value unchanged."""
    import numpy as np
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
    d = os.path.join(work, "ovl-in")
    os.makedirs(d)
    rng = np.random.default_rng(5)
    # a text-like bitmap: strokes of a name, 1 where the overlay draws
    bm = np.zeros((32, 48), dtype=bool)
    bm[4:6, 2:44] = True
    bm[4:28, 2:4] = True
    bm[14:16, 2:30] = True
    cases = {
        # name: (ts, bits allocated, bits stored, high bit, signed, samples, overlay bit)
        "u12.dcm": (ExplicitVRLittleEndian, 16, 12, 11, 0, 1, 15),
        "s12.dcm": (ExplicitVRLittleEndian, 16, 12, 11, 1, 1, 12),
        "s12-implicit.dcm": (ImplicitVRLittleEndian, 16, 12, 11, 1, 1, 14),
        "u12-big.dcm": (ExplicitVRBigEndian, 16, 12, 11, 0, 1, 13),
        "s10-hb13.dcm": (ExplicitVRLittleEndian, 16, 10, 13, 1, 1, 0),
        "rgb12.dcm": (ExplicitVRLittleEndian, 16, 12, 11, 0, 3, 15),
        "u16-full.dcm": (ExplicitVRLittleEndian, 16, 16, 15, 0, 1, None),
        "u6-of-8.dcm": (ExplicitVRLittleEndian, 8, 6, 5, 0, 1, 7),
    }
    expect = {}
    for k, (name, (ts, ba, bs, hb, signed, spp, obit)) in enumerate(sorted(cases.items())):
        ds = mr_dataset(ts, "2.25.4242%d" % k, 32, 48, spp, "OVERLAY^PLANTED", "OVL-1")
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = ba, bs, hb, signed
        lo = hb + 1 - bs
        vals = rng.integers(-(1 << (bs - 1)) if signed else 0, (1 << (bs - 1)) if signed else (1 << bs),
                            size=(32, 48, spp) if spp > 1 else (32, 48))
        raw = ((vals.astype(np.int64) & ((1 << bs) - 1)) << lo)   # stored bits only, no sign extension
        if obit is not None:
            m = bm if spp == 1 else bm[..., None].repeat(spp, axis=2)
            raw = raw | (m.astype(np.int64) << obit)
            add_overlay(ds, 0x6000, 32, 48, obit)
        # and a separate overlay plane with the same drawing (60xx,3000)
        add_overlay(ds, 0x6002, 32, 48, 0, bm)
        dt = {8: "u1", 16: "u2"}[ba]
        big = ts == ExplicitVRBigEndian
        ds.PixelData = raw.astype(">" + dt if big else "<" + dt).tobytes()
        ds.is_little_endian = not big
        ds.is_implicit_VR = ts == ImplicitVRLittleEndian
        ds.save_as(os.path.join(d, name), write_like_original=False)
        expect[name] = (vals, int(((raw & ~(((1 << bs) - 1) << lo) & ((1 << ba) - 1)) != 0).sum()) if not signed
                        else None)
    out = os.path.join(work, "ovl-out")
    rep = os.path.join(work, "ovl-report.jsonl")
    r = pv("deid", "--mirror", "-q", "--key", keyfile, "--report", rep, d, "-o", out)
    check("embedded overlays: batch succeeds", r.returncode == 0, r.stderr.decode("utf-8", "replace"))
    reps = {os.path.basename(j["file"]): j for j in map(json.loads, open(rep, encoding="utf-8"))}
    for name, (ts, ba, bs, hb, signed, spp, obit) in sorted(cases.items()):
        p = os.path.join(out, "ovl-in", name)
        if not os.path.exists(p):
            check("embedded overlays: %s written" % name, False)
            continue
        a = pydicom.dcmread(os.path.join(d, name))
        b = pydicom.dcmread(p)
        va, _ = stored_values(a)
        vb, rb = stored_values(b)
        check("embedded overlays: %s keeps every stored value" % name, np.array_equal(va, vb))
        lo = hb + 1 - bs
        unused = ((1 << ba) - 1) & ~(((1 << bs) - 1) << lo)
        if signed:
            ext = ((1 << ba) - 1) & ~((2 << hb) - 1)
            want = np.where((rb >> hb) & 1, ext, 0)
            ok = np.array_equal(rb & unused, want)
        else:
            ok = not (rb & unused).any()
        check("embedded overlays: %s: unused bits %s" % (name, "are the sign extension" if signed else "are zero"),
              ok)
        check("embedded overlays: %s: no overlay group left" % name,
              not any(0x6000 <= t.group <= 0x60ff for t in b.keys()))
        n = reps.get(name, {}).get("counts", {}).get("unused_bits")
        if expect[name][1] is not None:
            check("embedded overlays: %s: report counts %s rewritten samples" % (name, expect[name][1]),
                  n == expect[name][1], "report says %s" % n)
        else:
            check("embedded overlays: %s: report counts rewritten samples" % name, isinstance(n, int) and n > 0)
        check("embedded overlays: %s: dcmdump reads it" % name,
              subprocess.run(["dcmdump", "-q", p], capture_output=True).returncode == 0)
        # the scanner sees the embedded overlay in the input, nothing in the output
        found = []
        for f in (os.path.join(d, name), p):
            r = pv("scan", "--json", "--no-ocr", f)
            lines = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines() if l.startswith("{\"file\"")]
            found.append([x for x in (lines[0]["findings"] if lines else [])
                          if x["kind"] == "overlay" and x["path"] == "7FE00010"])
        planted = obit is not None  # the stored values are written without sign extension here
        check("embedded overlays: %s: scan %s the unused bits of the input, nothing in the output" %
              (name, "flags" if planted else "does not flag"), bool(found[0]) == planted and not found[1],
              str(found))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
