#!/usr/bin/python3
"""Writes the hand-made edge cases of tests/regress/ (synthetic bytes only)."""
import os
import struct
import sys
import zlib

out = sys.argv[1] if len(sys.argv) > 1 else "tests/regress"


def el(tag, vr, value, big=False, implicit=False):
    g, e = tag >> 16, tag & 0xffff
    end = ">" if big else "<"
    if implicit:
        return struct.pack(end + "HHI", g, e, len(value)) + value
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"):
        return struct.pack(end + "HH2sHI", g, e, vr, 0, len(value)) + value
    return struct.pack(end + "HH2sH", g, e, vr, len(value)) + value


def meta(ts):
    ts = ts.encode() + (b"\0" if len(ts) % 2 else b"")
    body = el(0x00020001, b"OB", b"\0\1") + el(0x00020010, b"UI", ts)
    return b"\0" * 128 + b"DICM" + el(0x00020000, b"UL", struct.pack("<I", len(body))) + body


def undef_seq(tag, items, vr=b"SQ"):
    s = struct.pack("<HH2sHI", tag >> 16, tag & 0xffff, vr, 0, 0xffffffff)
    for it in items:
        s += struct.pack("<HHI", 0xfffe, 0xe000, 0xffffffff) + it + struct.pack("<HHI", 0xfffe, 0xe00d, 0)
    return s + struct.pack("<HHI", 0xfffe, 0xe0dd, 0)


EXPL = "1.2.840.10008.1.2.1"
cases = {}
# 200 nested sequences: over the depth cap
inner = el(0x00100020, b"LO", b"ID")
for _ in range(200):
    inner = undef_seq(0x00081115, [inner])
cases["edge-deep-nesting.dcm"] = meta(EXPL) + inner
# A deflate bomb: 64 MiB of zeros in a few KiB
payload = el(0x00100020, b"LO", b"ID") + struct.pack("<HH2sHI", 0x0009, 0x1000, b"OB", 0, 64 << 20) + b"\0" * (64 << 20)
c = zlib.compressobj(9, zlib.DEFLATED, -15)
cases["edge-deflate-bomb.dcm"] = meta("1.2.840.10008.1.2.1.99") + c.compress(payload) + c.flush()
# UN of undefined length holding an implicit sequence (CP-246)
un_items = el(0x00100020, b"", b"ID", implicit=True)
cases["edge-un-sequence.dcm"] = meta(EXPL) + undef_seq(0x00291010, [un_items], vr=b"UN")
# Odd lengths everywhere
cases["edge-odd-lengths.dcm"] = meta(EXPL) + el(0x00080060, b"CS", b"CTX") + el(0x00100010, b"PN", b"A^B") + el(0x00091010, b"OB", b"\1\2\3")
# A length of 0xFFFFFFFE
cases["edge-huge-length.dcm"] = meta(EXPL) + struct.pack("<HH2sHI", 0x7fe0, 0x0010, b"OB", 0, 0xfffffffe) + b"\0" * 16
# An item overrunning its defined-length sequence
item = struct.pack("<HHI", 0xfffe, 0xe000, 1000) + el(0x00081150, b"UI", b"1.2\0")
cases["edge-item-overrun.dcm"] = meta(EXPL) + struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, len(item)) + item
# Meta group elements only, no data set
cases["edge-meta-only.dcm"] = meta(EXPL)
# Encapsulated pixel data with an odd fragment and a missing delimiter
frag = struct.pack("<HHI", 0xfffe, 0xe000, 0) + struct.pack("<HHI", 0xfffe, 0xe000, 5) + b"\xff\xd8\xff\xd9\0"
cases["edge-pixel-no-delimiter.dcm"] = meta("1.2.840.10008.1.2.4.50") + struct.pack("<HH2sHI", 0x7fe0, 0x0010, b"OB", 0, 0xffffffff) + frag
# Big endian with an explicit-length sequence and AT values
be = struct.pack(">HH2sH", 0x0028, 0x0009, b"AT", 4) + struct.pack(">HH", 0x0018, 0x1063)
cases["edge-big-endian-at.dcm"] = meta("1.2.840.10008.1.2.2") + be
# ISO 2022 escapes cut in the middle
cases["edge-iso2022-cut.dcm"] = meta(EXPL) + el(0x00080005, b"CS", b"\\ISO 2022 IR 87") + el(0x00100010, b"PN", b"\x1b$B;3\x1b$")

os.makedirs(out, exist_ok=True)
for name, data in sorted(cases.items()):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, len(data))
