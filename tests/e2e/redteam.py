#!/usr/bin/python3
"""An adversarial corpus for `pacsvault deid` and a scorer (issue #14).

  redteam.py WORKDIR

Builds files that hide identifiers where a profile applied by the letter
misses them, de-identifies them under three option sets (default, the
strictest: Basic Profile with nothing retained, and the research set:
modified dates, clean descriptors, clean structured content, patient
characteristics, safe private), and searches every output byte for every
planted value, in UTF-8, GB18030 and Latin-1, upper and lower case, in
deflated data inflated. Every value here is invented.

Classes planted:
  - every standard free-text attribute (PN, LO, SH, ST, LT, UT, UC, AE,
    UR) that PS3.15 Table E.1-1 does not list and the allow-list does not
    keep, each holding an identifier;
  - command-group (0000) and DICOMDIR (0004) elements, even-group tags
    absent from the dictionary;
  - SR trees 5 deep in English and Chinese: names, resident IDs, phones,
    other people's names, hospitals, in TextValue and CodeMeaning;
  - D, Z and X sequences whose items carry identifiers;
  - standard attributes and sequences sent as explicit UN, with defined
    and undefined length (CP-246);
  - safe-private slots holding a sequence with a name inside, and a
    text paragraph in a numeric slot;
  - ages over 89 spelt every way AS allows and some it does not.
Prints PASS/FAIL lines and "N passed, N failed".
"""
import csv
import os
import shutil
import struct
import subprocess
import sys
import zlib

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ.get("PV", "build/pacsvault")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UIDROOT = "1.2.826.0.1.3680043.8.498.77."


def prc_id(body):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]


# The patient and the people and places around them (all invented).
P_NAME = "Quenby^Ottoline"
P_HANZI = "欧阳秀凤"
P_ID = "QX-7719304"
P_NID = prc_id("11010519470314003")
P_PHONE = "13907551234"
DOCTOR = "Dr Ferreday Alaric"
DOCTOR_ZH = "司马建国医生"
CONTACT = "Contact: Pemberton Lysander"
CONTACT_ZH = "联系人 上官婉清"
HOSPITAL = "Saint Wilfrida Hospital"
HOSPITAL_ZH = "东湖协和医院"

# What must not survive: the identifying core of each planted value.
NEEDLES = [
    "Quenby", "Ottoline", P_HANZI, P_ID, P_NID, P_PHONE, "Ferreday", "Alaric", "司马建国",
    "Pemberton", "Lysander", "上官婉清", "Wilfrida", "东湖协和",
]


def uid(n):
    return UIDROOT + str(n)


def meta(ds, ts, sop_class="1.2.840.10008.5.1.4.1.1.7"):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = sop_class
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ts
    fm.ImplementationClassUID = UIDROOT + "0"
    ds.file_meta = fm
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian


def base(n, charset="ISO_IR 192", sop_class="1.2.840.10008.5.1.4.1.1.7"):
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid(1000 + n)
    ds.StudyInstanceUID = uid(1)
    ds.SeriesInstanceUID = uid(2 + n)
    ds.Modality = "OT" if sop_class.endswith(".7") else "SR"
    ds.PatientName = P_NAME + "=" + P_HANZI
    ds.PatientID = P_ID
    ds.PatientBirthDate = "19470314"
    ds.PatientSex = "F"
    ds.StudyDate = "20240105"
    ds.OtherPatientIDs = P_NID
    return ds


def save(ds, path, ts=ExplicitVRLittleEndian):
    meta(ds, ts, ds.SOPClassUID)
    ds.save_as(path, write_like_original=False)


def safe_text_tags():
    """The allow-list, read from src/deid/profile.c (so the test follows it)."""
    import re
    s = open(os.path.join(ROOT, "src/deid/profile.c")).read()
    body = s[s.index("static const uint32_t safe_text[]"):]
    body = body[:body.index("};")]
    return {int(t, 16) for t in re.findall(r"0x([0-9A-F]{8}),", body)}


