"""vaultcheck.py: the encrypted vault end to end (issue #5 must-shows).

1. Round trip: pydicom's test files and a generated 2,000-instance set are
   imported; `get` gives back byte-identical files; `find` answers a table of
   C-FIND queries whose expected sets are computed here from the generated
   metadata.
2. No clear PHI at rest: a raw byte search of every file under the vault
   (objects, index.db and its -wal/-shm) finds none of the planted names,
   IDs, birth dates or accession numbers, in any character set used.
3. Tampering: a flipped bit, a truncated object, two swapped objects, two
   swapped chunks, swapped index rows and a wrong key each give an
   integrity error naming the object; no output file is left behind.
4. Crash safety: 50 SIGKILLs of `import` at random moments; after each,
   fsck finds nothing damaged or missing, and every acknowledged instance
   is there, byte-identical; 50 SIGKILLs of `vault rotate-key`, each run
   again to the end; afterwards the old master key opens nothing.
5. `rm`: the object is shredded before it goes (a hard link kept to it
   cannot be opened with the master key), no trace in the index.
An independent reader of the sealed format (python3-cryptography, from
docs/FORMATS.md) decrypts the objects and compares them with the inputs.
"""
import glob
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ["PV"]
PVR = os.environ.get("PV_RELEASE", PV)
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")


def pv(args, ok=(0,), exe=None, env=None):
    p = subprocess.run([exe or PV] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:2]), p.returncode, p.stderr.decode()[-800:]))
    return p


# ---- an independent reader of the sealed object format (docs/FORMATS.md) ----

def read_key(path):
    b = open(path, "rb").read()
    assert len(b) == 48 and b[:8] == b"PVKEY\0\0\0"
    return b[16:48]


def key_id(ktype, key):
    return hashlib.sha256(b"pacsvault key id" + bytes([ktype]) + key).digest()[:4]


