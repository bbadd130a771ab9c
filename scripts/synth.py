#!/usr/bin/python3
"""Synthetic DICOM studies full of planted (fake) identifiers.

Every value is invented here, from a seeded random generator: no patient
data is ever involved. Used by `make demo` and `make bench`.

  synth.py demo OUTDIR [MANIFEST]  a few small studies for the demo (and the
                                  planted values as JSON, for the tests)
  synth.py usdemo FILE            an ultrasound image with a name and ID
                                  burned into its banner
  synth.py usbench OUTDIR N       N such images (for make bench)
  synth.py bench OUTDIR [N] [M]   N CT-like 512x512 16-bit instances and
                                  M small mixed files (default 1000 each)
"""
import os
import random
import sys

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, generate_uid

SURNAMES = ["ZHANG", "WANG", "LI", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "MUELLER", "SMITH"]
GIVEN = ["WEI", "FANG", "NA", "XIU YING", "MIN", "JING", "ANNA", "JOHN", "LEI", "YAN"]
HANZI = ["张伟", "王芳", "李娜", "刘秀英", "陈敏", "杨静"]
ROOT = "1.2.826.0.1.3680043.8.498."  # a test root: UIDs look like a vendor's


def prc_id(rnd, birth):
    """An 18-character PRC resident ID with a valid ISO 7064 MOD 11-2 check."""
    body = "%06d%s%03d" % (rnd.randrange(110000, 659000), birth, rnd.randrange(1000))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[s % 11]


def uid(rnd):
    return ROOT + "%d.%d" % (rnd.randrange(10**9), rnd.randrange(10**9))


def person(rnd):
    birth = "%04d%02d%02d" % (rnd.randrange(1930, 2010), rnd.randrange(1, 13), rnd.randrange(1, 29))
    return {
        "name": "%s^%s" % (rnd.choice(SURNAMES), rnd.choice(GIVEN)),
        "hanzi": rnd.choice(HANZI),
        "id": "P%07d" % rnd.randrange(10**7),
        "nid": prc_id(rnd, birth),
        "birth": birth,
        "sex": rnd.choice("MF"),
        "phone": "+86 138%04d%04d" % (rnd.randrange(10**4), rnd.randrange(10**4)),
        "mrn": "MRN%06d" % rnd.randrange(10**6),
    }