def unlisted_text_attributes():
    listed = set()
    with open(os.path.join(ROOT, "data/ps3.15/ps3.15_e1_1.tsv"), encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if all(c in "0123456789abcdefABCDEF" for c in r["tag_match"]):
                listed.add(int(r["tag_match"], 16))
    safe = safe_text_tags()
    out = []
    for line in open(os.path.join(ROOT, "data/dict/dicom-dict.tsv"), encoding="utf-8"):
        if line.startswith("#"):
            continue
        t, vr, kw = line.split("\t")[:3]
        if "-" in t or "x" in t.lower():
            continue
        tag = int(t[1:5] + t[6:10], 16)
        if tag >> 16 in (0, 2, 4) or tag in listed or tag in safe:
            continue
        if vr in ("PN", "LO", "SH", "ST", "LT", "UT", "UC", "AE", "UR"):
            out.append((tag, vr, kw))
    return out


def value_for(vr, k):
    """An identifying value that fits the VR's length (PS3.5 6.2)."""
    if vr == "AE":
        return "QUENBYWS"
    if vr == "SH":
        return [P_PHONE, P_ID, "Quenby"][k % 3]
    if vr == "PN":
        return P_NAME
    if vr == "UR":
        return "http://h.example/Quenby/" + P_ID
    if vr == "LO":
        return [P_NAME, P_NID, DOCTOR, CONTACT, HOSPITAL, "Tel " + P_PHONE][k % 6]
    return "Seen by %s; %s; ID %s; tel %s; %s; %s" % (DOCTOR, CONTACT, P_NID, P_PHONE, HOSPITAL, P_NAME)


def corpus(src):
    os.makedirs(src)
    files = {}

    # 1. every unlisted free-text attribute, with an identifier
    ds = base(1)
    attrs = unlisted_text_attributes()
    for k, (tag, vr, kw) in enumerate(attrs):
        ds.add(DataElement(tag, vr, value_for(vr, k)))
    # command group, DICOMDIR records, a tag absent from the dictionary (even group)
    ds.add(DataElement(0x00000902, "LO", "Quenby retry"))
    ds.add(DataElement(0x00041130, "CS", "QUENBY_7719304"))
    ds.add(DataElement(0x00041500, "CS", ["QUENBY", "QX7719304"]))
    ds.add(DataElement(0x0011FF00 - 0x00010000, "LO", P_NAME))  # (0010,FF00): not in the dictionary
    ds.add(DataElement(0x00180FFE, "SH", P_PHONE))                # (0018,0FFE): not in the dictionary
    save(ds, os.path.join(src, "unlisted.dcm"))
    files["unlisted.dcm"] = len(attrs)

    # 2. a structured report five deep, in English and Chinese
    sr = base(2, sop_class="1.2.840.10008.5.1.4.1.1.88.11")
    sr.ValueType = "CONTAINER"
    sr.ConceptNameCodeSequence = Sequence([code("18748-4", "LN", "Diagnostic imaging report")])

    def text_item(text, depth):
        it = Dataset()
        it.RelationshipType = "CONTAINS"
        it.ValueType = "TEXT"
        it.ConceptNameCodeSequence = Sequence([code("121071", "DCM", "Finding " + P_NAME)])
        it.TextValue = text
        if depth < 5:
            it.ContentSequence = Sequence([text_item(text, depth + 1)])
        return it

    sr.ContentSequence = Sequence([
        text_item("Patient %s (%s), ID %s, tel %s, seen at %s by %s. %s." %
                  (P_NAME.replace("^", " "), P_HANZI, P_NID, P_PHONE, HOSPITAL, DOCTOR, CONTACT), 1),
        text_item("患者%s，身份证%s，电话%s，%s，%s，%s。" % (P_HANZI, P_NID, P_PHONE, HOSPITAL_ZH, DOCTOR_ZH, CONTACT_ZH), 1),
    ])
    vo = Dataset()
    vo.VerifyingObserverName = "Ferreday^Alaric"
    vo.VerifyingOrganization = HOSPITAL
    vo.VerificationDateTime = "20240105120000"
    vo.VerifyingObserverIdentificationCodeSequence = Sequence([code("Q77", "L", "Ferreday Alaric")])
    sr.VerifyingObserverSequence = Sequence([vo])
    save(sr, os.path.join(src, "sr.dcm"))
    files["sr.dcm"] = 1

    # 3. sequences sent as UN (explicit), of defined and undefined length, and UN text
    ds = base(3)
    save(ds, os.path.join(src, "un.tmp"))
    raw = open(os.path.join(src, "un.tmp"), "rb").read()
    os.unlink(os.path.join(src, "un.tmp"))
    item = implicit_elem(0x00100010, P_NAME.encode()) + implicit_elem(0x00100020, pad(P_ID.encode()))
    seq_defined = struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item
    seq_undef = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + item + struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + \
        struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    extra = (explicit_un(0x00081110, seq_defined) +               # ReferencedStudySequence (X/Z/U*)
             explicit_un(0x00101002, seq_undef, undefined=True) +  # OtherPatientIDsSequence
             explicit_un(0x00104000, pad(("Quenby lives at 3 Elm Row, tel " + P_PHONE).encode())) +  # PatientComments
             explicit_un(0x00321032, pad(b"Ferreday^Alaric")) +   # RequestingPhysician
             explicit_un(0x0040A730, seq_defined))                 # ContentSequence
    open(os.path.join(src, "un.dcm"), "wb").write(insert_sorted(raw, extra))
    files["un.dcm"] = 1

    # 4. safe-private slots abused: a sequence at a safe offset, a paragraph in a DS slot
    ds = base(4)
    ds.add(DataElement(0x70530010, "LO", "Philips PET Private Group"))
    inner = Dataset()
    inner.PatientName = P_NAME
    inner.add(DataElement(0x00104000, "LT", "Quenby, tel " + P_PHONE))
    ds.add(DataElement(0x70531000, "SQ", Sequence([inner])))           # slot 00 is DS in E.3.10
    ds.add(DataElement(0x70531009, "DS", "1.5"))                       # a real safe value
    ds.add(DataElement(0x00E10010, "LO", "ELSCINT1"))
    ds.add(DataElement(0x00E11021, "UT", "DLP for Quenby Ottoline " + P_NID))  # DS slot, text inside
    save(ds, os.path.join(src, "private.dcm"))
    ds2 = base(5)
    ds2.add(DataElement(0x00E10010, "LO", "ELSCINT1"))
    ds2.add(DataElement(0x00E11021, "DS", "123.4"))
    ds2.add(DataElement(0x00E11050, "UN", ("Quenby " + P_PHONE + " ").encode()))
    save(ds2, os.path.join(src, "private-implicit.dcm"), ImplicitVRLittleEndian)
    files["private.dcm"] = 1

    # 5. the same free text in Big Endian and Deflated files
    for ts, name in ((ExplicitVRBigEndian, "be.dcm"), (DeflatedExplicitVRLittleEndian, "deflated.dcm")):
        ds = base(6 if ts == ExplicitVRBigEndian else 7)
        ds.add(DataElement(0x00420010, "ST", "Report for " + P_NAME))     # DocumentTitle
        ds.add(DataElement(0x0040E001, "ST", P_NID))                      # HL7InstanceIdentifier
        ds.AdditionalPatientHistory = "Referred by %s, %s, %s" % (DOCTOR, HOSPITAL, CONTACT_ZH)
        save(ds, os.path.join(src, name), ts)

    # 6. encapsulated documents (PDF, CDA) with the patient inside: D leaves a dummy document
    for n, (mime, doc) in enumerate((
            ("application/pdf", ("%%PDF-1.4\n1 0 obj << /Title (%s %s) >> endobj\n"
                                 "BT /F1 12 Tf (Patient: %s, %s) Tj ET\n%%%%EOF\n") % (P_NAME, P_NID, P_HANZI, P_PHONE)),
            ("text/XML", "<ClinicalDocument><recordTarget><patient><name>%s</name><id>%s</id></patient>"
                         "</recordTarget></ClinicalDocument>" % (P_NAME, P_NID)))):
        ds = base(20 + n, sop_class="1.2.840.10008.5.1.4.1.1.104.%d" % (1 + n))
        ds.Modality = "DOC"
        ds.MIMETypeOfEncapsulatedDocument = mime
        ds.DocumentTitle = "Report for " + P_NAME
        ds.EncapsulatedDocument = pad(doc.encode("utf-8"))
        save(ds, os.path.join(src, "encapsulated-%d.dcm" % n))
    return files


def code(v, s, m):
    c = Dataset()
    c.CodeValue = v
    c.CodingSchemeDesignator = s
    c.CodeMeaning = m
    return c


def pad(b):
    return b + b" " if len(b) % 2 else b


def implicit_elem(tag, value):
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def explicit_un(tag, value, undefined=False):
    return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"UN", 0, 0xFFFFFFFF if undefined else len(value)) + value