def unseal(path, master):
    """The plaintext of a sealed object, or raises ValueError."""
    b = open(path, "rb").read()
    if len(b) < 176 or b[:8] != b"PVSEALED" or b[8] != 1 or b[9] != 1:
        raise ValueError("not a sealed object")
    kid = key_id(2, master)
    kek = hmac.new(master, b"pacsvault v1 wrap", hashlib.sha256).digest()
    dk = None
    for slot in (0, 1):
        s = b[32 + 64 * slot:96 + 64 * slot]
        if s[:4] == kid:
            dk = AESGCM(kek).decrypt(s[4:16], s[16:64], b[:32] + kid + bytes([slot]))
    if dk is None:
        raise ValueError("no slot for this key")
    objid = b[16:32]
    body = b[160:]
    n = -(-len(body) // 65552)
    out = b""
    for i in range(n):
        c = body[i * 65552:(i + 1) * 65552]
        final = 1 if i == n - 1 else 0
        out += AESGCM(dk).decrypt(b"\0\0\0\0" + struct.pack(">Q", i), c, objid + struct.pack(">Q", i) + bytes([final]))
    return out


def objects(vault):
    return sorted(glob.glob(os.path.join(vault, "objects", "*", "*.pvo")))


# ---- the generated set ----

CHARSETS = [
    ("ISO_IR 100", lambda i: "Müller^Jürgen%03d" % i, "latin-1"),
    ("ISO_IR 192", lambda i: "王^小明%03d" % i, "utf-8"),
    ("GB18030", lambda i: "张^伟%03d" % i, "gb18030"),
    (["", "ISO 2022 IR 87"], lambda i: "Yamada%03d^Tarou=山田^太郎%03d" % (i, i), "iso2022_jp"),
    ("", lambda i: "O'NEIL^MARY%03d" % i, "ascii"),
]


def gen_set(root, n_total=2000, n_patients=40, seed=5):
    rnd = random.Random(seed)
    meta = []   # one dict per instance
    plants = []  # (label, bytes) that must never appear in clear
    os.makedirs(root, exist_ok=True)
    pats = []
    for p in range(n_patients):
        cs, namef, enc = CHARSETS[p % len(CHARSETS)]
        name = namef(p)
        pid = "PVID%05dQ" % (p * 37 + 11)
        birth = "19%02d%02d%02d" % (30 + p % 60, 1 + p % 12, 1 + p % 27)
        sex = "MF"[p % 2]
        pats.append(dict(cs=cs, name=name, enc=enc, pid=pid, birth=birth, sex=sex, studies=[]))
        for part in name.replace("=", "^").split("^"):
            if len(part) >= 3:
                plants.append(("name %d" % p, part.encode(enc if enc != "iso2022_jp" else "utf-8")))
                if enc == "iso2022_jp" and any(ord(c) > 127 for c in part):
                    plants.append(("name %d (iso2022)" % p, part.encode("iso2022_jp")))
                    plants.append(("name %d (euc-jp)" % p, part.encode("euc_jp")))
        plants.append(("name %d utf-8" % p, name.encode("utf-8")))
        plants.append(("id %d" % p, pid.encode()))
        plants.append(("birth %d" % p, birth.encode()))
    uid_n = [0]

    def uid():
        uid_n[0] += 1
        return "2.25.%d" % (10 ** 20 + rnd.randrange(10 ** 18) * 1000 + uid_n[0])
    # Distribute instances: each patient 1-3 studies, each 1-3 series.
    series = []
    for p, pt in enumerate(pats):
        for s in range(1 + p % 3):
            st = dict(uid=uid(), date="20%02d%02d%02d" % (5 + (p + s) % 15, 1 + s * 4, 2 + p % 25),
                      time="%02d%02d%02d" % (7 + (p * 3 + s) % 12, (p * 7) % 60, s * 11),
                      acc="ACC%07d" % (p * 100 + s), desc=["HEAD routine", "CHEST low dose", "Abdomen"][(p + s) % 3],
                      series=[])
            pt["studies"].append(st)
            plants.append(("accession %d/%d" % (p, s), st["acc"].encode()))
            for r in range(1 + (p + s) % 3):
                se = dict(uid=uid(), modality=["CT", "MR", "CT", "US"][(p + s + r) % 4], number=r + 1,
                          desc=["Axial 5mm", "Sagittal", "axial thin"][(s + r) % 3], inst=[])
                st["series"].append(se)
                series.append((pt, st, se))
    for k in range(n_total):
        pt, st, se = series[k % len(series)]
        se["inst"].append(dict(uid=uid(), number=len(se["inst"]) + 1))
    k = 0
    for pt in pats:
        for st in pt["studies"]:
            for se in st["series"]:
                for inst in se["inst"]:
                    fm = FileMetaDataset()
                    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
                    fm.MediaStorageSOPInstanceUID = inst["uid"]
                    fm.TransferSyntaxUID = ExplicitVRLittleEndian
                    ds = Dataset()
                    ds.file_meta = fm
                    ds.SpecificCharacterSet = pt["cs"]
                    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
                    ds.SOPInstanceUID = inst["uid"]
                    ds.StudyInstanceUID = st["uid"]
                    ds.SeriesInstanceUID = se["uid"]
                    ds.PatientName = pt["name"]
                    ds.PatientID = pt["pid"]
                    ds.PatientBirthDate = pt["birth"]
                    ds.PatientSex = pt["sex"]
                    ds.StudyDate = st["date"]
                    ds.StudyTime = st["time"]
                    ds.AccessionNumber = st["acc"]
                    ds.StudyDescription = st["desc"]
                    ds.Modality = se["modality"]
                    ds.SeriesNumber = se["number"]
                    ds.SeriesDescription = se["desc"]
                    ds.InstanceNumber = inst["number"]
                    ds.Rows = ds.Columns = 8
                    ds.BitsAllocated = ds.BitsStored = 16
                    ds.HighBit = 15
                    ds.PixelRepresentation = 0
                    ds.SamplesPerPixel = 1
                    ds.PhotometricInterpretation = "MONOCHROME2"
                    ds.PixelData = bytes(rnd.randrange(256) for _ in range(128))
                    ds.is_little_endian = True
                    ds.is_implicit_VR = False
                    path = os.path.join(root, "%04d.dcm" % k)
                    ds.save_as(path, write_like_original=False)
                    inst["path"] = path
                    meta.append(dict(pt=pt, st=st, se=se, inst=inst))
                    k += 1
    return pats, meta, plants


def find(vault, level, keys):
    p = pv(["find", "--vault", vault, "--level", level, "--json"] + keys)
    return json.loads(p.stdout.decode())


def query_table(vault, pats, meta):
    """(description, level, keys, expected set of unique keys)."""
    studies = [(pt, st) for pt in pats for st in pt["studies"]]
    seriesl = [(pt, st, se) for pt in pats for st in pt["studies"] for se in st["series"]]
    p5, p7 = pats[5], pats[7]
    some_series = seriesl[11][2]
    three = [studies[i][1]["uid"] for i in (0, 9, 20)]
    sops = [m["inst"]["uid"] for m in meta[100:104]]
    t = [
        ("studies of a patient ID", "STUDY", ["PatientID=" + p5["pid"]],
         {st["uid"] for st in p5["studies"]}),
        ("a Latin-1 name, wildcard, lower case", "PATIENT", ["PatientName=müller^jürgen00*"],
         {pt["pid"] for pt in pats if pt["name"].lower().startswith("müller^jürgen00")}),
        ("a UTF-8 Chinese name with ?", "PATIENT", ["PatientName=王^小明?05"],
         {pt["pid"] for pt in pats if pt["name"].startswith("王^小明") and len(pt["name"]) == 8 and pt["name"].endswith("05")}),
        ("a GB18030 name, exact", "PATIENT", ["PatientName=" + pats[2]["name"]], {pats[2]["pid"]}),
        ("an ISO 2022 IR 87 name by its ideographic group", "PATIENT", ["PatientName=*=山田^太郎%03d" % 3],
         {pats[3]["pid"]}),
        ("a study date range", "STUDY", ["StudyDate=20100101-20121231"],
         {st["uid"] for pt, st in studies if "20100101" <= st["date"] <= "20121231"}),
        ("an open date range", "STUDY", ["StudyDate=-20080615"],
         {st["uid"] for pt, st in studies if st["date"] <= "20080615"}),
        ("an accession number", "STUDY", ["AccessionNumber=" + p7["studies"][0]["acc"]], {p7["studies"][0]["uid"]}),
        ("modalities in study", "STUDY", ["ModalitiesInStudy=MR"],
         {st["uid"] for pt, st in studies if any(se["modality"] == "MR" for se in st["series"])}),
        ("series by modality of a patient", "SERIES", ["PatientID=" + p7["pid"], "Modality=CT"],
         {se["uid"] for st in p7["studies"] for se in st["series"] if se["modality"] == "CT"}),
        ("instances of a series", "IMAGE", ["SeriesInstanceUID=" + some_series["uid"]],
         {i["uid"] for i in some_series["inst"]}),
        ("a UID list", "STUDY", ["StudyInstanceUID=" + "\\".join(three)], set(three)),
        ("birth date range", "PATIENT", ["PatientBirthDate=19500101-19691231"],
         {pt["pid"] for pt in pats if "19500101" <= pt["birth"] <= "19691231"}),
        ("sex and date", "STUDY", ["PatientSex=F", "StudyDate=-20120101"],
         {st["uid"] for pt, st in studies if pt["sex"] == "F" and st["date"] <= "20120101"}),
        ("description wildcard is case-sensitive", "STUDY", ["StudyDescription=*HEAD*"],
         {st["uid"] for pt, st in studies if "HEAD" in st["desc"]}),
        ("series description with ?", "SERIES", ["SeriesDescription=?xial*"],
         {se["uid"] for pt, st, se in seriesl if se["desc"][1:].startswith("xial")}),
        ("a SOP instance UID list", "IMAGE", ["SOPInstanceUID=" + "\\".join(sops)], set(sops)),
        ("an unknown patient ID", "STUDY", ["PatientID=NOSUCHID"], set()),
        ("every study (universal)", "STUDY", [], {st["uid"] for pt, st in studies}),
        ("a time range", "STUDY", ["StudyTime=0900-1130"],
         {st["uid"] for pt, st in studies if "090000" <= st["time"] <= "113059"}),
        ("patient ID and study date", "STUDY", ["PatientID=" + p5["pid"], "StudyDate=" + p5["studies"][0]["date"]],
         {st["uid"] for st in p5["studies"] if st["date"] == p5["studies"][0]["date"]}),
    ]
    keyname = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
               "IMAGE": "SOPInstanceUID"}
    for desc, level, keys, want in t:
        rows = find(vault, level, keys)
        got = {r[keyname[level]] for r in rows}
        check(got == want and len(rows) == len(got),
              "find %s: %d of %d expected (%s)" % (desc, len(got & want), len(want), " ".join(keys)[:80]))
    # Counts returned at the patient and study levels.
    rows = find(vault, "PATIENT", ["PatientID=" + p5["pid"], "NumberOfPatientRelatedStudies="])
    check(len(rows) == 1 and rows[0]["NumberOfPatientRelatedStudies"] == str(len(p5["studies"])),
          "NumberOfPatientRelatedStudies returned")
    st = p5["studies"][0]
    rows = find(vault, "STUDY", ["StudyInstanceUID=" + st["uid"], "NumberOfStudyRelatedInstances=",
                                 "PatientName=", "ModalitiesInStudy="])
    n_inst = sum(len(se["inst"]) for se in st["series"])
    mods = "\\".join(sorted({se["modality"] for se in st["series"]}))
    check(len(rows) == 1 and rows[0]["NumberOfStudyRelatedInstances"] == str(n_inst) and
          rows[0]["PatientName"] == p5["name"] and rows[0]["ModalitiesInStudy"] == mods,
          "study row returns counts, modalities and the UTF-8 name")
    p = pv(["find", "--vault", vault, "--level", "STUDY", "SeriesDescription=x"], ok=(2,))
    check(b"SERIES" in p.stderr, "a SERIES key in a STUDY query is refused")