def base_dataset(rnd, p, study, series, n, modality, rows, cols, charset):
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = uid(rnd)
    ds.StudyDate = study["date"]
    ds.SeriesDate = study["date"]
    ds.ContentDate = study["date"]
    ds.StudyTime = "%02d%02d%02d" % (rnd.randrange(7, 19), rnd.randrange(60), rnd.randrange(60))
    ds.AccessionNumber = study["acc"]
    ds.Modality = modality
    ds.Manufacturer = "ACME Medical"
    ds.InstitutionName = "First People's Hospital of Example City"
    ds.InstitutionAddress = "12 Example Road, Example District"
    if charset == "GB18030":
        ds.ReferringPhysicianName = "%s^%s=%s" % (rnd.choice(SURNAMES), rnd.choice(GIVEN), rnd.choice(HANZI))
    else:
        ds.ReferringPhysicianName = "%s^%s" % (rnd.choice(SURNAMES), rnd.choice(GIVEN))
    ds.StationName = "CT%02d" % rnd.randrange(100)
    ds.StudyDescription = "CHEST CT"
    ds.SeriesDescription = "AXIAL 5MM"
    ds.OperatorsName = "%s^%s" % (rnd.choice(SURNAMES), rnd.choice(GIVEN))
    ds.PatientName = p["name"] + ("=" + p["hanzi"] if charset == "GB18030" else "")
    ds.PatientID = p["id"]
    ds.IssuerOfPatientID = "EXAMPLE-HOSP"
    ds.PatientBirthDate = p["birth"]
    ds.PatientSex = p["sex"]
    ds.PatientAge = "%03dY" % (int(study["date"][:4]) - int(p["birth"][:4]))
    ds.PatientTelephoneNumbers = p["phone"]
    other = Dataset()
    other.PatientID = p["nid"]
    other.IssuerOfPatientID = "PRC-RESIDENT-ID"
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    req = Dataset()
    req.RequestedProcedureID = "RP%05d" % rnd.randrange(10**5)
    req.ScheduledProcedureStepID = "SPS%05d" % rnd.randrange(10**5)
    code = Dataset()
    code.CodeValue = "CTCHEST"
    code.CodingSchemeDesignator = "99EXAMPLE"
    code.CodeMeaning = "CT chest for patient %s" % p["mrn"]
    req.RequestedProcedureCodeSequence = Sequence([code])
    ds.RequestAttributesSequence = Sequence([req])
    ref = Dataset()
    ref.ReferencedSOPClassUID = ds.SOPClassUID
    ref.ReferencedSOPInstanceUID = uid(rnd)
    ds.ReferencedImageSequence = Sequence([ref])
    ds.SliceThickness = "5"
    ds.KVP = "120"
    ds.ImageComments = "Resident ID %s, call %s" % (p["nid"], p["phone"])
    ds.StudyInstanceUID = study["uid"]
    ds.SeriesInstanceUID = series
    ds.StudyID = study["id"]
    ds.SeriesNumber = "2"
    ds.InstanceNumber = str(n)
    ds.ImagePositionPatient = ["-250", "-250", "%d" % (-5 * n)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = study["for"]
    # A private block with identifiers, as vendors leave them.
    ds.add_new(0x00090010, "LO", "ACME_HOSP_PRIVATE")
    ds.add_new(0x00091001, "LO", p["mrn"])
    ds.add_new(0x00091002, "LO", p["name"])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.BurnedInAnnotation = "NO"
    return ds


def pixels(rnd, rows, cols):
    y, x = np.mgrid[0:rows, 0:cols]
    img = (1024 + 600 * np.exp(-(((x - cols / 2) ** 2 + (y - rows / 2) ** 2) / (0.1 * rows * cols))))
    img = img + np.random.default_rng(rnd.randrange(1 << 30)).normal(0, 20, (rows, cols))
    return np.clip(img, 0, 4095).astype("<u2").tobytes()


def save(ds, path, ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = ROOT + "1"
    meta.SourceApplicationEntityTitle = "CT_SCANNER_3F"
    ds.file_meta = meta
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.preamble = b"\0" * 128
    ds.save_as(path, write_like_original=False)


def study(rnd):
    return {"uid": uid(rnd), "for": uid(rnd), "acc": "A%08d" % rnd.randrange(10**8),
            "id": "S%04d" % rnd.randrange(10**4),
            "date": "%04d%02d%02d" % (rnd.randrange(2015, 2026), rnd.randrange(1, 13), rnd.randrange(1, 29))}


def planted(p, st, ds):
    """The identifying values planted in one file (for the tests' search)."""
    vals = [p["name"], p["name"].replace("^", " "), p["hanzi"], p["id"], p["nid"], p["phone"],
            p["mrn"], p["birth"], st["acc"], st["date"], st["id"], "Example Road",
            "First People's Hospital", "CT_SCANNER_3F", str(ds.ReferringPhysicianName).split("=")[0],
            str(ds.OperatorsName), ds.StationName]
    for part in p["name"].split("^") + str(ds.ReferringPhysicianName).split("=")[0].split("^"):
        if len(part) >= 4:
            vals.append(part)
    return sorted(set(v for v in vals if v))


def demo(out, manifest=None):
    rnd = random.Random(7)
    os.makedirs(out, exist_ok=True)
    plants = {}
    for i, (ts, cs) in enumerate([(ExplicitVRLittleEndian, "ISO_IR 192"),
                                  (ImplicitVRLittleEndian, "ISO_IR 100"),
                                  (ExplicitVRLittleEndian, "GB18030")]):
        p, st = person(rnd), study(rnd)
        ds = base_dataset(rnd, p, st, uid(rnd), 1, "CT", 64, 64, cs)
        ds.PixelData = pixels(rnd, 64, 64)
        name = "study%d.dcm" % (i + 1)
        plants[name] = planted(p, st, ds)
        save(ds, os.path.join(out, name), ts)
        if i == 0:
            # a second series of the same patient and study: references across files
            ds2 = base_dataset(rnd, p, st, uid(rnd), 2, "CT", 64, 64, cs)
            ds2.PixelData = pixels(rnd, 64, 64)
            ds2.ReferencedImageSequence[0].ReferencedSOPInstanceUID = ds.SOPInstanceUID
            plants["study1b.dcm"] = planted(p, st, ds2)
            save(ds2, os.path.join(out, "study1b.dcm"), ts)
    if manifest:
        import json
        with open(manifest, "w", encoding="utf-8") as f:
            json.dump(plants, f, ensure_ascii=False, indent=1)


def usdemo(path, seed=5):
    """An ultrasound image, 8-bit, one calibrated region, with the patient's
    (invented) name and ID burned into the banner above the region."""
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pixfont
    rnd = random.Random(seed)
    p, st = person(rnd), study(rnd)
    rows, cols = 240, 320
    img = pixfont.anatomy(rows, cols, seed)
    img[:40, :] = 0
    img[:, :8] = 0
    img[:, 312:] = 0
    pixfont.render(img, "DOE^JANE", 8, 6, 255, scale=2)
    pixfont.render(img, "ID 110101199003078515", 8, 24, 200)
    ds = base_dataset(rnd, p, st, uid(rnd), 1, "US", rows, cols, "ISO_IR 192")
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    reg = Dataset()
    reg.RegionSpatialFormat = 1
    reg.RegionDataType = 1
    reg.RegionFlags = 0
    reg.RegionLocationMinX0, reg.RegionLocationMinY0 = 8, 40
    reg.RegionLocationMaxX1, reg.RegionLocationMaxY1 = 311, 239
    ds.SequenceOfUltrasoundRegions = [reg]
    ds.BurnedInAnnotation = "YES"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    for k in ("RescaleIntercept", "RescaleSlope", "ImagePositionPatient", "ImageOrientationPatient",
              "SliceThickness", "PixelSpacing"):
        if k in ds:
            delattr(ds, k)
    ds.PixelData = img.tobytes()
    save(ds, path, ExplicitVRLittleEndian)


def bench(out, n_ct, n_small):
    rnd = random.Random(11)
    ct_dir = os.path.join(out, "ct")
    small_dir = os.path.join(out, "small")
    os.makedirs(ct_dir, exist_ok=True)
    os.makedirs(small_dir, exist_ok=True)
    p, st = person(rnd), study(rnd)
    series = uid(rnd)
    pix = pixels(rnd, 512, 512)
    for i in range(n_ct):
        if i % 100 == 0:
            p, st, series = person(rnd), study(rnd), uid(rnd)
        ds = base_dataset(rnd, p, st, series, i + 1, "CT", 512, 512, "ISO_IR 100")
        ds.PixelData = pix
        save(ds, os.path.join(ct_dir, "ct%05d.dcm" % i), ExplicitVRLittleEndian)
    kinds = [(ExplicitVRLittleEndian, "ISO_IR 100"), (ImplicitVRLittleEndian, "ISO_IR 100"),
             (ExplicitVRBigEndian, "ISO_IR 100"), (ExplicitVRLittleEndian, "GB18030"),
             (ExplicitVRLittleEndian, "ISO_IR 192")]
    # Small images of modalities that do not carry burned-in text, each with
    # BurnedInAnnotation NO: a de-identifier writes every one of them (OT and
    # the other screen-capture-like modalities would be held back).
    smalls = [("MR", "1.2.840.10008.5.1.4.1.1.4"), ("CT", "1.2.840.10008.5.1.4.1.1.2"),
              ("NM", "1.2.840.10008.5.1.4.1.1.20"), ("PT", "1.2.840.10008.5.1.4.1.1.128"),
              ("CR", "1.2.840.10008.5.1.4.1.1.1")]
    for i in range(n_small):
        ts, cs = kinds[i % len(kinds)]
        mod, sop_class = smalls[(i // len(kinds)) % len(smalls)]
        p, st = person(rnd), study(rnd)
        ds = base_dataset(rnd, p, st, uid(rnd), 1, mod, 32, 32, cs)
        ds.SOPClassUID = sop_class
        ds.BurnedInAnnotation = "NO"
        ds.PixelData = pixels(rnd, 32, 32)
        if ts == ExplicitVRBigEndian:
            ds.PixelData = np.frombuffer(ds.PixelData, "<u2").astype(">u2").tobytes()
        save(ds, os.path.join(small_dir, "s%05d.dcm" % i), ts)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "demo":
        demo(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif len(sys.argv) >= 3 and sys.argv[1] == "usdemo":
        usdemo(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "usbench":
        os.makedirs(sys.argv[2], exist_ok=True)
        for i in range(int(sys.argv[3])):
            usdemo(os.path.join(sys.argv[2], "us%04d.dcm" % i), seed=100 + i)
    elif len(sys.argv) >= 3 and sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1000,
              int(sys.argv[4]) if len(sys.argv) > 4 else 1000)
    else:
        sys.exit(__doc__)
