"""Fonts shipped in lpr_ray/synth/fonts and the glyph masks rendered from them.

Glyphs are rasterised once per process with Pillow at a fixed cap height (ATLAS_H) and
kept as float32 masks, so that drawing a plate is only numpy/OpenCV work. Every mask of a
face shares one vertical frame (cap top to baseline), so glyphs line up when concatenated.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from lpr_ray.core.errors import require

require("PIL", "train")  # Pillow renders the fonts; a [pipeline] install has none
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from lpr_ray.synth import plate_font  # noqa: E402

FONT_DIR = Path(__file__).with_name("fonts")
ATLAS_H = 64  # cap height of glyph masks, in pixels

# Faces for the serial characters, with how often each is drawn when the procedural plate
# face (plate_font.py) is not. Condensed bold gothics first: US plates use
# Penitentiary-Gothic-like faces.
SERIAL_FONTS: tuple[tuple[str, float], ...] = (
    ("RobotoCondensed-Bold.ttf", 3.0),
    ("RobotoCondensed-Medium.ttf", 3.0),
    ("LiberationSansNarrow-Bold.ttf", 3.0),
    ("DejaVuSansCondensed-Bold.ttf", 2.5),
    ("PTN77F.ttf", 2.5),
    ("OpenSans-CondBold.ttf", 2.5),
    ("OSP-DIN.ttf", 2.0),
    ("BebasNeue-Bold.otf", 1.5),
    ("LiberationSans-Bold.ttf", 1.5),
    ("FreeSansBold.ttf", 1.5),
    ("B612-Bold.otf", 1.0),
    ("LeagueSpartan-Bold.otf", 1.0),
    ("YanoneKaffeesatz-Bold.otf", 1.0),
)
HEADER_FONTS = (
    "RobotoCondensed-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "OSP-DIN.ttf",
    "OpenSans-CondBold.ttf",
    "FreeSansBold.ttf",
    "PTN77F.ttf",
)
SCRIPT_FONTS = ("lobster.otf",)
SMALL_FONTS = (
    "LiberationSans-Bold.ttf",
    "RobotoCondensed-Bold.ttf",
    "PTN77F.ttf",
    "DejaVuSansCondensed-Bold.ttf",
)


@functools.lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


@functools.lru_cache(maxsize=32)
def _frame(name: str) -> tuple[int, int, int]:
    """(font size, top, bottom) such that a capital H spans ATLAS_H rows."""
    probe = _font(name, 100)
    _, top, _, bottom = probe.getbbox("H")
    size = max(8, round(100 * ATLAS_H / (bottom - top)))
    _, top, _, bottom = _font(name, size).getbbox("H")
    return size, top, bottom


@functools.lru_cache(maxsize=16384)
def glyph(name: str, ch: str) -> np.ndarray:
    """Mask (float32 in [0, 1]) of one character: ATLAS_H + 4 rows, tight columns.

    Names starting with "@plate:" are faces of the procedural plate font (plate_font.py)."""
    if plate_font.is_plate_face(name):
        return plate_font.glyph(name, ch, ATLAS_H)
    size, top, bottom = _frame(name)
    font = _font(name, size)
    left, _, right, _ = font.getbbox(ch)
    w = max(1, right - left) + 4
    img = Image.new("L", (w, 2 * ATLAS_H), 0)
    ImageDraw.Draw(img).text((2 - left, 4 - top), ch, font=font, fill=255)
    a = np.asarray(img, dtype=np.float32)[2:] * (1.0 / 255.0)
    a = _fit_frame(a) if ch != "Q" else a[: ATLAS_H + 4]
    cols = np.flatnonzero(a.max(axis=0) > 0.1)
    if cols.size:
        a = a[:, cols[0] : cols[-1] + 1]
    if ch == "I":
        a = _with_serifs(a)
    if ch == "Q":
        a = _with_tail(a)
    return np.ascontiguousarray(a)


def _fit_frame(a: np.ndarray) -> np.ndarray:
    """The glyph in the frame (cap top at row 2, baseline at row ATLAS_H + 2). A glyph that
    hangs below the baseline is squeezed to end on it, as plate faces draw it: cut at the
    frame instead, DejaVu's and Open Sans's J lost their hook and came out as bare bars
    labelled J, and Yanone's old-style 3 5 7 9 lost their lower part."""
    rows = np.flatnonzero(a.max(axis=1) > 0.1)
    # Round glyphs overshoot the baseline by up to 3 rows and keep being cut at 2, as before;
    # descenders reach 9-19 rows below it.
    if not rows.size or rows[-1] <= ATLAS_H + 5:
        return a[: ATLAS_H + 4]
    import cv2

    body = cv2.resize(a[2 : rows[-1] + 1], (a.shape[1], ATLAS_H), interpolation=cv2.INTER_AREA)
    return np.pad(body, ((2, 2), (0, 0)))