def in_run_duplicates(root, gen):
    """One import run, one batch: a file, a copy of it under another name and
    a file with its SOP Instance UID but other bytes. The copies reach the
    commit together (the committer thread decides): one is stored, the copy
    is a duplicate, the other bytes a conflict; no object is left over."""
    d = os.path.join(root, "inrun")
    os.makedirs(d)
    src = sorted(os.path.join(gen, f) for f in os.listdir(gen))[0]
    data = open(src, "rb").read()
    names = ["a.dcm", "b.dcm", "c.dcm"]
    open(os.path.join(d, names[0]), "wb").write(data)
    open(os.path.join(d, names[1]), "wb").write(data)
    open(os.path.join(d, names[2]), "wb").write(data[:-1] + bytes([data[-1] ^ 1]))
    vdir = os.path.join(root, "inrun-vault")
    pv(["vault", "init", vdir])
    p = pv(["import", "--vault", vdir, "--batch", "100", "--jobs", "3", "--verbose", "--json", d], ok=(0, 1))
    lines = p.stdout.decode().splitlines()
    summary = json.loads(lines[-1])
    by_path = dict(reversed(l.split("\t", 1)) for l in lines[:-1])
    status = sorted(by_path.values())
    check(summary["stored"] == 1 and summary["duplicates"] + summary["conflicts"] == 2 and
          summary["conflicts"] >= 1 and summary["failed"] == 0 and len(status) == 3,
          "one run with a copy and a conflicting file: 1 stored, the rest duplicate/conflict (%s; %s)" %
          (summary, status))
    r = json.loads(pv(["vault", "fsck", "--vault", vdir, "--json"]).stdout.decode())
    check(r["bad"] == 0 and r["orphans"] == 0 and r["objects_ok"] == 1,
          "  no object left over by the file that lost (fsck: %d objects, %d orphans)" %
          (r["objects_ok"], r["orphans"]))
    uid = str(pydicom.dcmread(src, stop_before_pixels=True).SOPInstanceUID)
    out = os.path.join(root, "inrun.dcm")
    pv(["get", "--vault", vdir, uid, "-o", out])
    winner = [pth for pth, st in by_path.items() if st == "stored"]
    check(len(winner) == 1 and open(out, "rb").read() == open(winner[0], "rb").read(),
          "  get gives the bytes of the file that was stored")


def small_batches(root, gen):
    """Batches of one file from four workers, one syncfs each: the
    committer's queue (at most four batches) fills and workers wait for
    room. Every file is acknowledged once, and the vault is consistent."""
    vdir = os.path.join(root, "batch1-vault")
    pv(["vault", "init", vdir])
    files = sorted(os.path.join(gen, f) for f in os.listdir(gen))[:120]
    p = pv(["import", "--vault", vdir, "--batch", "1", "--jobs", "4", "--verbose", "--json"] + files)
    lines = p.stdout.decode().splitlines()
    s = json.loads(lines[-1])
    acked = [l.split("\t", 1)[1] for l in lines[:-1] if l.startswith("stored\t")]
    r = json.loads(pv(["vault", "fsck", "--vault", vdir, "--json"]).stdout.decode())
    check(s["stored"] == len(files) and sorted(acked) == sorted(files) and r["objects_ok"] == len(files) and
          r["orphans"] == 0 and not r["problems"],
          "batches of one file, four workers: %d stored, each acknowledged once, fsck clean" % s["stored"])


def failed_batch(root, gen):
    """A batch whose audit entries cannot be written (the ledger's data file
    made immutable): import acknowledges nothing, exits 1 and names the
    cause; the index holds none of it; no object is left behind (each was
    staged, and shredded when the batch failed); the same import succeeds
    once the ledger is writable."""
    vdir = os.path.join(root, "failvault")
    pv(["vault", "init", vdir])
    dat = os.path.join(vdir, "ledger", "entries.dat")
    if subprocess.run(["chattr", "+i", dat], capture_output=True).returncode != 0:
        print("SKIP: vault: a failed batch (chattr +i is not supported here)")
        return
    files = sorted(os.path.join(gen, f) for f in os.listdir(gen))[:40]
    try:
        p = pv(["import", "--vault", vdir, "--batch", "8", "--json"] + files, ok=(0, 1))
    finally:
        subprocess.run(["chattr", "-i", dat])
    s = json.loads(p.stdout.decode().splitlines()[-1])
    err = p.stderr.decode()
    check(p.returncode == 1 and s["stored"] == 0 and s["failed"] == len(files) and "ledger" in err,
          "a batch whose audit entries cannot be written: nothing acknowledged, exit 1, the ledger named "
          "(%s)" % s)
    rows = json.loads(pv(["find", "--vault", vdir, "--json", "--level", "IMAGE"]).stdout.decode())
    check(rows == [], "  the index holds none of the failed files (%d rows)" % len(rows))
    r = json.loads(pv(["vault", "fsck", "--vault", vdir, "--json"]).stdout.decode())
    left = glob.glob(os.path.join(vdir, "objects", "*", "*")) + glob.glob(os.path.join(vdir, "tmp", "*"))
    check(r["orphans"] == 0 and r["temporaries"] == 0 and r["bad"] == 0 and r["objects_ok"] == 0 and not left,
          "  the failed batches leave no object behind, no repair needed (%d objects, %d orphans, %d files)" %
          (r["objects_ok"], r["orphans"], len(left)))
    s = json.loads(pv(["import", "--vault", vdir, "--batch", "8", "--json"] + files).stdout.decode())
    check(s["stored"] == len(files), "  the same import, the ledger writable again: %d stored" % s["stored"])


def traced(root, name, args):
    """The syscalls of one pacsvault run (strace -f), as (call, line)."""
    log = os.path.join(root, name + ".strace")
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    r = subprocess.run(["strace", "-f", "-qq", "-o", log, "-e",
                        "trace=sync,syncfs,fsync,fdatasync,linkat,rename,renameat,renameat2,unlink,unlinkat,"
                        "openat", PV] + args, capture_output=True, env=env)
    if r.returncode != 0:
        check(False, "%s runs under strace: %s" % (name, r.stderr.decode()[-300:]))
    out = []
    for line in open(log, encoding="utf-8", errors="replace").read().splitlines():
        rest = line.split(None, 1)[-1]
        out.append((rest.split("(", 1)[0], rest))
    return out


