#!/usr/bin/python3
"""A pydicom de-identification script (the bench's pydicom peer for deid).

  pydeid.py INDIR OUTDIR

Removes private tags and curves/overlays, blanks or removes the usual
identifying attributes (a fraction of PS3.15 E.1-1, as such scripts do),
replaces UIDs with fresh ones and writes every file under OUTDIR.
"""
import os
import sys

from pydicom import dcmread
from pydicom.uid import generate_uid

BLANK = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
         "ReferringPhysicianName", "StudyID", "StudyDate", "StudyTime"]
REMOVE = ["OtherPatientIDsSequence", "PatientTelephoneNumbers", "InstitutionName", "InstitutionAddress",
          "ImageComments", "OperatorsName", "StationName", "RequestAttributesSequence", "PatientAge"]
UIDS = ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"]

src, dst = sys.argv[1], sys.argv[2]
for root, _, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        ds = dcmread(p)
        ds.remove_private_tags()
        for kw in BLANK:
            if kw in ds:
                ds.data_element(kw).value = ""
        for kw in REMOVE:
            if kw in ds:
                delattr(ds, kw)
        for kw in UIDS:
            if kw in ds:
                setattr(ds, kw, generate_uid())
        ds.PatientIdentityRemoved = "YES"
        out = os.path.join(dst, os.path.relpath(p, src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        ds.save_as(out)
