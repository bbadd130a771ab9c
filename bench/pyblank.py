"""pyblank.py IN OUT: what a pydicom user writes to blank burned-in text:
read each file, zero everything outside the ultrasound regions, save."""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import pydicom  # noqa: E402

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    ds = pydicom.dcmread(os.path.join(src, name))
    a = ds.pixel_array.copy()
    keep = np.zeros(a.shape[:2], dtype=bool)
    for r in ds.SequenceOfUltrasoundRegions:
        keep[r.RegionLocationMinY0:r.RegionLocationMaxY1 + 1, r.RegionLocationMinX0:r.RegionLocationMaxX1 + 1] = True
    a[~keep] = 0
    ds.PixelData = a.tobytes()
    ds.BurnedInAnnotation = "NO"
    ds.save_as(os.path.join(dst, name))