def sync_calls(root, vault, study, gen):
    """get and export leave their files to writeback unless --sync (then one
    syncfs after the last file is named); rm calls sync(2) before it shreds
    anything (the key slot is opened for writing before the first unlink)."""
    if subprocess.run(["strace", "-o", "/dev/null", "true"], capture_output=True).returncode != 0:
        print("SKIP: vault: get/export/rm syncs (strace cannot trace here)")
        return
    def syncs(calls):
        return [c for c, _ in calls if c in ("sync", "syncfs")]
    t = traced(root, "get", ["get", "--vault", vault, study, "-o", os.path.join(root, "sync-get")])
    check(syncs(t) == [], "get without --sync: no syncfs (%s)" % syncs(t))
    t = traced(root, "get-sync", ["get", "--sync", "--vault", vault, study, "-o", os.path.join(root, "sync-get2")])
    named = [i for i, (c, l) in enumerate(t) if c == "linkat" or (c.startswith("rename") and "sync-get2" in l)]
    sfs = [i for i, (c, _) in enumerate(t) if c == "syncfs"]
    check(len(sfs) == 1 and named and max(named) < sfs[0],
          "get --sync: one syncfs, after the last file is named (%d syncfs)" % len(sfs))
    t = traced(root, "export", ["export", "--vault", vault, study, "-o", os.path.join(root, "sync-exp")])
    check(syncs(t) == [], "export without --sync: no syncfs (%s)" % syncs(t))
    t = traced(root, "export-sync", ["export", "--vault", vault, study, "-o", os.path.join(root, "sync-exp2"),
                                     "--sync"])
    check(syncs(t) == ["syncfs"], "export --sync: one syncfs (%s)" % syncs(t))
    # rm on a vault of its own: sync(2), then the first write to an object, then its unlink.
    vdir = os.path.join(root, "rmsync-vault")
    pv(["vault", "init", vdir])
    f = sorted(os.path.join(gen, x) for x in os.listdir(gen))[0]
    pv(["import", "--vault", vdir, f])
    uid = str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
    t = traced(root, "rm", ["rm", "--vault", vdir, uid])
    first_sync = next((i for i, (c, _) in enumerate(t) if c == "sync"), None)
    first_obj = next((i for i, (c, l) in enumerate(t) if "/objects/" in l and
                      ("O_RDWR" in l or "O_WRONLY" in l or c.startswith("unlink"))), None)
    check(first_sync is not None and first_obj is not None and first_sync < first_obj,
          "rm: sync(2) before the first object is opened for shredding (sync at %s, object at %s)" %
          (first_sync, first_obj))
    rows = json.loads(pv(["find", "--vault", vdir, "--json", "--level", "IMAGE"]).stdout.decode())
    check(rows == [], "  and the instance is gone")


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    gen = os.path.join(root, "gen")
    pats, meta, plants = gen_set(gen)
    vault = os.path.join(root, "vault")
    out = pv(["vault", "init", vault]).stdout.decode()
    check("master key" in out and os.stat(os.path.join(vault, "master.key")).st_mode & 0o777 == 0o600,
          "vault init: master key inside, 0600")
    p = pv(["vault", "init", vault], ok=(1,))
    check(b"not empty" in p.stderr, "vault init refuses an existing vault")
    master = read_key(os.path.join(vault, "master.key"))

    # 1. Round trip: pydicom's files (a vault of their own: the query table below knows only
    # the generated set).
    pyvault = os.path.join(root, "pyvault")
    pv(["vault", "init", pyvault])
    pymaster = read_key(os.path.join(pyvault, "master.key"))
    pyfiles = sorted(glob.glob(os.path.join(DATA, "test_files", "*")) + glob.glob(os.path.join(DATA, "charset_files", "*")))
    pyfiles = [f for f in pyfiles if os.path.isfile(f)]
    p = pv(["import", "--vault", pyvault, "--verbose"] + pyfiles, ok=(0, 1))
    status = {}
    for line in p.stdout.decode().splitlines():
        st, path = line.split("\t", 1)
        status[path] = st
    check(len(status) == len(pyfiles), "import reports every pydicom file (%d of %d)" % (len(status), len(pyfiles)))
    stored = [f for f in pyfiles if status.get(f) == "stored"]
    conflicts = [f for f in pyfiles if status.get(f) == "conflict"]
    quarantined = [f for f in pyfiles if status.get(f) == "quarantined"]
    check(len(stored) > 40 and len(quarantined) > 0, "%d stored, %d conflicts, %d quarantined" %
          (len(stored), len(conflicts), len(quarantined)))
    bad = []
    for f in stored + conflicts:
        ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
        dst = os.path.join(root, "get.dcm")
        if os.path.exists(dst):
            os.unlink(dst)
        pv(["get", "--vault", pyvault, str(ds.SOPInstanceUID).strip(), "-o", dst])
        got = open(dst, "rb").read()
        if f in stored and got != open(f, "rb").read():
            bad.append(f)
        if f in conflicts and got == open(f, "rb").read():
            bad.append(f)
    check(not bad, "get gives back the exact bytes of every stored pydicom file, and the first of each "
          "conflicting UID (%d files; wrong: %s)" % (len(stored) + len(conflicts), bad[:3]))
    q = json.loads(pv(["vault", "quarantine", "--vault", pyvault, "--json"]).stdout.decode())
    check(sorted(r["path"] for r in q) == sorted(quarantined) and all(r["reason"] for r in q),
          "vault quarantine lists every quarantined file with its reason")
    # Stdout form.
    f0 = stored[0]
    uid0 = str(pydicom.dcmread(f0, stop_before_pixels=True, force=True).SOPInstanceUID)
    p = pv(["get", "--vault", pyvault, uid0, "-o", "-"])
    check(p.stdout == open(f0, "rb").read(), "get -o - writes the exact bytes")

    # The generated set.
    t0 = time.time()
    p = pv(["import", "--vault", vault, "--json", gen])
    s = json.loads(p.stdout.decode())
    check(s["stored"] == 2000 and s["failed"] == 0, "2,000 generated instances stored (%.1f s)" % (time.time() - t0))
    p = pv(["import", "--vault", vault, "--json", gen])
    s = json.loads(p.stdout.decode())
    check(s["duplicates"] == 2000 and s["stored"] == 0, "imported again: 2,000 duplicates, nothing stored twice")
    in_run_duplicates(root, gen)
    failed_batch(root, gen)
    small_batches(root, gen)
    study = meta[0]["st"]["uid"]
    dst = os.path.join(root, "study")
    pv(["get", "--vault", vault, study, "-o", dst])
    want = {m["inst"]["uid"]: m["inst"]["path"] for m in meta if m["st"]["uid"] == study}
    ok = sorted(os.listdir(dst)) == sorted(u + ".dcm" for u in want) and all(
        open(os.path.join(dst, u + ".dcm"), "rb").read() == open(pth, "rb").read() for u, pth in want.items())
    check(ok, "get of a study: %d instances, byte-identical" % len(want))
    sync_calls(root, vault, study, gen)
    # The independent reader: every object decrypts to one of the inputs.
    inputs = {hashlib.sha256(open(f, "rb").read()).digest() for f in pyfiles + [m["inst"]["path"] for m in meta]}
    objs = objects(vault) + objects(pyvault)
    okn = sum(1 for o in objects(vault) if hashlib.sha256(unseal(o, master)).digest() in inputs)
    okn += sum(1 for o in objects(pyvault) if hashlib.sha256(unseal(o, pymaster)).digest() in inputs)
    check(okn == len(objs) == len(stored) + 2000,
          "every object (%d) opens with the Python reader of docs/FORMATS.md to an input file" % len(objs))
    names = {os.path.basename(o)[:-4] for o in objs}
    check(all(len(n) == 32 and all(c in "0123456789abcdef" for c in n) for n in names),
          "object names are 32 random hex digits, never UIDs")
    query_table(vault, pats, meta)
    export_checks(root, vault, meta)

    # 2. No clear PHI at rest.
    files = [os.path.join(dp, f) for v in (vault, pyvault) for dp, dn, fn in os.walk(v) for f in fn]
    blob = b"".join(open(f, "rb").read() for f in files)
    found = [lbl for lbl, b in plants if b in blob]
    check(not found, "no planted name, ID, birth date or accession number in any vault file, the "
          "ledger included (%d strings, %d files; found: %s)" % (len(plants), len(files), found[:3]))
    audit_checks(root, vault, pats, meta)

    # 3. Tampering.
    tamper(root, vault, meta, master)
    # 5. rm.
    rm_checks(root, vault, meta, master)
    # 4. Crash safety.
    stdin_import(root, gen)
    issuer_checks(root, gen)
    crash_import(root, gen, meta)
    crash_rotate(root, gen)
    return finish()


