"""pywalk.py FILE...: what a pydicom scanner does at the least: read each
file and visit every element at every depth, decoding each value."""
import sys
import warnings

warnings.filterwarnings("ignore")
import pydicom  # noqa: E402

n = 0
for path in sys.argv[1:]:
    ds = pydicom.dcmread(path, stop_before_pixels=False)
    for elem in ds.iterall():
        _ = elem.value
        n += 1
