"""Drawing primitives shared by the plate renderer: the canvas size, colour helpers, and
alpha-blending a mask onto the canvas.

The plate is drawn on a PLATE_W x PLATE_H float32 RGB canvas (values 0..255, a 2:1 plate
like the 12x6 inch US standard).
"""

from __future__ import annotations

import random

import cv2
import numpy as np

PLATE_W = 192
PLATE_H = 96

Colour = tuple[float, ...]  # RGB, 0..255 (ints accepted; one value for a 1-channel canvas)

STICKER_COLOURS = (
    (250, 210, 40),
    (240, 90, 150),
    (60, 170, 80),
    (60, 110, 210),
    (245, 140, 40),
    (220, 40, 50),
    (235, 235, 235),
    (120, 60, 160),
    (40, 190, 200),
)
FRAME_COLOURS = (
    (15, 15, 18),
    (30, 30, 34),
    (150, 150, 155),
    (190, 190, 195),
    (170, 140, 70),
    (60, 60, 64),
)


def mix(a: Colour, b: Colour, t: float) -> Colour:
    return tuple(float(x) * (1 - t) + float(y) * t for x, y in zip(a, b, strict=True))


def luma(c: Colour) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def jitter_colour(c: Colour, r: random.Random, amount: float = 18.0) -> Colour:
    return tuple(min(255.0, max(0.0, v + r.uniform(-amount, amount))) for v in c)


def paint(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, colour: Colour) -> None:
    """Alpha-blend a colour through a mask placed with its top-left corner at (x, y)."""
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = canvas[y0:y1, x0:x1]
    region += (np.asarray(colour, np.float32) - region) * m


def fit(mask: np.ndarray, height: float, max_width: float, stretch: float = 1.0) -> np.ndarray:
    h = max(2, round(height))
    w = mask.shape[1] * h / mask.shape[0] * stretch
    w = max(2, round(min(w, max_width)))
    interp = cv2.INTER_AREA if h < mask.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(mask, (w, h), interpolation=interp)
