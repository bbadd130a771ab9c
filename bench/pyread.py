#!/usr/bin/python3
"""pydicom's dcmread over every file named (the bench's pydicom peer)."""
import sys

from pydicom import dcmread

for p in sys.argv[1:]:
    dcmread(p)
