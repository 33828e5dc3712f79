"""Masks of Chinese plate characters, each filling the standard character cell.

Two sources: the plate typeface's own bitmaps (assets/glyphs: `plate` for single-row plates,
`green` for new-energy ones, from the MIT-licensed cn_plate_glyphs set) and open CJK fonts
(assets/fonts: Noto Sans and Serif CJK SC, OFL-1.1), which give a model other stroke shapes
than the one typeface. Masks are float32 0..1, cached per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from lpr_ray.core.errors import require

require("PIL", "train")  # Pillow renders the fonts; a [pipeline] install has none
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

ASSETS = Path(__file__).with_name("assets")
FONTS = ("NotoSansCJKsc-Bold.otf", "NotoSansCJKsc-Regular.otf", "NotoSerifCJKsc-Bold.otf")
CELL_W, CELL_H = 45, 90  # the bitmaps' cell, 1 px per mm


@functools.lru_cache(maxsize=512)
def bitmap(kind: str, ch: str) -> np.ndarray | None:
    """The plate typeface's glyph of `ch` in its 45 x 90 cell, or None if the set lacks it."""
    path = ASSETS / "glyphs" / kind / f"U+{ord(ch):04X}.png"
    if not path.exists():
        return None
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(f"cannot read glyph bitmap {path}")
    return mask.astype(np.float32) / 255.0


@functools.lru_cache(maxsize=8)
def _font(name: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(ASSETS / "fonts" / name), 160)


@functools.lru_cache(maxsize=1024)
def font_glyph(name: str, ch: str) -> np.ndarray:
    """`ch` drawn in font `name`, fitted to the 45 x 90 cell: stretched to the cell's height,
    squeezed to its width when wider (plate characters are condensed), centred."""
    font = _font(name)
    img = Image.new("L", (240, 240), 0)
    ImageDraw.Draw(img).text((40, 20), ch, font=font, fill=255)
    a = np.asarray(img, np.float32) / 255.0
    rows, cols = np.flatnonzero(a.max(axis=1) > 0.2), np.flatnonzero(a.max(axis=0) > 0.2)
    ink = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = ink.shape
    new_w = min(CELL_W, max(4, round(w * CELL_H / h)))
    ink = cv2.resize(ink, (new_w, CELL_H), interpolation=cv2.INTER_AREA)
    cell = np.zeros((CELL_H, CELL_W), np.float32)
    x = (CELL_W - new_w) // 2
    cell[:, x : x + new_w] = ink
    return cell


def glyph(source: str, ch: str) -> np.ndarray:
    """`source` is a bitmap set ("plate", "green") or a font file name from FONTS."""
    if source in FONTS:
        return font_glyph(source, ch)
    mask = bitmap(source, ch)
    if mask is None:  # 警 and 学 have no new-energy bitmaps (no such plates)
        mask = bitmap("plate", ch)
    if mask is None:
        raise ValueError(f"no glyph of {ch!r} in the {source!r} bitmaps")
    return mask
