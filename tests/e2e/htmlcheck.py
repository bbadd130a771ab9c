"""htmlcheck.py: the HTML reports of scan and risk, loaded in headless
Chromium: each page renders (a screenshot is taken), logs nothing to the
console (no error, no blocked resource), is well nested, holds the boxes
and the histogram, and never a whole planted value. PASS:/FAIL: lines."""
import html.parser
import os
import subprocess
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pixfont  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ["PV"]



def write(path, n, pid, name, sex, age, img=None, modality="CT"):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "2.25.7%d" % n
    ds.StudyInstanceUID = "2.25.8%d" % n
    ds.PatientID, ds.PatientName, ds.PatientSex, ds.PatientAge = pid, name, sex, age
    ds.Modality, ds.StudyDate = modality, "20240301"
    ds.ImageComments = "call 138-0013-8000 about <script>alert(1)</script>"
    if img is not None:
        ds.Rows, ds.Columns = img.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        ds.PixelData = img.tobytes()
    ds.save_as(path, write_like_original=False)


class Nesting(html.parser.HTMLParser):
    VOID = {"meta", "img", "br", "rect", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.bad, self.tags = [], 0, {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack.pop() != tag:
            self.bad += 1


def chromium(page, shot):
    exe = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
    if exe is None:
        return None, "chromium is not installed"
    p = subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--window-size=1200,1400",
                        "--screenshot=" + shot, "file://" + page],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p, p.stderr.decode(errors="replace")


def main():
    root = sys.argv[1]
    d = os.path.join(root, "files")
    os.makedirs(d)
    img = pixfont.anatomy(120, 160, 9)
    img[:20, :] = 0
    pixfont.render(img, "ZHANG WEI 0042", 4, 6, 255)
    write(os.path.join(d, "us.dcm"), 1, "HOSP0042", "ZHANG^WEI", "M", "045Y", img, "US")
    for i in range(30):
        write(os.path.join(d, "p%02d.dcm" % i), 10 + i, "P%04d" % i, "PATIENT^%d" % i, "FM"[i % 2], "0%d0Y" % (3 + i % 5))
    scan_html, risk_html = os.path.join(root, "scan.html"), os.path.join(root, "risk.html")
    subprocess.run([PV, "scan", "-q", "--html", scan_html, d], stdout=subprocess.DEVNULL)
    subprocess.run([PV, "risk", "-q", "--html", risk_html, d], stdout=subprocess.DEVNULL)
    for page, must in ((scan_html, ("<svg", "class=\"box\"", "data:image/png;base64,", "burned-in-text", "phone")),
                       (risk_html, ("<svg", "class=\"bar\"", "What drives uniqueness", "Generalisations"))):
        name = os.path.basename(page)
        check(os.path.exists(page), "%s written" % name)
        text = open(page, encoding="utf-8").read()
        for m in must:
            check(m in text, "%s holds %s" % (name, m))
        n = Nesting()
        n.feed(text)
        check(n.bad == 0 and not n.stack, "%s: every element is closed in order" % name)
        for v in ("HOSP0042", "ZHANG^WEI", "138-0013-8000", "<script>"):
            check(v not in text, "%s: %s does not appear whole (masked or escaped)" % (name, v))
        if name == "scan.html":
            import base64
            import io
            from PIL import Image
            b64 = text.split("data:image/png;base64,", 1)[1].split('"', 1)[0]
            th = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))
            check(th.shape == (120, 160) and int(th[:20, :].max()) < 250,
                  "scan.html: the thumbnail is the image, with its burned-in text covered (%s, banner max %d)" % (
                      th.shape, int(th[:20, :].max())))
        shot = page + ".png"
        p, err = chromium(page, shot)
        if p is None:
            check(False, "%s: %s" % (name, err))
            continue
        ok = os.path.exists(shot) and os.path.getsize(shot) > 5000
        check(ok, "%s: headless Chromium renders it (screenshot %s, %d bytes)" % (
            name, shot, os.path.getsize(shot) if os.path.exists(shot) else 0))
        console = [l for l in err.splitlines() if "CONSOLE" in l or "Refused to" in l]
        check(not console, "%s: nothing on the console (%s)" % (name, console[:2]))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
