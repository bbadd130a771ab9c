"""burnedin.py: burned-in text the pixel cleaner must blank whole (issue #14,
build 3), on files no pixel rule covers: the text detector and OCR find it,
deid blanks it, looks again, and writes the file only when nothing is left.

The corpus is generated here: anti-aliased TrueType text (DejaVu Sans
regular and bold, WenQuanYi Micro Hei for Chinese, a 1-pixel stroke for a
bold CJK face), 12 to 32 pixels, bright text on a dark banner and dark text
on a bright one; grey text (grey on black, mid-grey on a light banner);
a 64x64 12-bit image with 12-pixel text; a 1024x1024
16-bit image; an RGB image in Explicit VR Big Endian, the same in YBR_FULL;
a MONOCHROME1 image; a PALETTE COLOR image whose text is a low index the
palette shows white; an 8-bit image in
Deflated Explicit VR Little Endian with 2x bitmap glyphs running off the
image's edge; anti-aliased images RLE-, JPEG baseline- and JPEG-LS-
compressed by dcmtk and JPEG 2000-compressed by gdcm, which decode them
again for the scorer (input and output; JPEG baseline within 2 levels).

The scorer knows every text pixel (where the image with text differs from
the same image without it). For every file deid writes, no text pixel may
be left: a text pixel counts as gone when it changed, or when it lies in the
blanked area (fill-valued pixels connected to changed ones: dark text on a
blanked box has the fill's value already). A file held back is not a leak,
but every file here must be cleaned, not held back. Every written file says
BurnedInAnnotation NO, and `pacsvault scan` (with OCR) finds no text in it.
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pixfont  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, run  # noqa: E402

PV = os.environ["PV"]
DEJ = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJB = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
LE, BE, DEFL, RLE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5"


def coverage(h, w, text, x, y, size, font, bold=False):
    """The anti-aliased coverage (0..1) of text drawn at x, y."""
    from PIL import Image, ImageDraw, ImageFont
    m = Image.new("L", (w, h), 0)
    ImageDraw.Draw(m).text((x, y), text, fill=255, font=ImageFont.truetype(font, size),
                           stroke_width=1 if bold else 0, stroke_fill=255)
    return np.asarray(m).astype(np.float64) / 255.0


def new_ds(mod, rows, cols, spp, bits, pi, n, ts=LE):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7" if mod == "OT" else "1.2.840.10008.5.1.4.1.1.6.1"
    fm.MediaStorageSOPInstanceUID = "2.25.7710%d" % n
    fm.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = fm
    ds.SOPClassUID = fm.MediaStorageSOPClassUID
    ds.SOPInstanceUID = fm.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "2.25.8810%d" % n
    ds.SeriesInstanceUID = "2.25.9910%d" % n
    ds.Modality = mod
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "110101199003078515"
    ds.BurnedInAnnotation = "YES"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = pi
    ds.BitsAllocated = 16 if bits > 8 else 8
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if spp == 3:
        ds.PlanarConfiguration = 0
    return ds


def make(d, truth):
    """Writes the corpus into d; truth[name] = (background, image with text)."""
    os.makedirs(d, exist_ok=True)

    def put(name, ds, bg, img, fill=0):
        truth[name] = (bg, img, fill)
        if ds.file_meta.TransferSyntaxUID == BE:
            ds.PixelData = img.byteswap().tobytes() if img.dtype.itemsize > 1 else img.tobytes()
        else:
            ds.PixelData = img.tobytes()
        ds.save_as(os.path.join(d, name + ".dcm"), write_like_original=False)

    n = 0
    faces = ((22, DEJB, False, "DOE^JANE 110101199003078515"), (26, WQY, True, "患者 王小明 医生 李娜"),
             (12, DEJ, False, "DOE JANE 1990-03-07"), (16, DEJ, False, "ST MARY HOSPITAL"),
             (32, DEJB, False, "DOE JANE"), (26, WQY, False, "联系人 张伟 13812345678"))
    for size, font, bold, txt in faces:
        for bright in (False, True):
            n += 1
            rows, cols = 240, 480
            bg = pixfont.anatomy(rows, cols, 20 + n).astype(np.float64)
            bg[:60, :] = 200.0 if bright else 0.0
            ink = 0.0 if bright else 255.0
            a = coverage(rows, cols, txt, 6, 8, size, font, bold)
            img = np.clip(bg * (1 - a) + ink * a + 0.5, 0, 255).astype(np.uint8)
            name = "aa%02d_%d%s_%s" % (n, size, "b" if bold else "", "bright" if bright else "dark")
            put(name, new_ds("US", rows, cols, 1, 8, "MONOCHROME2", n), bg.astype(np.uint8), img)
    # grey text: grey on black, mid-grey on a light banner, Chinese in grey
    for bgv, ink, size, font, txt in ((0, 120, 16, DEJ, "DOE JANE 110101199003078515"),
                                      (200, 110, 16, DEJ, "DOE JANE 110101199003078515"),
                                      (30, 140, 26, WQY, "患者 王小明 医生 李娜")):
        n += 1
        rows, cols = 240, 480
        bg = pixfont.anatomy(rows, cols, 20 + n).astype(np.float64)
        bg[:60, :] = bgv
        a = coverage(rows, cols, txt, 6, 8, size, font)
        img = np.clip(bg * (1 - a) + ink * a + 0.5, 0, 255).astype(np.uint8)
        put("grey%02d_%d_on_%d" % (n, ink, bgv), new_ds("US", rows, cols, 1, 8, "MONOCHROME2", n), bg.astype(np.uint8), img)
    # 64x64, 12 bits stored
    bg = pixfont.anatomy(64, 64, 40).astype(np.float64) * 8
    bg[:20, :] = 0
    a = coverage(64, 64, "DOE J", 1, 2, 12, DEJB)
    put("small16", new_ds("OT", 64, 64, 1, 12, "MONOCHROME2", 41), bg.astype(np.uint16),
        np.clip(bg * (1 - a) + 4000 * a + 0.5, 0, 4095).astype(np.uint16))
    # 1024x1024, 16 bits
    bg = pixfont.anatomy(1024, 1024, 44).astype(np.float64) * 200
    bg[980:, :] = 0
    a = coverage(1024, 1024, "DOE^JANE 110101199003078515 2024-03-01", 10, 990, 20, DEJ)
    put("large16", new_ds("OT", 1024, 1024, 1, 16, "MONOCHROME2", 44), bg.astype(np.uint16),
        np.clip(bg * (1 - a) + 60000 * a + 0.5, 0, 65535).astype(np.uint16))
    # RGB in Explicit VR Big Endian
    rows, cols = 200, 360
    g = pixfont.anatomy(rows, cols, 42)
    bg = np.stack([g, (g * .8).astype(np.uint8), (g * .6).astype(np.uint8)], -1)
    bg[:50] = 0
    a = coverage(rows, cols, "DOE^JANE 13812345678", 4, 6, 22, DEJB)[..., None]
    rgb = np.clip(bg * (1 - a) + np.array([255, 255, 0]) * a + 0.5, 0, 255).astype(np.uint8)
    put("rgb_be", new_ds("US", rows, cols, 3, 8, "RGB", 42, ts=BE), bg, rgb)
    # the same in YBR_FULL (blanked to black: Y 0, Cb and Cr 128)
    from pydicom.pixel_data_handlers.util import convert_color_space
    put("ybr_full", new_ds("US", rows, cols, 3, 8, "YBR_FULL", 45), convert_color_space(bg, "RGB", "YBR_FULL"),
        convert_color_space(rgb, "RGB", "YBR_FULL"), fill=(0, 128, 128))
    # MONOCHROME1: stored values inverted (blanked to the stored maximum, black on screen)
    g = pixfont.anatomy(200, 320, 46).astype(np.float64)
    g[:50] = 0
    a = coverage(200, 320, "DOE^JANE 110101199003078515", 4, 6, 16, DEJ)
    disp = np.clip(g * (1 - a) + 255 * a + 0.5, 0, 255)
    put("mono1", new_ds("OT", 200, 320, 1, 8, "MONOCHROME1", 46), (255 - g).astype(np.uint8),
        (255 - disp).astype(np.uint8), fill=255)
    # PALETTE COLOR: the text is index 3, which the palette shows white (raw indices: no contrast)
    idx = (pixfont.anatomy(240, 480, 47).astype(np.float64) / 255 * 199 + 1).astype(np.uint8)
    idx[:60] = 0
    a = coverage(240, 480, "DOE^JANE 110101199003078515", 6, 8, 22, DEJB)
    img = idx.copy()
    img[a > 0.5] = 3
    ds = new_ds("US", 240, 480, 1, 8, "PALETTE COLOR", 47)
    lut = np.zeros(256, dtype=np.uint16)
    lut[1:201] = np.linspace(0, 52000, 200).astype(np.uint16)
    lut[3] = 65535
    for c in ("Red", "Green", "Blue"):
        setattr(ds, c + "PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, c + "PaletteColorLookupTableData", lut.tobytes())
    put("palette", ds, idx, img)
    # Deflated, 2x bitmap glyphs running off the right edge
    bg = pixfont.anatomy(200, 320, 43)
    bg[:40] = 0
    img = bg.copy()
    pixfont.render(img, "DOE JANE 110101199003078515", 4, 6, 255, scale=2)
    put("defl2x", new_ds("OT", 200, 320, 1, 8, "MONOCHROME2", 43, ts=DEFL), bg, img)


def text_left(bg, im, out, dec=None, tol=0, fillv=0):
    """Text pixels of im still in out (see the module's comment); returns (count, bbox).
    dec: the input as a decoder gives it back, when it is compressed (lossy: tol grey levels)."""
    bg, im, out = (x.astype(np.int64) for x in (bg, im, out))
    sig = np.abs(im - bg)
    if sig.ndim == 3:
        sig = sig.max(-1)
    text = sig > sig.max() // 16
    if dec is not None:
        im = dec.astype(np.int64)
    close = np.abs(out - im) <= tol
    same = close if out.ndim == 2 else close.all(-1)
    near_fill = np.abs(out - np.asarray(fillv, dtype=np.int64)) <= tol
    fill = near_fill if out.ndim == 2 else near_fill.all(-1)
    blank = ~same & fill
    while True:
        g = blank.copy()
        g[1:] |= blank[:-1]
        g[:-1] |= blank[1:]
        g[:, 1:] |= blank[:, :-1]
        g[:, :-1] |= blank[:, 1:]
        g &= fill
        if (g == blank).all():
            break
        blank = g
    left = text & same & ~blank
    ys, xs = np.nonzero(left)
    return int(left.sum()), ((int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())) if left.any() else None)


def main():
    root = sys.argv[1]
    inp, out, quar = (os.path.join(root, x) for x in ("in", "out", "quar"))
    truth = {}
    make(inp, truth)
    # one anti-aliased image RLE-compressed by dcmtk
    src = os.path.join(inp, "aa01_22_dark.dcm")
    run(["dcmcrle", src, os.path.join(inp, "aa01_rle.dcm")])
    truth["aa01_rle"] = truth["aa01_22_dark"]
    # dark anti-aliased text and Chinese in the compressed syntaxes the cleaner rewrites; dcmtk or
    # gdcm decodes input and output for the scorer (lossy: within 2 grey levels)
    work = os.path.join(root, "work")
    os.makedirs(work, exist_ok=True)
    coded = {}
    for base in ("aa02_22_bright", "aa11_26_dark"):
        for tag, enc, dec, tol in (("jpeg", ["dcmcjpeg", "+eb"], ["dcmdjpeg"], 2),
                                   ("jpls", ["dcmcjpls"], ["dcmdjpls"], 0),
                                   ("j2k", ["gdcmconv", "--j2k"], ["gdcmconv", "--raw"], 0)):
            name = "%s_%s" % (base[:4], tag)
            run(enc + [os.path.join(inp, base + ".dcm"), os.path.join(inp, name + ".dcm")])
            truth[name] = truth[base]
            coded[name] = (dec, tol)
    key = os.path.join(root, "key")
    run([PV, "keygen", "-o", key])
    report = os.path.join(root, "report.jsonl")
    run([PV, "deid", "--mirror", "-q", "--key", key, "--clean-pixel-data", "--no-builtin-rules", "--quarantine", quar,
         "--report", report, inp, "-o", out], ok=(0, 1))
    rep = {os.path.basename(j["file"])[:-4]: j for j in map(json.loads, open(report)) if j["file"].endswith(".dcm")}
    for name in sorted(truth):
        j = rep.get(name, {})
        o = os.path.join(out, "in", name + ".dcm")
        if not os.path.exists(o):
            check(False, "burned-in %s: cleaned and written, not held back (%s)" % (name, j.get("reason")))
            continue
        ds = pydicom.dcmread(o)
        bg, im, fillv = truth[name]
        if name in coded:
            dec, tol = coded[name]
            a, b = os.path.join(work, name + ".in.dcm"), os.path.join(work, name + ".out.dcm")
            run(dec + [os.path.join(inp, name + ".dcm"), a])
            run(dec + [o, b])
            n, box = text_left(bg, im, pydicom.dcmread(b).pixel_array, pydicom.dcmread(a).pixel_array, tol, fillv)
        else:
            n, box = text_left(bg, im, ds.pixel_array, fillv=fillv)
        check(n == 0, "burned-in %s: every text pixel blanked (%d left%s; rule %s)" % (
            name, n, " in %s" % (box,) if box else "", j.get("pixels", {}).get("rule")))
        check(ds.BurnedInAnnotation == "NO", "burned-in %s: written with BurnedInAnnotation NO" % name)
    p = run([PV, "scan", "--json", "-q", os.path.join(out, "in")], ok=(0, 3))
    left = [(os.path.basename(j["file"]), f["box"]) for j in map(json.loads, p.stdout.decode().splitlines())
            if "file" in j for f in j.get("findings", []) if f["kind"] == "burned-in-text"]
    check(not left, "scan (detector and OCR) finds no text in any cleaned file (%s)" % left[:5])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