def export_checks(root, vault, meta):
    # A study without ultrasound (which deid holds back for burned-in text unless cleaned).
    m0 = next(m for m in meta[40:] if all(se["modality"] != "US" for se in m["st"]["series"]))
    st = m0["st"]
    files = sorted(m["inst"]["path"] for m in meta if m["st"] is st)
    out = os.path.join(root, "export-id")
    pv(["export", "--vault", vault, st["uid"], "-o", out])
    got = sorted(glob.glob(os.path.join(out, "*", "*", "*.dcm")))
    want = {hashlib.sha256(open(f, "rb").read()).digest() for f in files}
    check(len(got) == len(files) and {hashlib.sha256(open(f, "rb").read()).digest() for f in got} == want,
          "export (identified) of a study: %d files, the imported bytes" % len(files))
    key = os.path.join(root, "project.key")
    pv(["keygen", "-o", key])
    ex = os.path.join(root, "export-deid")
    pv(["export", "--vault", vault, st["uid"], "-o", ex, "--deid", "--key", key, "--retain-modified-dates", "-q"])
    direct = os.path.join(root, "deid-direct")
    os.makedirs(os.path.join(root, "deid-in"), exist_ok=True)
    for f in files:
        shutil.copy(f, os.path.join(root, "deid-in"))
    pv(["deid", "--key", key, "--retain-modified-dates", "-q", os.path.join(root, "deid-in"), "-o", direct])
    a = {hashlib.sha256(open(f, "rb").read()).digest() for f in glob.glob(os.path.join(ex, "*", "*.dcm"))}
    b = {hashlib.sha256(open(f, "rb").read()).digest()
         for f in glob.glob(os.path.join(direct, "**", "*.dcm"), recursive=True)}
    check(len(a) == len(files) and a == b,
          "export --deid gives the same bytes as 'pacsvault deid' of the original files (%d)" % len(a))
    names = [os.path.relpath(f, ex) for f in glob.glob(os.path.join(ex, "*", "*.dcm"))]
    check(all(st["uid"] not in n and not any(m["inst"]["uid"] in n for m in meta) for n in names),
          "export --deid file names carry no original UID")
    blob = b"".join(open(f, "rb").read() for f in glob.glob(os.path.join(ex, "*", "*.dcm")))
    pt = m0["pt"]
    check(pt["pid"].encode() not in blob and st["uid"].encode() not in blob,
          "the de-identified export holds neither the patient ID nor the study UID")
    p = pv(["export", "--vault", vault, "2.25.1", "-o", os.path.join(root, "export-none")], ok=(1,))
    check(not os.path.exists(os.path.join(root, "export-none")) and b"no instance" in p.stderr,
          "export of an unknown UID writes nothing")
    def exports():
        return sum(1 for e in ledger_events(vault) if e["event"] == 110106)
    before = exports()
    p = pv(["export", "--vault", vault, st["uid"], "2.25.7", "-o", os.path.join(root, "export-half")], ok=(1,))
    check(not os.path.exists(os.path.join(root, "export-half")) and b"2.25.7" in p.stderr and
          exports() == before,
          "export of a known and an unknown UID names the unknown one, writes nothing and logs no Export")
    bad = os.path.join(root, "not-a-key")
    open(bad, "w").write("nonsense\n")
    p = pv(["export", "--vault", vault, st["uid"], "-o", os.path.join(root, "export-badkey"), "--deid",
            "--key", bad], ok=(1,))
    check(not os.path.exists(os.path.join(root, "export-badkey")) and exports() == before,
          "export --deid with a file that is not a project key writes nothing and logs no Export")


def ledger_events(vault, extra=()):
    return json.loads(pv(["ledger", "show", "--vault", vault, "--json"] + list(extra)).stdout.decode())


def keyed(akey, label, value):
    """A keyed hash of the audit trail (svc/audit.h), computed here from docs/FORMATS.md."""
    return hmac.new(akey, label.encode() + b"\0" + value.encode(), hashlib.sha256).digest()[:16].hex()


def audit_checks(root, vault, pats, meta):
    """Every operation is in the vault's ledger; patients and UIDs only as keyed hashes."""
    p = pv(["ledger", "verify", os.path.join(vault, "ledger")])
    check(b"ok:" in p.stdout, "the vault's ledger verifies (%s)" % p.stdout.decode().strip())
    akey = unseal(os.path.join(vault, "ledger.key.pvo"), read_key(os.path.join(vault, "master.key")))
    ev = ledger_events(vault)
    imports = [e for e in ev if e["event"] == 110107 and e["outcome"] == 0]
    inst = {o["id"] for e in imports for o in e["objects"] if o["type"] == "instance"}
    check({keyed(akey, "instance", m["inst"]["uid"]) for m in meta} <= inst,
          "an Import event (DCM 110107) for each of the 2,000 instances, each named by its keyed hash")
    raw = b"".join(open(f, "rb").read() for f in glob.glob(os.path.join(vault, "ledger", "*")) if os.path.isfile(f))
    clear = [u for m in meta for u in (m["inst"]["uid"], m["st"]["uid"]) if u.encode() in raw]
    check(not clear, "no Study or SOP Instance UID in clear in any ledger file (%d found)" % len(clear))
    st = meta[0]["st"]["uid"]
    mine = ledger_events(vault, ["--uid", st])
    want = {keyed(akey, "instance", m["inst"]["uid"]) for m in meta if m["st"]["uid"] == st}
    got = {o["id"] for e in mine if e["event"] == 110107 for o in e["objects"] if o["type"] == "instance"}
    check(got == want and all(any(o["type"] == "study" and o["id"] == keyed(akey, "study", st) for o in e["objects"])
                              for e in mine),
          "ledger show --uid STUDY: exactly that study's %d imports (and its other events)" % len(want))
    check(any(e["event"] == 110112 for e in ev) and any(e["event"] == 110106 for e in ev),
          "find and get left Query (110112) and Export (110106) events")
    pt = pats[5]
    mine = ledger_events(vault, ["--patient", pt["pid"]])
    uids = {keyed(akey, "instance", m["inst"]["uid"]) for m in meta if m["pt"] is pt}
    got = {o["id"] for e in mine if e["event"] == 110107 for o in e["objects"] if o["type"] == "instance"}
    check(got == uids and all(any(o["type"] == "patient" for o in e["objects"]) for e in mine),
          "ledger show --patient: exactly that patient's %d imports (and the queries naming it)" % len(uids))
    check(any(e["event"] == 110112 for e in mine), "the query by that Patient ID is among its events")
    after = ledger_events(vault)
    check(any(e["event"] == 110101 for e in after), "reading the ledger is audited (Audit Log Used, 110101)")
    p = pv(["ledger", "show", "--vault", vault, "--since", "2999-01-01"])
    check(p.stdout == b"", "a time filter with nothing after it shows nothing")
    # An audit trail that cannot be written fails the operation: nothing is acknowledged.
    head = os.path.join(vault, "ledger", "HEAD")
    saved = open(head, "rb").read()
    with open(head, "wb") as f:
        f.write(b"garbage\n")
    extra = os.path.join(root, "extra.dcm")
    ds = pydicom.dcmread(meta[0]["inst"]["path"])
    ds.SOPInstanceUID = "2.25.99999999999"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(extra)
    p = pv(["import", "--vault", vault, "--json", extra], ok=(1,))
    s = json.loads(p.stdout.decode())
    p2 = pv(["get", "--vault", vault, meta[0]["inst"]["uid"], "-o", os.path.join(root, "noaudit.dcm")], ok=(1,))
    with open(head, "wb") as f:
        f.write(saved)
    check(s["stored"] == 0 and not find(vault, "IMAGE", ["SOPInstanceUID=2.25.99999999999"]),
          "with a broken ledger, import stores and acknowledges nothing")
    check(not os.path.exists(os.path.join(root, "noaudit.dcm")), "with a broken ledger, get writes nothing")
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json", "--repair"], ok=(0, 1)).stdout.decode())
    check(r["bad"] == 0 and r["missing"] == 0, "the unacknowledged object leaves nothing behind (%d orphans)" % r["orphans"])
    # A changed byte in the audit trail is one of fsck's problems.
    led = os.path.join(vault, "ledger")
    shutil.copytree(led, led + ".saved")
    dat = os.path.join(led, "entries.dat")
    raw = bytearray(open(dat, "rb").read())
    raw[100] ^= 0x20
    with open(dat, "wb") as f:
        f.write(raw)
    p = pv(["vault", "fsck", "--vault", vault, "--json"], ok=(1,))
    r = json.loads(p.stdout.decode())
    shutil.rmtree(led)
    os.rename(led + ".saved", led)
    check(any(x["problem"] == "ledger" and "entry" in x["error"] for x in r["problems"]),
          "vault fsck verifies the ledger and names a changed entry")
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"]).stdout.decode())
    check(r["bad"] == 0 and not r["problems"], "restored: fsck is clean again")


