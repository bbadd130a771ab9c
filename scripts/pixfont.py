"""pixfont.py: a 5x7 bitmap font and text rendering into numpy images.

Used by the tests to burn synthetic identifiers into pixel data, the way
modalities burn patient banners into ultrasound and screen captures.
"""
import numpy as np

GLYPHS = {
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "B": ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "D": ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
    "G": ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "Q": ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "V": ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
    "W": ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
    "Y": ["10001", "10001", "10001", "01010", "00100", "00100", "00100"],
    "Z": ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
    "^": ["00100", "01010", "10001", "00000", "00000", "00000", "00000"],
    "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
    "/": ["00001", "00010", "00010", "00100", "01000", "01000", "10000"],
    ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
    ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
    " ": ["00000"] * 7,
}


def text_size(text, scale=1):
    """Width and height in pixels of text at scale (1 = 5x7 glyphs, 1-pixel gaps)."""
    return (len(text) * 6 - 1) * scale, 7 * scale


def render(img, text, x, y, value, scale=1):
    """Burns text into img (2-D or rows x cols x samples) at x, y with value.
    Returns the bounding box (x, y, w, h)."""
    cx = x
    for ch in text.upper():
        g = GLYPHS.get(ch, GLYPHS[" "])
        for r, row in enumerate(g):
            for c, bit in enumerate(row):
                if bit == "1":
                    img[y + r * scale:y + (r + 1) * scale, cx + c * scale:cx + (c + 1) * scale] = value
        cx += 6 * scale
    w, h = text_size(text, scale)
    return (x, y, w, h)


def anatomy(rows, cols, seed, lo=30, hi=200, dtype=np.uint8):
    """A smooth synthetic 'anatomy' background: blobs and gentle noise, no text."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    img = np.zeros((rows, cols), dtype=np.float64)
    for _ in range(6):
        cy, cx = rng.uniform(0, rows), rng.uniform(0, cols)
        r = rng.uniform(min(rows, cols) / 8, min(rows, cols) / 3)
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    img = img / img.max()
    img = lo + (hi - lo) * img + rng.normal(0, 2, size=img.shape)
    return np.clip(img, lo, hi).astype(dtype)


def render_ttf(img, text, x, y, value, size=12, font="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
    """Burns text in a TrueType font (pixel height size) into img at x, y.
    Returns the bounding box (x, y, w, h) of the inked pixels."""
    from PIL import Image, ImageDraw, ImageFont
    h, w = img.shape[:2]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((x, y), text, fill=255, font=ImageFont.truetype(font, size))
    m = np.asarray(mask) > 127
    img[m] = value
    ys, xs = np.nonzero(m)
    return (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
