"""codec_seeds.py TARGET OUTDIR: seed frames for the codec fuzz targets.

Small synthetic images (sizes, sample counts and depths the fuzz header can
describe) compressed by dcmtk, each frame prefixed with the 4-byte header
of fuzz/codec_common.h. Used by fuzz/run.sh.
"""
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.encaps import generate_pixel_data_frame  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

TOOLS = {
    "fuzz_rle": [["dcmcrle"]],
    "fuzz_jpegll": [["dcmcjpeg", "+e1"], ["dcmcjpeg", "+el", "+sv", "6"], ["dcmcjpeg", "+el", "+sv", "3"]],
    "fuzz_jpeg": [["dcmcjpeg", "+eb"], ["dcmcjpeg", "+ep"]],
    "fuzz_jpegdct": [["dcmcjpeg", "+eb"], ["dcmcjpeg", "+ee"], ["dcmcjpeg", "+ee", "-ho"], ["dcmcjpeg", "+ee", "+n1"]],
    "fuzz_jpegls": [["dcmcjpls"], ["dcmcjpls", "+en"], ["dcmcjpls", "+in"]],
    "fuzz_j2k": [["gdcmconv", "--j2k"], ["gdcmconv", "--j2k", "--lossy", "--irreversible", "-q", "30"]],
}


def image(rows, cols, spp, bits, seed):
    rng = np.random.default_rng(seed)
    dt = np.uint8 if bits <= 8 else np.uint16
    a = (np.add.outer(np.arange(rows), np.arange(cols)) * 3 % (1 << bits)).astype(dt)
    a[rows // 2:, :] = rng.integers(0, 1 << bits, size=(rows - rows // 2, cols), dtype=dt)
    if spp == 3:
        a = np.stack([a, a // 2, a // 3], axis=-1)
    return a


def main():
    target, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    n = 0
    for rows, cols in ((8, 8), (17, 23), (40, 33), (64, 64)):
        for spp in (1, 3):
            for bits in (8, 12, 16):
                if target == "fuzz_jpeg" and bits != 8:
                    continue
                ds = Dataset()
                ds.file_meta = FileMetaDataset()
                ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
                ds.file_meta.MediaStorageSOPInstanceUID = "2.25.1"
                ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
                ds.SOPInstanceUID = "2.25.1"
                ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, spp
                ds.PhotometricInterpretation = "RGB" if spp == 3 else "MONOCHROME2"
                if spp == 3:
                    ds.PlanarConfiguration = 0
                ds.BitsAllocated = 8 if bits == 8 else 16
                ds.BitsStored = bits
                ds.HighBit = bits - 1
                ds.PixelRepresentation = 0
                ds.PixelData = image(rows, cols, spp, bits, n).tobytes()
                src = os.path.join(tmp, "src.dcm")
                ds.save_as(src, write_like_original=False)
                for k, tool in enumerate(TOOLS[target]):
                    dst = os.path.join(tmp, "dst.dcm")
                    if os.path.exists(dst):
                        os.unlink(dst)
                    if subprocess.run(tool + [src, dst], capture_output=True).returncode != 0:
                        continue
                    d2 = pydicom.dcmread(dst)
                    frame = next(generate_pixel_data_frame(d2.PixelData))
                    flags = (1 if spp == 3 else 0) | (2 if bits > 8 else 0)
                    hdr = bytes([rows - 1, cols - 1, flags, (bits - 2) % 15 if bits > 8 else 0])
                    with open(os.path.join(out, "seed-%d-%d-%d-%d-%d" % (rows, cols, spp, bits, k)), "wb") as f:
                        f.write(hdr + frame)
                    n += 1
    print("%d seeds" % n)


if __name__ == "__main__":
    main()