def get_fails(vault, uid, dst, want_obj=None, extra=()):
    if os.path.exists(dst):
        os.unlink(dst)
    p = pv(["get", "--vault", vault, uid, "-o", dst] + list(extra), ok=(1,))
    err = p.stderr.decode()
    return (not os.path.exists(dst)) and (want_obj is None or want_obj in err), err


def tamper(root, vault, meta, master):
    # A bigger instance for chunk swaps (3 chunks).
    big = os.path.join(root, "big.dcm")
    ds = pydicom.dcmread(meta[0]["inst"]["path"])
    ds.SOPInstanceUID = "2.25.4242424242"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Rows = ds.Columns = 256
    ds.PixelData = os.urandom(256 * 256 * 2)
    ds.save_as(big)
    before = set(objects(vault))
    pv(["import", "--vault", vault, big])
    obj_big = objects(vault)
    big_obj = sorted(set(obj_big) - before)
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"]).stdout.decode())
    check(r["bad"] == 0 and r["orphans"] == 0 and r["objects_ok"] == len(obj_big),
          "fsck of the clean vault: %d objects verified, nothing wrong" % r["objects_ok"])

    check(len(big_obj) == 1 and os.path.getsize(big_obj[0]) > 2 * 65552, "the large instance is one object of %d bytes" % (os.path.getsize(big_obj[0]) if big_obj else 0))
    bo = big_obj[0]
    bid = os.path.basename(bo)[:-4]
    orig = open(bo, "rb").read()
    dst = os.path.join(root, "t.dcm")
    uid = "2.25.4242424242"

    def restore():
        with open(bo, "wb") as f:
            f.write(orig)

    cases = []
    # Magic, object id, slot 0 (key id, nonce, wrapped key, tag), chunk 0, chunk 1, the last tag.
    # Slot 1 (96..159) is unused until a rotation.
    for off in (5, 20, 33, 40, 60, 90, 200, 70000, len(orig) - 3):
        b = bytearray(orig)
        b[off] ^= 0x10
        cases.append(("a flipped bit at %d" % off, bytes(b)))
    cases.append(("truncated by one byte", orig[:-1]))
    cases.append(("truncated at a chunk boundary", orig[:160 + 65552]))
    b = bytearray(orig)
    c0, c1 = orig[160:160 + 65552], orig[160 + 65552:160 + 2 * 65552]
    b[160:160 + 65552] = c1
    b[160 + 65552:160 + 2 * 65552] = c0
    cases.append(("two chunks swapped", bytes(b)))
    for name, content in cases:
        with open(bo, "wb") as f:
            f.write(content)
        ok, err = get_fails(vault, uid, dst, bid)
        check(ok and "integrity error" in err,
              "tamper: %s: get fails naming the object, nothing written (%s)" % (name, err.strip()[-120:]))
        p = pv(["vault", "fsck", "--vault", vault, "--json"], ok=(1,))
        r = json.loads(p.stdout.decode())
        check(r["bad"] == 1 and r["problems"][0]["object"] == bid, "tamper: %s: fsck names the object" % name)
        restore()
    # Two whole objects swapped (renamed into each other's place).
    others = [o for o in objects(vault) if o != bo]
    a, b2 = others[10], others[20]
    da, db = open(a, "rb").read(), open(b2, "rb").read()
    with open(a, "wb") as f:
        f.write(db)
    with open(b2, "wb") as f:
        f.write(da)
    p = pv(["vault", "fsck", "--vault", vault, "--json"], ok=(1,))
    r = json.loads(p.stdout.decode())
    named = {x["object"] for x in r["problems"]}
    check(r["bad"] == 2 and named == {os.path.basename(a)[:-4], os.path.basename(b2)[:-4]},
          "tamper: two swapped objects: fsck names both")
    with open(a, "wb") as f:
        f.write(da)
    with open(b2, "wb") as f:
        f.write(db)
    # Swapped index rows (object ids exchanged between two instances).
    conn = sqlite3.connect(os.path.join(vault, "index.db"))
    r1, r2 = conn.execute("SELECT pk, objid FROM instance ORDER BY pk LIMIT 2").fetchall()
    conn.execute("UPDATE instance SET objid = 'x' WHERE pk = ?", (r1[0],))
    conn.execute("UPDATE instance SET objid = ? WHERE pk = ?", (r1[1], r2[0]))
    conn.execute("UPDATE instance SET objid = ? WHERE pk = ?", (r2[1], r1[0]))
    conn.commit()
    conn.close()
    p = pv(["vault", "fsck", "--vault", vault], ok=(1,))
    check(b"integrity error" in p.stderr and b"does not open" in p.stderr,
          "tamper: swapped index rows: the sealed row does not open (%s)" % p.stderr.decode().strip()[-100:])
    conn = sqlite3.connect(os.path.join(vault, "index.db"))
    conn.execute("UPDATE instance SET objid = 'x' WHERE pk = ?", (r1[0],))
    conn.execute("UPDATE instance SET objid = ? WHERE pk = ?", (r2[1], r2[0]))
    conn.execute("UPDATE instance SET objid = ? WHERE pk = ?", (r1[1], r1[0]))
    conn.commit()
    conn.close()
    pv(["vault", "fsck", "--vault", vault])
    # A wrong master key.
    wrong = os.path.join(root, "wrong.key")
    pv(["keygen", "--type", "master", "-o", wrong])
    ok, err = get_fails(vault, uid, dst, None, ["--master-key", wrong])
    check(ok and "is not this vault's" in err, "a wrong master key: refused (%s)" % err.strip()[-90:])
    # The right key id but the objects sealed by another vault: swap in an object of a second vault.
    v2 = os.path.join(root, "vault2")
    pv(["vault", "init", v2])
    pv(["import", "--vault", v2, big])
    o2 = objects(v2)[0]
    shutil.copyfile(o2, bo)
    ok, err = get_fails(vault, uid, dst, bid)
    check(ok and "integrity error" in err,
          "an object of another vault in its place: refused (%s)" % err.strip()[-90:])
    restore()
    p = pv(["get", "--vault", vault, uid, "-o", dst])
    check(open(dst, "rb").read() == open(big, "rb").read(), "restored: the object opens again, byte-identical")