def insert_sorted(raw, extra):
    """Appends explicit-VR LE elements to a file, keeping tag order (walks the top level)."""
    pos = 132
    # meta: group 2 with its length
    glen = struct.unpack_from("<I", raw, 140)[0]
    pos = 144 + glen
    elems = []
    while pos < len(raw):
        g, e = struct.unpack_from("<HH", raw, pos)
        vr = raw[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
            n = struct.unpack_from("<I", raw, pos + 8)[0]
            end = pos + 12 + n
        else:
            n = struct.unpack_from("<H", raw, pos + 6)[0]
            end = pos + 8 + n
        elems.append(((g << 16) | e, raw[pos:end]))
        pos = end
    p = 0
    while p < len(extra):
        g, e = struct.unpack_from("<HH", extra, p)
        n = struct.unpack_from("<I", extra, p + 8)[0]
        if n == 0xFFFFFFFF:
            q = extra.index(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), p) + 8
        else:
            q = p + 12 + n
        elems.append(((g << 16) | e, extra[p:q]))
        p = q
    elems.sort(key=lambda t: t[0])
    return raw[:144 + glen] + b"".join(b for _, b in elems)


def inflated(raw):
    """The file's bytes and, for a deflated data set, the inflated stream."""
    try:
        ds = pydicom.dcmread(__import__("io").BytesIO(raw), stop_before_pixels=True)
        if ds.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian:
            glen = struct.unpack_from("<I", raw, 140)[0]
            return raw + zlib.decompress(raw[144 + glen:], -15)
    except Exception:
        pass
    return raw


