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
  - an output folder inside the input is refused; the report holds no value.
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
    r = pv("deid", "-q", "--key", keyfile, "--report", report, src, "-o", out)
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
    pv("deid", "-q", "--key", keyfile, half1, "-o", os.path.join(work, "o1"))
    pv("deid", "-q", "--key", keyfile, half2, "-o", os.path.join(work, "o2"))
    same1 = open(os.path.join(work, "o1", "h1", "study1.dcm"), "rb").read() == \
        open(os.path.join(out, "in", "study1.dcm"), "rb").read()
    same2 = open(os.path.join(work, "o2", "h2", "study1b.dcm"), "rb").read() == \
        open(os.path.join(out, "in", "study1b.dcm"), "rb").read()
    check("separate runs, same key: byte-identical outputs", same1 and same2)

    # 5. modified dates: the keyed per-patient offset
    mo = os.path.join(work, "mod")
    pv("deid", "-q", "--key", keyfile, "--retain-modified-dates", os.path.join(src, "study2.dcm"), "-o", mo)
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
    r = pv("deid", "-q", "--key", keyfile, bad, "-o", ob)
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
    r = pv("deid", "-q", "--key", keyfile, "--recipe", recipe, os.path.join(src, "study2.dcm"), "-o", ro)
    rd = pydicom.dcmread(os.path.join(ro, "study2.dcm"))
    check("recipe: keep wins over the profile", rd.InstitutionName == o2.InstitutionName)
    check("recipe: replace", rd.StudyDescription == "RESEARCH")
    check("recipe: the rest follows the profile", rd.PatientID != o2.PatientID)
    open(recipe, "w").write('keep (0008,0080)\nkep (0010,0010)\n')
    r = pv("deid", "-q", "--key", keyfile, "--recipe", recipe, os.path.join(src, "study2.dcm"),
           "-o", os.path.join(work, "recipe-bad"))
    err = r.stderr.decode("utf-8", "replace")
    check("recipe: an error names the line and stops the run",
          r.returncode == 2 and "recipe.txt:2: unknown action 'kep'" in err and
          not os.path.exists(os.path.join(work, "recipe-bad", "study2.dcm")), err)

    # 6c. re-identification (PS3.15 E.1.2): originals encrypted for a certificate
    for tag in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", "/CN=pacsvault test %s" % tag, "-keyout", os.path.join(work, "reid-%s.key" % tag),
                        "-out", os.path.join(work, "reid-%s.pem" % tag)], check=True, capture_output=True)
    eo = os.path.join(work, "enc-out")
    r = pv("deid", "-q", "--key", keyfile, "--reid-cert", os.path.join(work, "reid-a.pem"), src, "-o", eo)
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
    r = pv("deid", "-q", "--key", keyfile, "--quarantine", uq, us_in, "-o", uo)
    err = r.stderr.decode("utf-8", "replace")
    check("burned-in risk: exit status 1 and the reason given",
          r.returncode == 1 and "modality US" in err and "BurnedInAnnotation is YES" in err, err)
    check("burned-in risk: nothing under OUTDIR but the CT",
          sorted(os.listdir(os.path.join(uo, "us-in"))) == ["ct.dcm"])
    check("burned-in risk: both in the quarantine, header de-identified",
          sorted(os.listdir(os.path.join(uq, "us-in"))) == ["bia.dcm", "us.dcm"] and
          pydicom.dcmread(os.path.join(uq, "us-in", "us.dcm")).get("PatientIdentityRemoved") == "YES")

    # 7. output inside the input, missing key, report content
    r = pv("deid", "-q", "--key", keyfile, src, "-o", os.path.join(src, "inner"))
    check("output inside the input is refused (2)", r.returncode == 2)
    r = pv("deid", "-q", src, "-o", os.path.join(work, "nokey"))
    check("no key is a usage error (2)", r.returncode == 2)
    lines = open(report, encoding="utf-8").read().splitlines()
    check("report: one JSON line per file", len(lines) == len(plants) and
          all(json.loads(l)["status"] == "ok" for l in lines))
    text = open(report, encoding="utf-8").read()
    leaked = [v for vals in plants.values() for v in vals if v in text]
    check("report: no planted value", not leaked, str(leaked[:3]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