def rm_checks(root, vault, meta, master):
    uid = "2.25.4242424242"
    big = [o for o in objects(vault) if os.path.getsize(o) > 2 * 65552][0]
    keep = os.path.join(root, "remnant.pvo")
    if os.path.exists(keep):
        os.unlink(keep)
    os.link(big, keep)   # what a disk might still hold after the unlink
    p = pv(["rm", "--vault", vault, uid])
    check(not os.path.exists(big), "rm: the object file is gone")
    try:
        unseal(keep, master)
        ok = False
    except Exception:
        ok = True
    check(ok, "rm: the freed object cannot be opened with the master key (its key slots were shredded)")
    check(len(find(vault, "IMAGE", ["SOPInstanceUID=" + uid])) == 0, "rm: the index no longer knows the instance")
    p = pv(["get", "--vault", vault, uid, "-o", os.path.join(root, "x.dcm")], ok=(1,))
    check(b"no instance" in p.stderr, "rm: get says not found")
    # A whole series.
    se = meta[30]["se"]
    n = len(se["inst"])
    before = len(objects(vault))
    pv(["rm", "--vault", vault, se["uid"]])
    check(len(objects(vault)) == before - n and not find(vault, "SERIES", ["SeriesInstanceUID=" + se["uid"]]),
          "rm of a series: %d objects shredded, the series row gone" % n)
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"]).stdout.decode())
    check(r["bad"] == 0 and r["orphans"] == 0 and r["missing"] == 0, "fsck after rm: consistent")
    os.unlink(keep)


def issuer_checks(root, gen):
    """The same Patient ID from two issuers is two patients in the audit trail too."""
    vault = os.path.join(root, "issuer-vault")
    pv(["vault", "init", vault])
    src = sorted(glob.glob(os.path.join(gen, "*.dcm")))[0]
    paths = []
    for k, iss in enumerate(("HOSP-A", "HOSP-B", None)):
        ds = pydicom.dcmread(src)
        ds.PatientID = "SAME01"
        if iss is not None:
            ds.IssuerOfPatientID = iss
        elif "IssuerOfPatientID" in ds:
            del ds.IssuerOfPatientID
        for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(ds, kw, "2.25.%d%d" % (int.from_bytes(os.urandom(8), "big"), k))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        paths.append(os.path.join(root, "issuer-%d.dcm" % k))
        ds.save_as(paths[-1])
    pv(["import", "--vault", vault] + paths)
    akey = unseal(os.path.join(vault, "ledger.key.pvo"), read_key(os.path.join(vault, "master.key")))
    want = [keyed(akey, "patient", "SAME01\x01HOSP-A"), keyed(akey, "patient", "SAME01\x01HOSP-B"),
            keyed(akey, "patient", "SAME01")]
    ev = [e for e in ledger_events(vault) if e["event"] == 110107]
    got = [next(o["id"] for o in e["objects"] if o["type"] == "patient") for e in ev]
    check(sorted(got) == sorted(want) and len(set(got)) == 3,
          "one Patient ID under two issuers (and none): three pseudonyms, each keyed with its issuer")
    a = [e for e in ledger_events(vault, ["--patient", "SAME01", "--issuer", "HOSP-A"]) if e["event"] == 110107]
    allp = [e for e in ledger_events(vault, ["--patient", "SAME01"]) if e["event"] == 110107]
    check(len(a) == 1 and len(allp) == 3, "  ledger show --patient ID --issuer I finds that patient only; "
          "without --issuer every issuer's (%d, %d)" % (len(a), len(allp)))


