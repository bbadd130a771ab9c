"""riskcheck.py: `pacsvault risk` on hand-built sets with known k, and on a
generated 10,000-patient set checked against an independent computation
of the same classes. Prints PASS:/FAIL: lines."""
import collections
import json
import os
import random
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ["PV"]



def write(path, pid, n, **kw):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = "2.25.%d" % n
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "2.25.%d" % n
    ds.StudyInstanceUID = "2.25.1%d" % n
    ds.PatientID = pid
    for k, v in kw.items():
        setattr(ds, k, v)
    ds.save_as(path, write_like_original=False)


def risk(args, ok=(0, 3)):
    p = subprocess.run([PV, "risk", "--json", "-q"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        raise RuntimeError("risk exit %d: %s" % (p.returncode, p.stderr.decode()[-300:]))
    return p.returncode, json.loads(p.stdout)


def main():
    root = sys.argv[1]
    # A: classes of 3, 2 and 1.
    a = os.path.join(root, "a")
    os.makedirs(a)
    rows = [("P1", "F", "034Y"), ("P2", "F", "034Y"), ("P3", "F", "034Y"), ("P4", "M", "050Y"), ("P5", "M", "050Y"),
            ("P6", "F", "070Y")]
    for i, (pid, sex, age) in enumerate(rows):
        write(os.path.join(a, "%d.dcm" % i), pid, i, PatientSex=sex, PatientAge=age, StudyDate="20240301",
              Modality="CT")
    rc, j = risk(["--qi", "sex,age,study-date,modality", a])
    check(j["patients"] == 6 and j["classes"] == 3 and j["k"] == 1 and j["unique"] == 1,
          "set A: 6 patients, 3 classes, k=1, 1 unique (%s)" % {x: j[x] for x in ("patients", "classes", "k", "unique")})
    check(j["class_sizes"] == {"1": 1, "2": 2, "3": 3, "4": 0, "5-9": 0, "10+": 0}, "set A: patients by class size")
    check(rc == 3 and j["below_k"] == 6, "set A: all 6 below k=5, exit 3")
    rc, j = risk(["--qi", "sex,age,study-date,modality", "--target-k", "2", a])
    check(rc == 3 and j["below_k"] == 1 and abs(j["below_k_share"] - 1 / 6) < 1e-3, "set A, k=2: 1 patient below (1/6)")
    check(j["without"]["age"]["below_k"] == 0 and j["without"]["sex"]["below_k"] == 1,
          "set A, k=2: age drives uniqueness (left out: nobody below), sex does not (%s)" % j["without"])
    rc, j = risk(["--qi", "sex,modality", "--target-k", "2", a])
    check(rc == 0 and j["k"] == 2, "set A on sex and modality only: k=2, exit 0")
    # B: a patient with two studies: the earliest counts.
    b = os.path.join(root, "b")
    os.makedirs(b)
    write(os.path.join(b, "1.dcm"), "Q1", 1, PatientSex="F", StudyDate="20240505", Modality="MR")
    write(os.path.join(b, "2.dcm"), "Q1", 2, PatientSex="F", StudyDate="20230101", Modality="CT")
    write(os.path.join(b, "3.dcm"), "Q2", 3, PatientSex="F", StudyDate="20230101", Modality="CT")
    rc, j = risk(["--qi", "sex,study-date,modality", "--target-k", "2", b])
    check(j["patients"] == 2 and j["k"] == 2 and rc == 0, "set B: two studies of one patient, the earliest counts (k=2)")
    # C: ages 31, 33, 34 merge in a 5-year band; the greedy plan says so.
    c = os.path.join(root, "c")
    os.makedirs(c)
    for i, age in enumerate(("031Y", "033Y", "034Y")):
        write(os.path.join(c, "%d.dcm" % i), "R%d" % i, 10 + i, PatientSex="M", PatientAge=age, Modality="CT",
              StudyDate="20240301")
    rc, j = risk(["--qi", "sex,age,modality", "--target-k", "3", c])
    check(j["k"] == 1 and j["generalisations"] and j["generalisations"][0]["step"] == "ages to 5-year bands" and
          j["generalisations"][0]["k"] == 3 and j["reached"], "set C: ages to 5-year bands reach k=3 (%s)" % j["generalisations"])
    # Text output.
    p = subprocess.run([PV, "risk", "-q", "--qi", "sex,age,modality", "--target-k", "3", c], stdout=subprocess.PIPE)
    out = p.stdout.decode()
    check("smallest class (k): 1" in out and "ages to 5-year bands" in out, "text report names k and the steps")
    # D: 10,000 patients, checked against an independent computation.
    d = os.path.join(root, "d")
    os.makedirs(d)
    rnd = random.Random(42)
    truth = {}
    insts = ["GENERAL HOSPITAL", "CITY CLINIC", "NORTH IMAGING", "SOUTH MEDICAL", "EAST CENTRE"]
    for i in range(10000):
        sex = rnd.choice("FM")
        age = rnd.randint(18, 95)
        date = "2023%02d%02d" % (rnd.randint(1, 12), rnd.randint(1, 28))
        inst = rnd.choice(insts)
        mod = rnd.choice(["CT", "MR", "CR"])
        write(os.path.join(d, "%05d.dcm" % i), "S%05d" % i, 100000 + i, PatientSex=sex, PatientAge="%03dY" % age,
              StudyDate=date, InstitutionName=inst, Modality=mod)
        truth[i] = (sex, str(min(age, 90)), date, inst, mod)
    qi = "sex,age,study-date,institution,modality"
    rc, j = risk(["--qi", qi, d])

    def classes(key):
        cnt = collections.Counter(key(v) for v in truth.values())
        sizes = [cnt[key(v)] for v in truth.values()]
        return len(cnt), min(cnt.values()), sum(1 for s in sizes if s < 5)
    n, kmin, below = classes(lambda v: v)
    check(j["patients"] == 10000 and j["classes"] == n and j["k"] == kmin and j["below_k"] == below,
          "10,000 patients: classes %d, k %d, below k=5 %d, as computed independently" % (n, kmin, below))
    n2, k2, b2 = classes(lambda v: (v[0], v[1], v[3], v[4]))
    check(j["without"]["study-date"]["below_k"] == b2, "10,000 patients: without study dates %d below k, as computed" % b2)
    steps = [s["step"] for s in j["generalisations"]]
    check(j["generalisations"] and j["generalisations"][-1]["below_k"] < j["below_k"],
          "10,000 patients: the generalisations lower the risk: %s -> %d below k, reached=%s" % (
              steps, j["generalisations"][-1]["below_k"] if j["generalisations"] else -1, j["reached"]))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