def _with_serifs(stem: np.ndarray) -> np.ndarray:
    """A sans I (a bare bar) with a plate's top and bottom serifs. US plate faces serif the
    I so that it is not a 1; a generator that drew bare bars taught the model to read the
    real, flagged 1 as I."""
    mid = stem[stem.shape[0] // 2]
    t = max(3, int((mid > 0.5).sum()))  # stroke width
    arm = max(round(0.9 * t), round(0.12 * ATLAS_H))
    out = np.pad(stem, ((0, 0), (arm, arm)))
    thick = max(3, round(0.75 * t))
    out[2 : 2 + thick] = 1.0
    out[ATLAS_H + 2 - thick : ATLAS_H + 2] = 1.0
    return out


def _with_tail(q: np.ndarray) -> np.ndarray:
    """A Q whose tail shows inside the frame. Most faces hang the tail below the baseline,
    where the frame (cap top to baseline + 2 rows) cuts it off: PTN77F's Q came out as its O
    exactly and the others within 1-4% of the O's ink, so the generator drew Os and labelled
    them Q (a third of a model's held-out Q/0 misreads were such plates, unreadable by eye).
    US plate faces cross the bowl's lower right with a straight tail, as plate_font's Q does."""
    import cv2

    h = ATLAS_H
    mid = q[2 + h // 2] > 0.5
    left_ring = np.flatnonzero(~mid[np.argmax(mid) :])
    t = max(3, int(left_ring[0]) if left_ring.size else round(0.12 * h))  # stroke width
    w = q.shape[1]
    q = np.pad(q, ((0, 0), (0, t // 2)))  # the tail's end sticks out past the bowl
    canvas = np.zeros(q.shape, np.uint8)
    p0 = (round(16 * 0.55 * w), round(16 * (2 + 0.6 * h)))
    p1 = (round(16 * (q.shape[1] - 0.5 - t / 2)), round(16 * (2 + h - t / 2)))
    cv2.line(canvas, p0, p1, 255, t, cv2.LINE_AA, 4)
    return np.maximum(q, canvas.astype(np.float32) * (1.0 / 255.0))


@functools.lru_cache(maxsize=8192)
def text_mask(name: str, text: str, height: int = 40) -> np.ndarray:
    """Mask of a short text (state name, slogan) at a given pixel size, cropped to its ink."""
    font = _font(name, height)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (max(1, right - left) + 4, max(1, bottom - top) + 4), 0)
    ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=255)
    a = np.asarray(img, dtype=np.float32) * (1.0 / 255.0)
    rows = np.flatnonzero(a.max(axis=1) > 0.1)
    cols = np.flatnonzero(a.max(axis=0) > 0.1)
    if rows.size and cols.size:
        a = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.ascontiguousarray(a)


def star_mask() -> np.ndarray:
    return _star()


@functools.lru_cache(maxsize=1)
def _star() -> np.ndarray:
    import cv2

    s = 48
    angles = np.arange(10) * np.pi / 5 - np.pi / 2
    radii = np.where(np.arange(10) % 2 == 0, s / 2, s / 5)
    pts = np.stack([s / 2 + radii * np.cos(angles), s / 2 + radii * np.sin(angles) + 2], axis=1)
    img = np.zeros((s, s), np.uint8)
    cv2.fillPoly(img, [np.round(pts * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    return img.astype(np.float32) / 255.0
