"""A procedural stroke font in the style of Penitentiary Gothic, the face of most US plates.

Each character is a few centre-line polylines (straight strokes and elliptical arcs) in a
unit box, drawn with cv2 at a uniform stroke width. What sets the plate face apart from the
shipped sans faces, and what a model trained only on those misreads, is kept: the M's
middle V stops around mid-height (an H with a V between the stems), the W's middle peak is
short (or, as on Texas plates, the W hardly wider than an H with its peak at the cap line
or with upright sides),
0 2 3 5 6 8 9 are rounded, the 1 has a flag (short or long, sometimes a foot), the I has
level serifs.

A face is named "@plate:<stroke>:<width>:<jitter>" (see `face_name`); `glyph` draws one
character of it as a mask in the frame of fonts.glyph (ATLAS_H + 4 rows, cap from row 2).
"""

from __future__ import annotations

import functools
import math
import random

import cv2
import numpy as np

PREFIX = "@plate:"
STROKES = (0.10, 0.115, 0.13, 0.145, 0.165)  # stroke width / cap height
WIDTHS = (0.40, 0.46, 0.52, 0.58)  # glyph width / cap height (of an H, outer edges)
JITTERS = 3  # per-glyph shape variants (depth of M's V, A's top, serifs)
STRAIGHT = 0.13  # longer steps (unit box) are straight strokes; arcs step in shorter ones

Pts = list[tuple[float, float]]


def face_name(r: random.Random) -> str:
    """A plate face for one plate: stroke weight and width drawn once per plate."""
    return f"{PREFIX}{r.randrange(len(STROKES))}:{r.randrange(len(WIDTHS))}"


def with_jitter(face: str, r: random.Random) -> str:
    """The face for one character: a small per-glyph shape variant."""
    return f"{face}:{r.randrange(JITTERS)}"


def is_plate_face(name: str) -> bool:
    return name.startswith(PREFIX)


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> Pts:
    """Points along an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down)."""
    n = max(3, int(abs(a1 - a0) / 12) + 1)
    out = []
    for i in range(n):
        a = math.radians(a0 + (a1 - a0) * i / (n - 1))
        out.append((cx + rx * math.cos(a), cy + ry * math.sin(a)))
    return out


def _loop(x0: float, y0: float, x1: float, y1: float, rx: float, ry: float) -> Pts:
    """A closed box from (x0, y0) to (x1, y1) with elliptical corners of radii rx, ry."""
    return (
        _arc(x1 - rx, y0 + ry, rx, ry, 270, 360)
        + _arc(x1 - rx, y1 - ry, rx, ry, 0, 90)
        + _arc(x0 + rx, y1 - ry, rx, ry, 90, 180)
        + _arc(x0 + rx, y0 + ry, rx, ry, 180, 270)
        + [(x1 - rx, y0)]
    )


def _flip(strokes: list[Pts]) -> list[Pts]:
    return [[(1 - x, 1 - y) for x, y in s] for s in strokes]


