"""Draw one flat, front-facing Chinese plate: background, border, rivets, the dot or
new-energy mark, and the characters in their standard cells. The camera and detector effects
are the US generator's (lpr_ray.synth.augment.camera).
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np

from lpr_ray.synth.cn import formats, glyphs
from lpr_ray.synth.cn.formats import PlateType

SCALE = 0.6  # canvas pixels per millimetre: a 440 mm plate is 264 px, a character 27 x 54
PLATE_H_MM = 140
CHAR_TOP_MM = 25
BITMAP_P = 0.7  # share of plates drawn in the plate typeface's bitmaps; the rest in open fonts
RED = (200, 25, 30)

# Left edges (mm) of the character cells (GA 36-2018): 7 cells of 45 mm with 12 mm gaps and
# 34 mm for the dot after the second; new energy: 8 cells of 43 mm, 9 mm gaps, 51 mm for the mark.
CELLS_7 = (15.5, 72.5, 151.5, 208.5, 265.5, 322.5, 379.5)
CELLS_8 = (15.5, 67.5, 161.5, 213.5, 265.5, 317.5, 369.5, 421.5)

BACKGROUNDS = {
    "blue": ((12, 62, 168), (12, 62, 168)),
    "yellow": ((250, 188, 20), (250, 188, 20)),
    "white": ((238, 240, 240), (238, 240, 240)),
    # new energy: light green fading to green top to bottom (small cars), yellow to green
    # left to right (large vehicles)
    "green_small": ((215, 248, 225), (40, 205, 110)),
    "green_large": ((245, 200, 40), (60, 190, 95)),
}


def _jitter(colour, r: random.Random, amount: float = 18.0) -> np.ndarray:
    return np.clip(np.array([c + r.uniform(-amount, amount) for c in colour], np.float32), 0, 255)


def _background(kind: PlateType, w: int, h: int, r: random.Random) -> np.ndarray:
    a, b = (_jitter(c, r) for c in BACKGROUNDS[kind.background])
    if kind.background == "green_large":
        t = np.clip((np.arange(w, dtype=np.float32) / w - 0.22) / 0.12, 0, 1)[None, :, None]
        return np.broadcast_to(a + (b - a) * t, (h, w, 3)).copy()
    t = (np.arange(h, dtype=np.float32) / h)[:, None, None] ** r.uniform(0.8, 1.4)
    return np.broadcast_to(a + (b - a) * t, (h, w, 3)).copy()


def _rivets(canvas: np.ndarray, w_mm: float, r: random.Random) -> None:
    s = SCALE
    shade = r.choice(((235, 235, 235), (40, 40, 40), (150, 150, 150)))
    for fx in (0.24, 0.76):
        for y_mm in (9.0, PLATE_H_MM - 9.0):
            if r.random() < 0.85:
                centre = (round(fx * w_mm * s + r.uniform(-2, 2)), round(y_mm * s))
                axes = (max(2, round(9 * s)), max(1, round(3.5 * s)))
                cv2.ellipse(canvas, centre, axes, 0, 0, 360, _jitter(shade, r, 20).tolist(), -1, cv2.LINE_AA)
                if r.random() < 0.5:  # a screw head in the slot
                    cv2.circle(canvas, centre, max(2, round(4 * s)), _jitter((170, 170, 175), r, 30).tolist(), -1, cv2.LINE_AA)


def _mark(canvas: np.ndarray, kind: PlateType, ink, r: random.Random) -> None:
    """The dot after the second character, or the new-energy mark in the wider gap."""
    s = SCALE
    if kind.chars == 8:
        cx, cy, rad = (CELLS_8[1] + 43 + CELLS_8[2]) / 2 * s, 70 * s, 9 * s
        cv2.circle(canvas, (round(cx), round(cy)), round(rad), (245, 245, 245), -1, cv2.LINE_AA)
        for k, colour in enumerate(((40, 150, 220), (60, 190, 90), (240, 200, 40))):
            cv2.ellipse(canvas, (round(cx), round(cy)), (round(rad * 0.7), round(rad * 0.7)), 0,
                        120 * k, 120 * k + 100, colour, max(1, round(2.5 * s)), cv2.LINE_AA)
        return
    cx = (CELLS_7[1] + 45 + CELLS_7[2]) / 2 * s
    cv2.circle(canvas, (round(cx), round(70 * s)), max(2, round(5 * s)), ink, -1, cv2.LINE_AA)


def _emboss(canvas: np.ndarray, mask: np.ndarray, r: random.Random) -> None:
    """Stamped characters catch light on one edge and shade the other."""
    d = r.choice((1, 1, 2))
    shifted = np.zeros_like(mask)
    shifted[d:, d:] = mask[:-d, :-d]
    canvas += ((shifted - mask) * r.uniform(-70, 70))[..., None]


def draw_plate(r: random.Random) -> tuple[np.ndarray, str, np.ndarray, PlateType]:
    """A flat plate canvas float32 RGB, its label, the characters' ink coverage, and its type."""
    kind = formats.pick_type(r)
    text = formats.plate_text(kind, r)
    s = SCALE
    w, h = round(kind.width_mm * s), round(PLATE_H_MM * s)
    canvas = _background(kind, w, h, r)
    ink_colour = _jitter(kind.ink, r, 15)
    inset = round(r.uniform(2.0, 4.0) * s)
    cv2.rectangle(canvas, (inset, inset), (w - 1 - inset, h - 1 - inset), ink_colour.tolist(),
                  max(1, round(r.uniform(1.0, 2.0) * s)), cv2.LINE_AA)
    _rivets(canvas, kind.width_mm, r)
    _mark(canvas, kind, ink_colour.tolist(), r)

    source = kind.glyphs if r.random() < BITMAP_P else r.choice(glyphs.FONTS)
    cells = CELLS_8 if kind.chars == 8 else CELLS_7
    cell_w = 43 if kind.chars == 8 else 45
    weight = r.random()  # stroke weight: worn, fresh or heavy print
    height = 90 * r.uniform(0.94, 1.02)
    ink = np.zeros((h, w), np.float32)
    red = np.zeros((h, w), np.float32)
    for i, (ch, x_mm) in enumerate(zip(text, cells, strict=True)):
        m = glyphs.glyph(source, ch)
        gw, gh = max(3, round(cell_w * s * r.uniform(0.95, 1.03))), max(6, round(height * s))
        m = cv2.resize(m, (gw, gh), interpolation=cv2.INTER_AREA)
        if weight < 0.12:
            m = cv2.dilate(m, np.ones((2, 2), np.uint8))
        elif weight < 0.3:
            m = cv2.erode(m, np.ones((2, 1), np.uint8))
        x = round((x_mm + r.uniform(-1.5, 1.5)) * s)
        y = round((CHAR_TOP_MM + (90 - height) / 2 + r.uniform(-1.5, 1.5)) * s)
        x, y = min(max(x, 0), w - gw), min(max(y, 0), h - gh)
        target = red if (ch == "警" or (ch == "学" and r.random() < 0.5)) and i == len(text) - 1 else ink
        np.maximum(target[y : y + gh, x : x + gw], m, out=target[y : y + gh, x : x + gw])
    both = np.maximum(ink, red)
    if r.random() < 0.7:
        _emboss(canvas, both, r)
    canvas += (ink_colour - canvas) * ink[..., None]
    canvas += (_jitter(RED, r, 20) - canvas) * red[..., None]
    if r.random() < 0.25:  # a plate frame: a dark or chrome band around the plate
        t = max(1, round(r.uniform(1.5, 5.0) * s))
        colour = _jitter(r.choice(((25, 25, 28), (170, 170, 175), (60, 60, 64))), r, 15).tolist()
        cv2.rectangle(canvas, (0, 0), (w - 1, h - 1), colour, t)
    return canvas, text, both, kind


def source_size(r: random.Random, canvas_aspect: float) -> tuple[int, int]:
    """Crop size before the 96 x 48 resize: mostly 70..260 px wide, at about the plate's
    aspect (a detector box around a tilted plate is a little taller)."""
    w = math.exp(r.gauss(math.log(130.0), 0.38))
    w = min(420, max(44, w))
    aspect = canvas_aspect * r.uniform(0.82, 1.12)
    return round(w), max(12, round(w / aspect))
