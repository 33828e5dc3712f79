"""Draw one flat, front-facing plate: background and graphics, state name, serial, slogan,
stickers, frame and bolts. Geometry and camera effects are applied later (augment.py).

The serial is drawn in a shipped face or, on about half the plates, in the procedural
plate face (plate_font.py). Things that are not characters are drawn where real plates
have them, so that a model does not read them as one: stickers, emblems, dots and stars
between the character groups; bolts, stickers, emblems, frame edges and slivers of cut-off
glyphs left and right of the serial.

Drawing primitives live in canvas.py, backgrounds in background.py, and everything that is
not a character (stickers, emblems, bolts, frames) in marks.py.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from lpr_ray.core import plate_formats as formats
from lpr_ray.core import plate_styles as styles
from lpr_ray.synth import background, fonts, marks, plate_font
from lpr_ray.synth import canvas as pc
from lpr_ray.synth.canvas import PLATE_H, PLATE_W

PLATE_FACE_P = 0.5  # share of plates drawn in the procedural plate face (plate_font.py)
# Widest the serial may be (shares of the plate's width; its height rarely stops it first),
# with objects beside it, filling the plate edge to edge, and otherwise. Where the shipped
# model emits the first and last characters (of 24 steps) shows how much of a crop's width
# a serial fills: on us_real_val the span's quartiles were 18/18/19 steps and 7-character
# pitch 3.03, on synthetic plates 16/17/18 and 2.81 with (0.66, 0.86) and (0.84, 0.93)
# here; these ranges (and augment.LOOSE_MX) give 17/18/19 and 2.96 (2026-12-03; measured
# with lpr-ray spans).
SIDES_W = (0.74, 0.9)
WIDE_W = (0.92, 0.95)
SERIAL_W = (0.9, 0.94)


def serial_line(
    font: str, text: str, r: random.Random
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Mask of the serial at atlas scale and the x centre and width (0..1) of its '#' slots."""
    ah = fonts.ATLAS_H
    spacing = r.uniform(0.03, 0.2) * ah
    plate_face = plate_font.is_plate_face(font)
    pieces: list[np.ndarray] = []
    slots: list[tuple[float, float]] = []
    for ch in text:
        if ch == " ":
            pieces.append(np.zeros((ah + 4, max(1, round(r.uniform(0.15, 0.5) * ah))), np.float32))
        elif ch == "#":
            pieces.append(np.full((ah + 4, round(r.uniform(0.45, 0.7) * ah)), -1.0, np.float32))
        elif ch == "*":
            star = cv2.resize(fonts.star_mask(), (round(0.45 * ah),) * 2)
            p = np.zeros((ah + 4, star.shape[1]), np.float32)
            top = (ah + 4 - star.shape[0]) // 2
            p[top : top + star.shape[0]] = star
            pieces.append(p)
        elif ch == ".":  # a dot between groups (Washington, Oregon)
            d = round(r.uniform(0.14, 0.24) * ah)
            w = d + round(r.uniform(0.1, 0.3) * ah)
            p = np.zeros((ah + 4, w), np.float32)
            cy = round((ah + 4) * r.uniform(0.45, 0.6))
            cv2.circle(p, (w // 2, cy), d // 2, 1.0, -1, cv2.LINE_AA)
            pieces.append(p)
        elif ch == "-":
            w = round(r.uniform(0.2, 0.4) * ah)
            p = np.zeros((ah + 4, w), np.float32)
            t = max(3, round(r.uniform(0.08, 0.14) * ah))
            mid = (ah + 4) // 2
            p[mid - t // 2 : mid - t // 2 + t] = 1.0
            pieces.append(p)
        elif plate_face:
            pieces.append(fonts.glyph(plate_font.with_jitter(font, r), ch))
        else:
            pieces.append(fonts.glyph(font, ch))
        pieces.append(np.zeros((ah + 4, max(1, round(spacing))), np.float32))
    line = np.concatenate(pieces[:-1], axis=1)
    slot_cols = np.flatnonzero(line[0] < 0)
    if slot_cols.size:
        # one slot per '#': split runs of slot columns
        runs = np.split(slot_cols, np.flatnonzero(np.diff(slot_cols) > 1) + 1)
        slots = [(float(run.mean()) / line.shape[1], run.size / line.shape[1]) for run in runs]
        line = np.maximum(line, 0.0)
    return line, slots


def _emboss(canvas: np.ndarray, mask: np.ndarray, r: random.Random) -> None:
    """Raised characters: a light edge on one side, a shadow on the other."""
    k = r.uniform(-70, 70)
    d = r.choice((1, 1, 2))
    shifted = np.zeros_like(mask)
    shifted[d:, d:] = mask[:-d, :-d]
    canvas += ((shifted - mask) * k)[..., None]


def draw_plate(r: random.Random) -> tuple[np.ndarray, str, np.ndarray]:
    """A flat plate canvas [PLATE_H, PLATE_W, 3] float32 RGB, its label, and the serial's
    ink coverage [PLATE_H, PLATE_W] float32 0..1 (what augment.ink_contrast measures)."""
    style = styles.pick_style(r)
    if r.random() < style.vanity:
        text = formats.vanity_text(r)
    else:
        text = formats.random_text(styles.pick_pattern(style, r), r, style.letters)
        if r.random() < 0.01:
            text = text.replace("0", "O")
    canvas, bg = background.background(style, r)

    # State name at the top.
    if style.headers and r.random() < 0.93:
        header = r.choice(style.headers)
        script = r.random() < style.header_script
        face = r.choice(fonts.SCRIPT_FONTS if script else fonts.HEADER_FONTS)
        m = fonts.text_mask(face, header)
        hh = PLATE_H * (r.uniform(0.15, 0.24) if script else r.uniform(0.09, 0.16))
        m = pc.fit(m, hh, PLATE_W * 0.8, r.uniform(0.85, 1.3))
        x = (PLATE_W - m.shape[1]) // 2 + round(r.uniform(-0.06, 0.06) * PLATE_W)
        y = round(r.uniform(0.02, 0.08) * PLATE_H)
        pc.paint(canvas, m, x, y, pc.jitter_colour(r.choice(style.header_colours), r, 15))

    # Serial characters.
    text = _with_separator(text, style, r)
    if r.random() < PLATE_FACE_P:
        font = plate_font.face_name(r)
    else:
        font = r.choices(
            [f for f, _ in fonts.SERIAL_FONTS], weights=[w for _, w in fonts.SERIAL_FONTS]
        )[0]
    line, slots = serial_line(font, text, r)
    weight = r.random()  # stroke weight: the same face wears and prints differently
    if weight < 0.1:
        line = cv2.dilate(line, np.ones((3, 3), np.uint8))
    elif weight < 0.35:
        line = cv2.erode(line, np.ones((3, r.choice((3, 5))), np.uint8))
    th = PLATE_H * r.uniform(0.46, 0.62)
    sides = r.random() < 0.4  # bolts, stickers, emblems or borders beside the serial
    # Some serials fill the plate from edge to edge (Illinois, many older plates); in a
    # tight crop their end characters touch its edges. Without them the model learnt that
    # ink at the crop's edge is never a character, and dropped real ones there.
    wide = not sides and r.random() < 0.15
    max_w = PLATE_W * r.uniform(*(SIDES_W if sides else WIDE_W if wide else SERIAL_W))
    m = pc.fit(line, th, max_w, r.uniform(0.9, 1.4))
    x = round((PLATE_W - m.shape[1]) / 2 + r.uniform(-0.03, 0.03) * PLATE_W)
    # The tightest detector cut (augment.camera) trims up to 2.5% a side, so a margin of
    # 2.5% (a wide serial's) or 3% keeps every character whole; frame bars (marks.frame)
    # are at most 5 px, inside either margin.
    margin = round((0.025 if wide else 0.03) * PLATE_W)
    x = min(max(x, margin), PLATE_W - m.shape[1] - margin)
    y = round(PLATE_H * r.uniform(0.5, 0.6) - m.shape[0] / 2)
    colour = pc.jitter_colour(r.choice(style.text_colours), r, 15)
    if abs(pc.luma(colour) - pc.luma(bg)) < 90:  # keep the serial readable on its background
        colour = (20.0, 20.0, 25.0) if pc.luma(bg) > 127 else (240.0, 240.0, 240.0)
    if r.random() < 0.2:
        colour = pc.mix(colour, bg, r.uniform(0.1, 0.3))  # faded paint
    for sx, sw in slots:
        cx, cy = x + sx * m.shape[1], y + m.shape[0] / 2
        marks.slot_object(
            canvas, cx, cy, m.shape[0], sw * m.shape[1], colour, r, style.gap_emblem
        )
    full = np.zeros((PLATE_H, PLATE_W), np.float32)
    pc.paint(full[..., None], m, x, y, (1.0,))
    if r.random() < 0.7:
        _emboss(canvas, full, r)
    canvas += (np.asarray(colour, np.float32) - canvas) * full[..., None]
    if sides:
        marks.side_objects(canvas, x, y, m.shape[1], m.shape[0], colour, r)

    # Slogan or county at the bottom.
    if style.slogans and r.random() < 0.7:
        slogan = r.choice(style.slogans)
        if slogan:
            sm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), slogan, 24)
            sm = pc.fit(sm, PLATE_H * r.uniform(0.06, 0.1), PLATE_W * 0.75)
            pc.paint(
                canvas,
                sm,
                (PLATE_W - sm.shape[1]) // 2,
                max(round(PLATE_H * r.uniform(0.84, 0.9)), y + m.shape[0] + 1),
                pc.jitter_colour(r.choice(style.header_colours + style.text_colours), r),
            )

    if r.random() < style.corner_stickers:
        marks.corner_stickers(canvas, r, y)
    if r.random() < 0.5:
        marks.frame(canvas, r, (y, y + m.shape[0]))
    if r.random() < 0.5:
        marks.bolts(canvas, r, (y, y + m.shape[0]))
    return canvas, formats.label_of(text), full


def _with_separator(text: str, style: styles.Style, r: random.Random) -> str:
    """Often put something between the character groups (the label does not change): a
    registration sticker or state emblem (Missouri, New Jersey), a dot (Washington), a star
    (Texas), a dash or a wider gap. Real plates carry them; a model that never saw them
    reads them as an extra character."""
    if any(c in formats.SEPARATORS for c in text):
        if " " in text and r.random() < 0.45:
            sep = r.choice("####**.-")
            i = text.index(" ")
            return text[:i] + sep + text[i + 1 :]
        return text
    if len(text) < 4 or r.random() >= (0.12 if style.name == "california" else 0.4):
        return text
    # Between a run of letters and a run of digits when there is one, else near the middle.
    cuts = [i for i in range(2, len(text) - 1) if text[i - 1].isdigit() != text[i].isdigit()]
    i = r.choice(cuts) if cuts else r.randint(2, len(text) - 2)
    return text[:i] + r.choice("#####  **..-") + text[i:]