def _strokes(ch: str, j: int) -> tuple[list[Pts], float]:
    """Centre lines of a character in a unit box (y down) and its width relative to an H."""
    ry = 0.27
    if ch in "0O":
        rel = 1.0 if ch == "0" else 1.12
        return [
            _arc(0.5, ry, 0.5, ry, 180, 360) + _arc(0.5, 1 - ry, 0.5, ry, 0, 180) + [(0, ry)]
        ], rel
    if ch == "1":
        # A sloped flag on the left only, no serif on the right: that is what tells it from
        # the I, whose serifs are level on both sides. California's 1 is footless with a
        # short flag, nearly a bare bar in a small crop; a generator whose 1s all had long
        # flags or feet taught the model to read real bare-bar 1s as I (6 us_real_val
        # misreads in session 3).
        flag = ((0.40, 0.13), (0.18, 0.24), (0.18, 0.30))[j]
        s = [[flag, (0.62, 0.0), (0.62, 1.0)]]
        if j == 2:
            s.append([(0.32, 1.0), (0.92, 1.0)])
        return s, 0.75
    if ch == "2":
        return [_arc(0.5, 0.27, 0.5, 0.27, 195, 385) + [(0.0, 1.0), (1.0, 1.0)]], 1.0
    if ch == "3":
        if j == 2:  # flat-topped 3
            return [
                [(0.05, 0.0), (0.95, 0.0), (0.4, 0.42)] + _arc(0.5, 0.7, 0.5, 0.3, 270, 515)
            ], 1.0
        return [_arc(0.5, 0.25, 0.46, 0.25, 200, 450) + _arc(0.5, 0.73, 0.5, 0.27, 270, 520)], 1.0
    if ch == "4":
        return [[(0.75, 1.0), (0.75, 0.0), (0.0, 0.68), (1.0, 0.68)]], 1.0
    if ch == "5":
        return [
            [(0.95, 0.0), (0.08, 0.0), (0.04, 0.46)] + _arc(0.5, 0.67, 0.5, 0.33, 235, 500)
        ], 1.0
    if ch == "6":
        return [_arc(0.5, 0.3, 0.5, 0.3, 335, 180) + _arc(0.5, 0.68, 0.5, 0.32, 180, 540)], 1.0
    if ch == "9":
        return _flip(_strokes("6", j)[0]), 1.0
    if ch == "7":
        return [[(0.0, 0.0), (1.0, 0.0), (0.35 - 0.05 * j, 1.0)]], 1.0
    if ch == "8":
        if j == 0:  # loops with straight sides (Missouri's, Arizona's, California's condensed
            # 8): only the rounded left corners tell it from a B (real ones were read B)
            return [_loop(0.07, 0.0, 0.93, 0.49, 0.3, 0.16), _loop(0.0, 0.47, 1.0, 1.0, 0.34, 0.17)], 1.0
        return [_arc(0.5, 0.245, 0.43, 0.245, 90, 450), _arc(0.5, 0.735, 0.5, 0.265, 270, 630)], 1.0
    if ch == "A":
        top = (0.0, 0.08, 0.16)[j]
        return [
            [(0.0, 1.0), (0.5 - top, 0.0), (0.5 + top, 0.0), (1.0, 1.0)],
            [(0.2, 0.64), (0.8, 0.64)],
        ], 1.05
    if ch == "B":
        return [
            [(0.0, 0.48)]
            + [(0.0, 0.0), (0.62, 0.0)]
            + _arc(0.62, 0.24, 0.33, 0.24, 270, 450)
            + [(0.0, 0.48)],
            [(0.0, 0.48), (0.66, 0.48)]
            + _arc(0.66, 0.74, 0.34, 0.26, 270, 450)
            + [(0.0, 1.0), (0.0, 0.48)],
        ], 1.0
    if ch == "C":
        return [_arc(0.5, 0.3, 0.5, 0.3, 335, 180) + _arc(0.5, 0.7, 0.5, 0.3, 180, 25)], 1.0
    if ch == "D":
        return [
            [(0.0, 0.0), (0.5, 0.0)]
            + _arc(0.5, 0.4, 0.5, 0.4, 270, 360)
            + _arc(0.5, 0.6, 0.5, 0.4, 0, 90)
            + [(0.0, 1.0), (0.0, 0.0)]
        ], 1.0
    if ch == "E":
        return [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [(0.0, 0.5), (0.8, 0.5)]], 0.92
    if ch == "F":
        return [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], [(0.0, 0.5), (0.8, 0.5)]], 0.9
    if ch == "G":
        return [
            _arc(0.5, 0.3, 0.5, 0.3, 335, 180)
            + _arc(0.5, 0.7, 0.5, 0.3, 180, 0)
            + [(1.0, 0.52), (0.55, 0.52)]
        ], 1.0
    if ch == "H":
        return [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]], 1.0
    if ch == "I":  # always serifed on plates, so that it is not a 1; serif width varies
        a = (0.12, 0.06, 0.0)[j]
        return [[(0.5, 0.0), (0.5, 1.0)], [(a, 0.0), (1 - a, 0.0)], [(a, 1.0), (1 - a, 1.0)]], 0.55
    if ch == "J":
        return [[(1.0, 0.0), (1.0, 0.7)] + _arc(0.5, 0.7, 0.5, 0.3, 0, 180) + [(0.0, 0.62)]], 0.95
    if ch == "K":
        return [
            [(0.0, 0.0), (0.0, 1.0)],
            [(1.0, 0.0), (0.0, 0.64)],
            [(0.32, 0.44), (1.0, 1.0)],
        ], 1.0
    if ch == "L":
        return [[(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]], 0.88
    if ch == "M":
        v = (0.48, 0.58, 0.68)[j]  # the middle V stops around mid-height
        return [[(0.0, 1.0), (0.0, 0.0), (0.5, v), (1.0, 0.0), (1.0, 1.0)]], 1.18
    if ch == "N":
        return [[(0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0)]], 1.0
    if ch == "P":
        return [
            [(0.0, 1.0), (0.0, 0.0), (0.64, 0.0)]
            + _arc(0.64, 0.27, 0.36, 0.27, 270, 450)
            + [(0.0, 0.54)]
        ], 1.0
    if ch == "Q":  # the tail runs from inside the bowl to its corner: shorter, it merged
        # with the bowl in small crops and a Q was a 0 (California serials carry Qs)
        o = _strokes("0", j)[0]
        return o + [[(0.5, 0.66), (1.0, 1.0)]], 1.0
    if ch == "R":
        p = _strokes("P", j)[0]
        return p + [[(0.45, 0.54), (1.0, 1.0)]], 1.0
    if ch == "S":
        return [_arc(0.5, 0.26, 0.48, 0.26, 340, 120) + _arc(0.5, 0.74, 0.5, 0.26, 300, 520)], 1.0
    if ch == "T":  # California's T is narrow, its bar little wider than an I's serifs: only
        # the I's bottom serif tells them apart (real narrow Ts were read I)
        return [[(0.0, 0.0), (1.0, 0.0)], [(0.5, 0.0), (0.5, 1.0)]], (1.0, 0.82, 0.68)[j]
    if ch == "U":
        return [[(0.0, 0.0), (0.0, 0.68)] + _arc(0.5, 0.68, 0.5, 0.32, 180, 0) + [(1.0, 0.0)]], 1.0
    if ch == "V":
        if j == 2:  # Arizona's V ends in a short flat foot, not a point: its straight sides
            # from the top corners are what tell it from a U (real ones were read U)
            return [[(0.0, 0.0), (0.4, 1.0), (0.6, 1.0), (1.0, 0.0)]], 1.05
        # Arizona's current face condenses the V: steep sides a U's width apart, read U
        # at 0.98 and 1.0 on real plates whose synthetic Vs were all wide
        return [[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)]], (0.8, 1.05)[j]
    if ch == "W":
        if j == 2:  # Texas's condensed W: its middle peak at the cap line
            return [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.06), (0.75, 1.0), (1.0, 0.0)]], 1.15
        if j == 0:  # Texas's other W: upright sides, like an H with a peak between the
            # stems that stops a third of the way down (real ones were read N)
            return [[(0.0, 0.0), (0.08, 1.0), (0.5, 0.35), (0.92, 1.0), (1.0, 0.0)]], 1.1
        # the middle peak is short: its tip near mid-height
        return [[(0.0, 0.0), (0.22, 1.0), (0.5, 0.45), (0.78, 1.0), (1.0, 0.0)]], 1.25
    if ch == "X":
        return [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]], 1.0
    if ch == "Y":
        return [[(0.0, 0.0), (0.5, 0.52), (1.0, 0.0)], [(0.5, 0.52), (0.5, 1.0)]], 1.0
    if ch == "Z":
        return [[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]], 1.0
    raise KeyError(ch)