def leaks_in(raw):
    found = []
    low = raw.lower()
    for v in NEEDLES:
        for enc in ("utf-8", "gb18030", "latin-1"):
            try:
                b = v.encode(enc)
            except UnicodeEncodeError:
                continue
            if b in raw or b.lower() in low:
                found.append("%s (%s)" % (v, enc))
                break
    return found


OPTION_SETS = {
    "default": [],
    "strictest": ["--clean-pixel-data"],
    "research": ["--retain-modified-dates", "--clean-descriptors", "--clean-structured-content",
                 "--retain-patient-characteristics", "--retain-safe-private"],
}


def main(work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "in")
    corpus(src)
    key = os.path.join(work, "p.key")
    subprocess.run([PV, "keygen", "-o", key], check=True, capture_output=True)
    planted = sorted(os.listdir(src))
    for name, opts in OPTION_SETS.items():
        out = os.path.join(work, "out-" + name)
        r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key] + opts + [src, "-o", out], capture_output=True)
        err = r.stderr.decode("utf-8", "replace")
        check("Sanitizer" not in err and "runtime error" not in err, "redteam %s: no sanitizer report" % name)
        check(r.returncode == 0, "redteam %s: deid exits 0 (%s)" % (name, err.strip()[-300:]))
        written = {}
        for d, _, fs in os.walk(out):
            for f in fs:
                written[f] = os.path.join(d, f)
        for f in planted:
            if f not in written:
                check(False, "redteam %s: %s written" % (name, f))
                continue
            raw = inflated(open(written[f], "rb").read())
            lk = leaks_in(raw)
            check(not lk, "redteam %s: %s: no planted value in any byte%s" %
                  (name, f, (": " + ", ".join(lk[:6])) if lk else ""))
            try:
                pydicom.dcmread(written[f]).decode()
                ok = True
            except Exception as e:  # noqa: BLE001
                ok = False
                print("  read error:", e)
            check(ok, "redteam %s: %s: pydicom reads the output" % (name, f))
        # the scanner agrees with deid: nothing left that identifies
        r = subprocess.run([PV, "scan", "-q", "--no-ocr", "--json", "--against", src, out], capture_output=True)
        kinds = {}
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            if line.startswith("{") and '"findings"' in line:
                obj = __import__("json").loads(line)
                for fnd in obj.get("findings", []):
                    kinds.setdefault(fnd.get("kind"), []).append(os.path.basename(obj.get("file", "")) + ":" +
                                                                   fnd.get("path", ""))
        check(r.returncode == 0, "redteam %s: scan --against the originals finds nothing in deid's output (%s)" %
              (name, "; ".join("%s %s" % (k, v[:3]) for k, v in kinds.items())[:400]))
    # the scanner flags every planted file
    r = subprocess.run([PV, "scan", "-q", "--no-ocr", "--json", src], capture_output=True)
    flagged = set()
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("{") and '"findings"' in line:
            obj = __import__("json").loads(line)
            if obj.get("findings"):
                flagged.add(os.path.basename(obj.get("file", "")))
    check(r.returncode == 3 and flagged == set(planted),
          "redteam: scan flags every planted file (missed: %s)" % sorted(set(planted) - flagged))
    # another tool's clean de-identification: its own pseudonyms, numeric codes, shared descriptions
    other_in = os.path.join(work, "other-orig")
    other_out = os.path.join(work, "other-deid")
    os.makedirs(other_in)
    os.makedirs(other_out)
    for k in range(3):
        ds = base(40 + k)
        ds.Modality = "CT"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.StudyDescription = "CT CHEST W CONTRAST"
        ds.ProtocolName = "CHEST ROUTINE"
        ds.AnatomicRegionSequence = Sequence([code("39607008", "SCT", "Lung")])
        ds.ProcedureCodeSequence = Sequence([code("241540006", "SCT", "CT of chest")])
        save(ds, os.path.join(other_in, "o%d.dcm" % k))
        # what a careful script does: its own pseudonyms, dates and UIDs replaced, text kept where generic
        ds.PatientName = "SUBJ%04d^ANON" % (7 + k)
        ds.PatientID = "STUDY7-%04d" % (1234 + k)
        del ds.OtherPatientIDs
        ds.PatientBirthDate = ""
        ds.StudyDate = "20000101"
        ds.SOPInstanceUID = "2.25.%d" % (12345678901234567890 + k)
        ds.StudyInstanceUID = "2.25.99887766554433221100"
        ds.SeriesInstanceUID = "2.25.%d" % (11223344556677889900 + k)
        ds.PatientIdentityRemoved = "YES"
        save(ds, os.path.join(other_out, "o%d.dcm" % k))
    r = subprocess.run([PV, "scan", "-q", "--no-ocr", "--json", "--against", other_in, other_out], capture_output=True)
    bad = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("{") and '"findings"' in line:
            for fnd in __import__("json").loads(line).get("findings", []):
                # (phi-attributes such as a kept StudyDescription are the other tool's choice, and reported)
                if fnd.get("kind") in ("national-id", "phone", "email", "person-name", "against") or \
                        fnd.get("path") in ("00100010", "00100020"):
                    bad.append("%s %s" % (fnd.get("kind"), fnd.get("path")))
    check(not bad, "redteam: another tool's clean output: no identifier findings (%s)" % "; ".join(bad[:6]))

    # JPEG frames carrying text in COM and APPn segments, and a fragment past the last frame
    jdir = os.path.join(work, "jpeg-in")
    os.makedirs(jdir)
    data = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
    from pydicom.encaps import decode_data_sequence, encapsulate
    jfiles = []
    for f in ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_app14_dcmd.dcm", "JPEG-lossy.dcm", "JPGExtended.dcm",
              "SC_rgb_dcmtk_+eb+cy+np.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_jpeg_no_color_transform.dcm"):
        src_f = os.path.join(data, "test_files", f)
        if not os.path.exists(src_f):
            continue
        ds = pydicom.dcmread(src_f)
        frames = decode_data_sequence(ds.PixelData)
        nf = int(ds.get("NumberOfFrames", 1) or 1)
        if len(frames) != nf:
            continue
        name = (P_NAME + " " + P_NID).encode()
        com = b"\xff\xfe" + struct.pack(">H", len(name) + 2) + name
        exif = b"Exif\x00\x00" + name
        app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
        frames[0] = frames[0][:2] + com + app1 + frames[0][2:]
        frames.append(b"extra " + name + b"\x00" * (len(name) % 2))
        ds.PixelData = encapsulate(frames, has_bot=False)
        ds.Modality = "MR"          # not a modality that usually carries burned-in text
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.BurnedInAnnotation = "NO"
        ds.PatientName = P_NAME
        out_f = os.path.join(jdir, f)
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.save_as(out_f)
        jfiles.append(f)
    check(len(jfiles) >= 5, "redteam: %d JPEG-family files with planted COM, APP1 and an extra fragment" % len(jfiles))
    jout = os.path.join(work, "jpeg-out")
    r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, jdir, "-o", jout], capture_output=True)
    check(r.returncode == 0, "redteam: JPEG files de-identified (%s)" % r.stderr.decode("utf-8", "replace")[-300:])
    for f in jfiles:
        o = os.path.join(jout, "jpeg-in", f)
        if not os.path.exists(o):
            check(False, "redteam: JPEG %s written" % f)
            continue
        raw = open(o, "rb").read()
        lk = leaks_in(raw)
        check(not lk, "redteam: JPEG %s: no planted value in any byte%s" % (f, (": " + ", ".join(lk)) if lk else ""))
        # the image itself is unchanged: dcmtk decodes input and output to the same pixels
        ts = str(pydicom.dcmread(o, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        tool = "dcmdjpls" if ts.endswith((".80", ".81")) else "dcmdjpeg"
        a, b = os.path.join(work, "a.dcm"), os.path.join(work, "b.dcm")
        ra = subprocess.run([tool, os.path.join(data, "test_files", f), a], capture_output=True)
        rb = subprocess.run([tool, o, b], capture_output=True)
        same = ra.returncode == 0 and rb.returncode == 0 and \
            pydicom.dcmread(a).get("PixelData") == pydicom.dcmread(b).get("PixelData")
        check(same, "redteam: JPEG %s: %s decodes the output to the same pixels" % (f, tool))

    # the quarantine copy of a held-back file is an output too: its JPEG comments go as well
    qin, qdir = os.path.join(work, "jpeg-us"), os.path.join(work, "jpeg-q")
    os.makedirs(qin)
    for f in jfiles[:2]:
        ds = pydicom.dcmread(os.path.join(jdir, f))
        ds.Modality = "US"   # usually carries burned-in text: held back
        ds.save_as(os.path.join(qin, f))
    r = subprocess.run([PV, "deid", "-q", "--key", key, "--quarantine", qdir, qin, "-o", os.path.join(work, "jpeg-us-out")],
                       capture_output=True)
    held = [os.path.join(d, f) for d, _, fs in os.walk(qdir) for f in fs]
    lk = [x for h in held for x in leaks_in(open(h, "rb").read())]
    check(len(held) == min(2, len(jfiles)) and not lk,
          "redteam: quarantine copies lose their JPEG comments too (%d held, leaks: %s)" % (len(held), lk[:3]))

    # JPEG 2000 comments (COM, FF64) with the patient's name (main header) and ID (a tile-part
    # header) go; the image stays
    j2 = os.path.join(data, "test_files", "MR_small_jp2klossless.dcm")
    if os.path.exists(j2):
        ds = pydicom.dcmread(j2)
        fr = decode_data_sequence(ds.PixelData)
        cs = fr[0]
        siz_end = 4 + struct.unpack(">H", cs[4:6])[0]  # SOC, then SIZ and its length
        text = b"\x00\x01" + (P_NAME + " " + P_NID).encode()
        com = b"\xff\x64" + struct.pack(">H", len(text) + 2) + text
        cs = cs[:siz_end] + com + cs[siz_end:]
        # and one in the first tile-part's header (after SOT's 12 bytes), its Psot made true
        sot = cs.index(b"\xff\x90", siz_end + len(com))
        text2 = b"\x00\x01" + ("Contact " + P_NID).encode()
        com2 = b"\xff\x64" + struct.pack(">H", len(text2) + 2) + text2
        psot = struct.unpack(">I", cs[sot + 6:sot + 10])[0]
        if psot:
            cs = cs[:sot + 6] + struct.pack(">I", psot + len(com2)) + cs[sot + 10:]
        fr[0] = cs[:sot + 12] + com2 + cs[sot + 12:]
        ds.PixelData = encapsulate(fr, has_bot=False)
        ds.PatientName = P_NAME
        jk_in = os.path.join(work, "j2k-in")
        os.makedirs(jk_in)
        ds.save_as(os.path.join(jk_in, "mr.dcm"))
        jk_out = os.path.join(work, "j2k-out")
        r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, jk_in, "-o", jk_out], capture_output=True)
        o = os.path.join(jk_out, "j2k-in", "mr.dcm")
        ok = r.returncode == 0 and os.path.exists(o) and not leaks_in(open(o, "rb").read())
        check(ok, "redteam: JPEG 2000 comments (main and tile-part headers) with the patient's name and ID go (%s)" %
              r.stderr.decode("utf-8", "replace").strip()[-200:])
        a, b = os.path.join(work, "ja.dcm"), os.path.join(work, "jb.dcm")
        ra = subprocess.run(["gdcmconv", "--raw", j2, a], capture_output=True)
        rb = subprocess.run(["gdcmconv", "--raw", o, b], capture_output=True)
        check(ok and ra.returncode == 0 and rb.returncode == 0 and
              pydicom.dcmread(a).PixelData == pydicom.dcmread(b).PixelData,
              "redteam: gdcm decodes the JPEG 2000 output to the same pixels")

    # issue #15: uncompressed YBR_FULL_422 (Y1 Y2 Cb Cr pairs) is looked at and cleaned, not refused
    y422 = os.path.join(data, "test_files", "SC_ybr_full_422_uncompressed.dcm")
    if os.path.exists(y422):
        yr = os.path.join(work, "y422.rules")
        with open(yr, "w") as f:
            f.write("rule all\n  rect 11 10 20 20\nend\n")
        yo = os.path.join(work, "y422-out")
        r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, "--clean-pixel-data", "--pixel-rules", yr, y422, "-o", yo],
                           capture_output=True)
        outs = [os.path.join(d, f) for d, _, fs in os.walk(yo) for f in fs]
        ok = r.returncode == 0 and len(outs) == 1
        if ok:
            a = pydicom.dcmread(y422).PixelData
            b = pydicom.dcmread(outs[0]).PixelData
            cols = 100
            for y in range(100):
                for x in range(0, cols, 2):
                    q = (y * cols + x) * 2
                    inside = [10 <= y < 30 and 11 <= xx < 31 for xx in (x, x + 1)]
                    want = list(a[q:q + 4])
                    for k in (0, 1):
                        if inside[k]:
                            want[k] = 0
                    if any(inside):
                        want[2] = want[3] = 128
                    if list(b[q:q + 4]) != want:
                        ok = False
        check(ok, "redteam: uncompressed YBR_FULL_422 cleaned pair by pair, the rest unchanged (%s)" %
              r.stderr.decode("utf-8", "replace").strip()[-200:])

    # the output check: what the cleaner cannot know, the originals' values can
    gate_in = os.path.join(work, "gate-in")
    os.makedirs(gate_in)
    ds = base(60)
    ds.DeviceSerialNumber = "SN4471QZ"             # identifies the device (X in the table)
    ds.ManufacturerModelName = "Quartz SN4471QZ"   # on the allow-list: kept, cleaned of known terms only
    save(ds, os.path.join(gate_in, "station.dcm"))
    rules = os.path.join(work, "miss.rules")
    with open(rules, "w") as f:
        f.write("rule misses-the-banner\n  modality US\n  rect 300 220 8 8\nend\n")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts/synth.py"), "usdemo",
                    os.path.join(gate_in, "us.dcm")], check=True, capture_output=True)
    gout, gq = os.path.join(work, "gate-out"), os.path.join(work, "gate-q")
    r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, "--clean-pixel-data", "--pixel-rules", rules,
                        "--no-builtin-rules", "--quarantine", gq, gate_in, "-o", gout], capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    written = [f for _, _, fs in os.walk(gout) for f in fs]
    held = [f for _, _, fs in os.walk(gq) for f in fs]
    check(r.returncode == 1 and not written and sorted(held) == ["station.dcm", "us.dcm"],
          "redteam: the output check holds back a device name in allowed text and text a pixel rule missed "
          "(exit %d, written %s, quarantined %s)" % (r.returncode, written, held))
    check("against at 00081090" in err and "burned-in-text" in err,
          "redteam: the output check names kind and tag path: %s" % err.strip()[-300:].replace("\n", " | "))
    check("SN4471QZ" not in err and "Quartz" not in err, "redteam: the output check's message holds no value")
    r = subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, "--no-verify", os.path.join(gate_in, "station.dcm"),
                        "-o", os.path.join(work, "gate-nv")], capture_output=True)
    nv = [f for _, _, fs in os.walk(os.path.join(work, "gate-nv")) for f in fs]
    check(r.returncode == 0 and nv == ["station.dcm"], "redteam: --no-verify writes what the check would hold back")

    # issue #15: pacsvault's own name pseudonym (PV^ + 12 hex digits, here all decimal) is no phone number
    pvd = os.path.join(work, "pv-pseudonym")
    os.makedirs(pvd)
    ds = base(70)
    ds.PatientName = "PV^123456789012"
    ds.PatientID = "PV1234567890123456789A"
    del ds.OtherPatientIDs
    ds.PatientBirthDate = ""
    ds.StudyDate = ""
    ds.PatientIdentityRemoved = "YES"
    save(ds, os.path.join(pvd, "pv.dcm"))
    r = subprocess.run([PV, "scan", "-q", "--no-ocr", "--json", pvd], capture_output=True)
    kinds = [f.get("kind") for line in r.stdout.decode().splitlines() if line.startswith("{") and '"findings"' in line
             for f in __import__("json").loads(line).get("findings", [])]
    check("phone" not in kinds, "redteam: a PV^ pseudonym of decimal digits is not a phone number (%s)" % kinds)

    # ages over 89, every spelling, under Retain Patient Characteristics
    agedir = os.path.join(work, "ages")
    os.makedirs(agedir)
    spellings = ["95Y ", "095y", "1200M", "5000W", "099Y", "045Y"]
    for k, a in enumerate(spellings):
        ds = base(20 + k)
        ds.add(DataElement(0x00101010, "AS", a))
        save(ds, os.path.join(agedir, "age%d.dcm" % k))
    out = os.path.join(work, "out-ages")
    subprocess.run([PV, "deid", "--mirror", "-q", "--key", key, "--retain-patient-characteristics", agedir, "-o", out],
                   capture_output=True)
    for k, a in enumerate(spellings):
        got = None
        for d, _, fs in os.walk(out):
            if "age%d.dcm" % k in fs:
                got = pydicom.dcmread(os.path.join(d, "age%d.dcm" % k)).get("PatientAge")
        want = "045Y" if a == "045Y" else "090Y"
        check(got == want, "redteam: age %r kept as %s (got %r)" % (a, want, got))
    return finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