def stdin_import(root, gen):
    """import - : one instance from standard input, held in memory only, sealed like a file."""
    vault = os.path.join(root, "stdin-vault")
    pv(["vault", "init", vault])
    src = sorted(glob.glob(os.path.join(gen, "*.dcm")))[0]
    data = open(src, "rb").read()
    p = subprocess.run([PV, "import", "--vault", vault, "-v", "-"], input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    ds = pydicom.dcmread(src)
    out = os.path.join(root, "stdin-get.dcm")
    g = pv(["get", "--vault", vault, str(ds.SOPInstanceUID), "-o", out], ok=(0, 1))
    check(p.returncode == 0 and p.stdout.decode().startswith("stored\t-") and g.returncode == 0 and
          open(out, "rb").read() == data, "import - stores one instance from standard input; get gives its bytes back")
    name = str(ds.PatientName).split("^")[0].encode()
    found = [f for f in glob.glob(os.path.join(vault, "**"), recursive=True)
             if os.path.isfile(f) and (data[-4096:] in open(f, "rb").read() or name in open(f, "rb").read())]
    check(len(name) >= 3 and not found, "  no clear byte of it anywhere in the vault folder (no spool): %s" % found[:2])
    other = open(sorted(glob.glob(os.path.join(gen, "*.dcm")))[1], "rb").read()
    p = subprocess.run([PV, "import", "--vault", vault, "-"], input=other[:-3], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    q = pv(["vault", "quarantine", "--vault", vault])
    check(p.returncode == 1 and b"(standard input)" in q.stdout, "  a cut instance on standard input is "
          "quarantined, its origin '(standard input)'")
    p = pv(["import", "--vault", vault, "-", src], ok=(2,))
    check(b"only input" in p.stderr, "  '-' beside other inputs is a usage error")


def stored_lines(out):
    acked = set()
    for line in out.decode(errors="replace").splitlines():
        if "\t" in line:
            st, path = line.split("\t", 1)
            if st == "stored":
                acked.add(path)
    return acked


def crash_import(root, gen, meta):
    vault = os.path.join(root, "crash")
    pv(["vault", "init", vault])
    files = sorted(glob.glob(os.path.join(gen, "*.dcm")))
    rnd = random.Random(7)
    acked = set()
    trials = 50
    damaged = 0
    orphans = 0
    lost = 0
    for t in range(trials):
        part = files[:]
        rnd.shuffle(part)
        proc = subprocess.Popen([PVR, "import", "--vault", vault, "--verbose", "--batch", "8", "--jobs", "2"] + part[:400],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.01, 0.35))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        acked |= stored_lines(out)
        p = pv(["vault", "fsck", "--vault", vault, "--json"], ok=(0, 1), exe=PVR)
        r = json.loads(p.stdout.decode())
        if r["bad"] or r["missing"]:
            damaged += 1
        orphans += r["orphans"]
        pv(["vault", "fsck", "--vault", vault, "--repair"], ok=(0, 1), exe=PVR)
    check(damaged == 0, "import killed %d times: fsck never finds a damaged or missing object" % trials)
    check(orphans == 0, "  nor an orphan: what was never acknowledged stays in tmp/ (%d orphans)" % orphans)
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"], exe=PVR).stdout.decode())
    check(r["orphans"] == 0 and r["temporaries"] == 0 and r["bad"] == 0, "after --repair the vault is clean")
    # Every acknowledged instance is there, byte-identical (fetched study by study).
    by_path = {m["inst"]["path"]: m for m in meta}
    studies = {by_path[p]["st"]["uid"] for p in acked}
    got = {}
    for s in studies:
        d = os.path.join(root, "crash-get", s)
        pv(["get", "--vault", vault, s, "-o", d], exe=PVR)
        for f in os.listdir(d):
            got[f[:-4]] = open(os.path.join(d, f), "rb").read()
    for pth in acked:
        u = by_path[pth]["inst"]["uid"]
        if got.get(u) != open(pth, "rb").read():
            lost += 1
    check(len(acked) > 100 and lost == 0,
          "every instance acknowledged before a SIGKILL (%d) is stored, byte-identical" % len(acked))
    p = pv(["ledger", "verify", os.path.join(vault, "ledger")], ok=(0, 1), exe=PVR)
    ev = ledger_events(vault)
    inst = {o["id"] for e in ev if e["event"] == 110107 for o in e["objects"] if o["type"] == "instance"}
    akey = unseal(os.path.join(vault, "ledger.key.pvo"), read_key(os.path.join(vault, "master.key")))
    check(p.returncode == 0 and {keyed(akey, "instance", by_path[pth]["inst"]["uid"]) for pth in acked} <= inst,
          "after the kills the ledger verifies and holds an Import event for every acknowledged instance")
    shutil.rmtree(os.path.join(root, "crash-get"), ignore_errors=True)


def crash_rotate(root, gen):
    files = sorted(glob.glob(os.path.join(gen, "*.dcm")))[:300]
    for mode in ("inside", "outside"):
        vault = os.path.join(root, "rot-" + mode)
        keys = []
        if mode == "outside":
            k0 = os.path.join(root, "rot-k0.key")
            pv(["keygen", "--type", "master", "-o", k0])
            keys.append(k0)
            pv(["vault", "init", vault, "--master-key", k0])
        else:
            pv(["vault", "init", vault])
            keys.append(os.path.join(root, "rot-old0.key"))
            shutil.copyfile(os.path.join(vault, "master.key"), keys[0])
            os.chmod(keys[0], 0o600)
        pv(["import", "--vault", vault] + files + (["--master-key", keys[0]] if mode == "outside" else []))
        rnd = random.Random(11)
        bad = 0
        trials = 25
        for t in range(trials):
            args = ["vault", "rotate-key", "--vault", vault]
            if mode == "outside":
                nk = os.path.join(root, "rot-k%d.key" % (t + 1))
                pv(["keygen", "--type", "master", "-o", nk])
                args += ["--master-key", keys[-1], "--new-master-key", nk]
            proc = subprocess.Popen([PVR] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0.0, 0.25))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            p = pv(args, ok=(0, 1), exe=PVR)
            if p.returncode != 0:
                bad += 1
                continue
            if mode == "outside":
                keys.append(nk)
            else:
                cur = os.path.join(root, "rot-old%d.key" % (t + 1))
                shutil.copyfile(os.path.join(vault, "master.key"), cur)
                keys.append(cur)
            fa = ["--master-key", keys[-1]] if mode == "outside" else []
            r = pv(["vault", "fsck", "--vault", vault, "--json"] + fa, ok=(0, 1), exe=PVR)
            j = json.loads(r.stdout.decode())
            if j["objects_ok"] != len(files) or j["bad"]:
                bad += 1
        check(bad == 0, "rotate-key (%s key) killed %d times, each run again to the end: the vault "
              "opens with the new key, every object verifies" % (mode, trials))
        cur = read_key(keys[-1]) if mode == "outside" else read_key(os.path.join(vault, "master.key"))
        olds = [read_key(k) for k in keys[:-1]]
        opened_old = 0
        for o in objects(vault):
            for k in olds:
                try:
                    unseal(o, k)
                    opened_old += 1
                except Exception:
                    pass
        check(opened_old == 0 and all(len(unseal(o, cur)) > 0 for o in objects(vault)),
              "after rotation no old master key (%d of them) opens any object" % len(olds))
        # The index key moved with it: the vault still answers queries.
        fa = ["--master-key", keys[-1]] if mode == "outside" else []
        rows = json.loads(pv(["find", "--vault", vault, "--level", "IMAGE", "--json"] + fa).stdout.decode())
        check(len(rows) == len(files), "after rotation find sees all %d instances" % len(files))
        if mode == "inside":
            # A kill while the next key was being written (before rotate.state, so no object
            # is wrapped under it) left, with earlier versions, an empty master.key.new that
            # stopped every later rotation. Such a file is dropped; a readable one is used.
            nxt = os.path.join(vault, "master.key.new")
            open(nxt, "wb").close()
            before = read_key(os.path.join(vault, "master.key"))
            p = pv(["vault", "rotate-key", "--vault", vault], ok=(0, 1), exe=PVR)
            after = read_key(os.path.join(vault, "master.key"))
            j = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"], ok=(0, 1), exe=PVR).stdout.decode())
            check(p.returncode == 0 and after != before and not os.path.exists(nxt) and
                  j["objects_ok"] == len(files) and not j["bad"],
                  "an empty master.key.new left by a kill before rotate.state does not stop rotate-key")
            # An inside vault rotated to a given key: it becomes master.key (the rotation used to
            # rename a master.key.new that was never written, and could not finish).
            nk = os.path.join(root, "rot-given.key")
            pv(["keygen", "--type", "master", "-o", nk])
            p = pv(["vault", "rotate-key", "--vault", vault, "--new-master-key", nk], ok=(0, 1), exe=PVR)
            j = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"], ok=(0, 1), exe=PVR).stdout.decode())
            check(p.returncode == 0 and read_key(os.path.join(vault, "master.key")) == read_key(nk) and
                  j["objects_ok"] == len(files) and not j["bad"],
                  "an inside vault rotated with --new-master-key FILE finishes: master.key is that key")
            # keygen writes beside the name and links it in: never a half key under the name.
            kg = os.path.join(root, "kg-exists.key")
            open(kg, "wb").close()
            p = pv(["keygen", "--type", "master", "-o", kg], ok=(1,))
            check(os.path.getsize(kg) == 0 and not [f for f in os.listdir(root) if f.startswith(".kg-exists")],
                  "keygen refuses an existing file and leaves no temporary beside it")


if __name__ == "__main__":
    sys.exit(main())