@functools.lru_cache(maxsize=8192)
def glyph(name: str, ch: str, atlas_h: int) -> np.ndarray:
    """Mask (float32 in [0, 1]) of one character: atlas_h + 4 rows, cap from row 2."""
    parts = name[len(PREFIX) :].split(":")
    stroke, width = STROKES[int(parts[0])], WIDTHS[int(parts[1])]
    j = int(parts[2]) if len(parts) > 2 else 1
    strokes, rel = _strokes(ch.upper(), j)
    t = max(2.0, stroke * atlas_h)
    w_out = width * atlas_h * rel  # outer width of the glyph
    if ch.upper() == "I":  # serifs well wider than the stem, however heavy the stroke
        w_out = max(w_out, 2.6 * t)
    if ch.upper() == "T":  # however narrow, the bar overhangs the stem on both sides
        w_out = max(w_out, 2.4 * t)
    if ch.upper() == "W" and j == 2:  # keep the narrow W's inner Vs open in heavy strokes
        w_out = max(w_out, 4.3 * t)
    cw = max(1.0, w_out - t)  # centre-line width
    ch_ = atlas_h - t
    pad = 3
    img_w = int(math.ceil(w_out)) + 2 * pad
    img = np.zeros((atlas_h + 4, img_w), np.uint8)
    thick = max(1, round(t))

    def px(x: float, y: float) -> np.ndarray:
        return np.array([pad + t / 2 + x * cw, 2 + t / 2 + y * ch_])

    for s in strokes:
        for (x0, y0), (x1, y1) in zip(s, s[1:], strict=False):
            if math.hypot(x1 - x0, y1 - y0) > STRAIGHT:
                # Straight strokes end square: round joins make a Z look like a 2 and a B
                # like an 8, the plate face's most frequent confusions on real plates.
                p0, p1 = px(x0, y0), px(x1, y1)
                d = (p1 - p0) / max(1e-6, float(np.hypot(*(p1 - p0)))) * (t / 2)
                n = np.array([-d[1], d[0]])
                quad = np.array([p0 - d + n, p1 + d + n, p1 + d - n, p0 - d - n])
                cv2.fillConvexPoly(img, np.round(quad * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
            else:  # a step along an arc
                a, b = np.round(px(x0, y0) * 16), np.round(px(x1, y1) * 16)
                cv2.line(img, a.astype(int), b.astype(int), 255, thick, cv2.LINE_AA, 4)
    img[:2] = 0  # square ends of slanted strokes stop at the cap and base lines
    img[atlas_h + 2 :] = 0
    a = img.astype(np.float32) * (1.0 / 255.0)
    cols = np.flatnonzero(a.max(axis=0) > 0.1)
    if cols.size:
        a = a[:, cols[0] : cols[-1] + 1]
    return np.ascontiguousarray(a)
