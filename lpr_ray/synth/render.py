"""Draw one flat, front-facing plate: background and graphics, state name, serial, slogan,
stickers, frame and bolts. Geometry and camera effects are applied later (augment.py).

The serial is drawn in a shipped face or, on about half the plates, in the procedural
plate face (plate_font.py). Things that are not characters are drawn where real plates
have them, so that a model does not read them as one: stickers, emblems, dots and stars
between the character groups; bolts, stickers, emblems, frame edges and slivers of cut-off
glyphs left and right of the serial.

The plate is drawn on a PLATE_W x PLATE_H float32 RGB canvas (values 0..255, a 2:1 plate
like the 12x6 inch US standard).
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from lpr_ray.synth import fonts, formats, plate_font, styles

PLATE_W = 192
PLATE_H = 96
PLATE_FACE_P = 0.5  # share of plates drawn in the procedural plate face (plate_font.py)

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


def _mix(a, b, t: float) -> tuple[float, float, float]:
    return tuple(float(x) * (1 - t) + float(y) * t for x, y in zip(a, b, strict=True))


def _luma(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _jitter_colour(c, r: random.Random, amount: float = 18.0) -> tuple[float, float, float]:
    return tuple(min(255.0, max(0.0, v + r.uniform(-amount, amount))) for v in c)


def _paint(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, colour) -> None:
    """Alpha-blend a colour through a mask placed with its top-left corner at (x, y)."""
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = canvas[y0:y1, x0:x1]
    region += (np.asarray(colour, np.float32) - region) * m


def _fit(mask: np.ndarray, height: float, max_width: float, stretch: float = 1.0) -> np.ndarray:
    h = max(2, round(height))
    w = mask.shape[1] * h / mask.shape[0] * stretch
    w = max(2, round(min(w, max_width)))
    interp = cv2.INTER_AREA if h < mask.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(mask, (w, h), interpolation=interp)


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


def _background(style: styles.Style, r: random.Random) -> tuple[np.ndarray, tuple]:
    bg = _jitter_colour(r.choice(style.backgrounds), r, 12)
    canvas = np.empty((PLATE_H, PLATE_W, 3), np.float32)
    rows = np.empty((PLATE_H, 3), np.float32)
    rows[:] = bg
    if r.random() < 0.6:  # soft vertical gradient
        tint = _jitter_colour(
            _mix(bg, r.choice(((255, 255, 255), (150, 180, 220), (240, 200, 150))), 0.3), r, 10
        )
        ramp = np.linspace(0.0, r.uniform(0.3, 1.0), PLATE_H, dtype=np.float32)[:, None]
        if r.random() < 0.5:
            ramp = ramp[::-1]
        rows += (np.asarray(tint, np.float32) - rows) * ramp
    canvas[:] = rows[:, None, :]
    gfx = r.choice(style.graphics) if style.graphics else ""
    if gfx:
        _graphic(canvas, gfx, bg, r)
    return canvas, bg


def _graphic(canvas: np.ndarray, kind: str, bg, r: random.Random) -> None:
    pale = r.uniform(0.25, 0.6)
    if kind == "mountains":
        colour = _mix(
            bg, r.choice(((120, 90, 160), (200, 120, 60), (90, 120, 160), (60, 110, 70))), pale
        )
        xs = np.linspace(-5, PLATE_W + 5, r.randint(4, 9))
        lo = r.uniform(0.35, 0.55)  # peaks often reach behind the characters
        ys = [PLATE_H * r.uniform(lo, lo + 0.3) for _ in xs]
        pts = np.array(
            [[x, y] for x, y in zip(xs, ys, strict=True)]
            + [[PLATE_W + 5, PLATE_H + 5], [-5, PLATE_H + 5]],
            np.int32,
        )
        cv2.fillPoly(canvas, [pts], colour, lineType=cv2.LINE_AA)
    elif kind == "sun":
        colour = _mix(bg, r.choice(((250, 170, 60), (240, 120, 80), (250, 220, 100))), pale)
        c = (round(r.uniform(0.1, 0.9) * PLATE_W), round(r.uniform(0.3, 0.8) * PLATE_H))
        cv2.circle(canvas, c, round(r.uniform(0.15, 0.4) * PLATE_H), colour, -1, cv2.LINE_AA)
    elif kind == "waves":
        colour = _mix(bg, r.choice(((60, 120, 200), (60, 160, 180), (200, 60, 60))), pale * 0.7)
        x = np.arange(0, PLATE_W + 8, 8)
        for _ in range(r.randint(1, 4)):
            y0, amp, f = r.uniform(0.3, 0.95) * PLATE_H, r.uniform(2, 8), r.uniform(0.01, 0.05)
            pts = np.stack([x, y0 + amp * np.sin(x * f + r.uniform(0, 6))], axis=1).astype(np.int32)
            cv2.polylines(canvas, [pts], False, colour, r.randint(1, 5), cv2.LINE_AA)
    elif kind == "stripe":
        colour = _jitter_colour(
            r.choice(((30, 60, 140), (180, 30, 40), (40, 110, 60), (240, 190, 40))), r
        )
        h = round(r.uniform(0.05, 0.16) * PLATE_H)
        y = 0 if r.random() < 0.5 else PLATE_H - h
        canvas[y : y + h] = colour
    elif kind == "flag":
        x, y = round(r.uniform(0.02, 0.1) * PLATE_W), round(r.uniform(0.05, 0.2) * PLATE_H)
        w, h = round(0.12 * PLATE_W), round(0.16 * PLATE_H)
        canvas[y : y + h, x : x + w] = _mix(bg, (30, 60, 140), pale)
        canvas[y + h // 2 : y + h, x + w // 3 : x + w] = _mix(bg, (190, 40, 50), pale)
    elif kind == "sunset":  # Arizona, New Mexico: colour bands behind the characters
        y = r.uniform(0.2, 0.45) * PLATE_H
        for _ in range(r.randint(2, 4)):
            h = r.uniform(0.08, 0.25) * PLATE_H
            tone = r.choice(((250, 170, 60), (230, 110, 90), (150, 110, 180), (80, 170, 170)))
            colour = _mix(bg, tone, pale * r.uniform(0.5, 1.0))
            canvas[round(y) : round(y + h)] = colour
            y += h
    elif kind == "cactus":  # saguaro silhouettes
        colour = _mix(bg, r.choice(((40, 110, 60), (90, 60, 110), (30, 70, 50))), pale + 0.2)
        for _ in range(r.randint(1, 2)):
            x = r.uniform(0.03, 0.97) * PLATE_W
            top, w = r.uniform(0.15, 0.5) * PLATE_H, r.uniform(0.04, 0.07) * PLATE_W
            t = max(2, round(w))
            cv2.line(canvas, (round(x), round(top)), (round(x), PLATE_H), colour, t, cv2.LINE_AA)
            for sgn in (-1, 1):
                if r.random() < 0.7:
                    ay = top + r.uniform(0.15, 0.4) * (PLATE_H - top)
                    ax = x + sgn * r.uniform(1.5, 2.5) * w
                    pts = np.array([[x, ay], [ax, ay], [ax, ay - r.uniform(0.1, 0.25) * PLATE_H]])
                    cv2.polylines(canvas, [pts.astype(np.int32)], False, colour, t, cv2.LINE_AA)
    elif kind == "tree":
        colour = _mix(bg, (40, 110, 60), pale)
        x, y = r.uniform(0.05, 0.95) * PLATE_W, r.uniform(0.2, 0.6) * PLATE_H
        s = r.uniform(0.2, 0.5) * PLATE_H
        pts = np.array([[x, y], [x - s / 2, y + s * 1.4], [x + s / 2, y + s * 1.4]], np.int32)
        cv2.fillPoly(canvas, [pts], colour, lineType=cv2.LINE_AA)


def _emboss(canvas: np.ndarray, mask: np.ndarray, r: random.Random) -> None:
    """Raised characters: a light edge on one side, a shadow on the other."""
    k = r.uniform(-70, 70)
    d = r.choice((1, 1, 2))
    shifted = np.zeros_like(mask)
    shifted[d:, d:] = mask[:-d, :-d]
    canvas += ((shifted - mask) * k)[..., None]


def draw_plate(r: random.Random) -> tuple[np.ndarray, str]:
    """A flat plate canvas [PLATE_H, PLATE_W, 3] float32 RGB and its label."""
    style = styles.pick_style(r)
    if r.random() < style.vanity:
        text = formats.vanity_text(r)
    else:
        text = formats.random_text(styles.pick_pattern(style, r), r)
        if r.random() < 0.01:
            text = text.replace("0", "O")
    canvas, bg = _background(style, r)

    # State name at the top.
    if style.headers and r.random() < 0.93:
        header = r.choice(style.headers)
        script = r.random() < style.header_script
        face = r.choice(fonts.SCRIPT_FONTS if script else fonts.HEADER_FONTS)
        m = fonts.text_mask(face, header)
        hh = PLATE_H * (r.uniform(0.15, 0.24) if script else r.uniform(0.09, 0.16))
        m = _fit(m, hh, PLATE_W * 0.8, r.uniform(0.85, 1.3))
        x = (PLATE_W - m.shape[1]) // 2 + round(r.uniform(-0.06, 0.06) * PLATE_W)
        y = round(r.uniform(0.02, 0.08) * PLATE_H)
        _paint(canvas, m, x, y, _jitter_colour(r.choice(style.header_colours), r, 15))

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
    max_w = PLATE_W * (r.uniform(0.66, 0.86) if sides else r.uniform(0.84, 0.96))
    m = _fit(line, th, max_w, r.uniform(0.9, 1.4))
    x = round((PLATE_W - m.shape[1]) / 2 + r.uniform(-0.03, 0.03) * PLATE_W)
    x = min(max(x, round(0.015 * PLATE_W)), PLATE_W - m.shape[1] - round(0.015 * PLATE_W))
    y = round(PLATE_H * r.uniform(0.5, 0.6) - m.shape[0] / 2)
    colour = _jitter_colour(r.choice(style.text_colours), r, 15)
    if abs(_luma(colour) - _luma(bg)) < 90:  # keep the serial readable on its background
        colour = (20.0, 20.0, 25.0) if _luma(bg) > 127 else (240.0, 240.0, 240.0)
    if r.random() < 0.2:
        colour = _mix(colour, bg, r.uniform(0.1, 0.3))  # faded paint
    for sx, sw in slots:
        cx, cy = x + sx * m.shape[1], y + m.shape[0] / 2
        _slot_object(canvas, cx, cy, m.shape[0], sw * m.shape[1], colour, r)
    full = np.zeros((PLATE_H, PLATE_W), np.float32)
    _paint(full[..., None], m, x, y, (1.0,))
    if r.random() < 0.7:
        _emboss(canvas, full, r)
    canvas += (np.asarray(colour, np.float32) - canvas) * full[..., None]
    if sides:
        _side_objects(canvas, x, y, m.shape[1], m.shape[0], colour, r)

    # Slogan or county at the bottom.
    if style.slogans and r.random() < 0.7:
        slogan = r.choice(style.slogans)
        if slogan:
            sm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), slogan, 24)
            sm = _fit(sm, PLATE_H * r.uniform(0.06, 0.1), PLATE_W * 0.75)
            _paint(
                canvas,
                sm,
                (PLATE_W - sm.shape[1]) // 2,
                round(PLATE_H * r.uniform(0.84, 0.9)),
                _jitter_colour(r.choice(style.header_colours + style.text_colours), r),
            )

    if r.random() < style.corner_stickers:
        _corner_stickers(canvas, r)
    if r.random() < 0.5:
        _frame(canvas, r)
    if r.random() < 0.5:
        _bolts(canvas, r)
    return canvas, formats.label_of(text)


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


def _small_marks(canvas: np.ndarray, x0: int, y0: int, x1: int, y1: int, r: random.Random) -> None:
    """Tiny print on a sticker: a month, a year, a bar code line."""
    w, h = x1 - x0, y1 - y0
    if w < 4 or h < 4:
        return
    ink = (25, 25, 30) if r.random() < 0.8 else (240, 240, 240)
    if r.random() < 0.6:
        txt = r.choice(("25", "26", "24", "27", "JUL", "MAR", "2025", "MO", "11", "3", "DEC"))
        tm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), txt, 24)
        tm = _fit(tm, h * r.uniform(0.35, 0.6), w * 0.9)
        _paint(
            canvas, tm, x0 + (w - tm.shape[1]) // 2, y0 + r.randint(0, max(0, h - tm.shape[0])), ink
        )
    else:
        for _ in range(r.randint(1, 3)):
            yy = y0 + r.randint(1, max(1, h - 2))
            cv2.line(canvas, (x0 + 1, yy), (x1 - 2, yy), ink, 1)


def _emblem(canvas: np.ndarray, cx: float, cy: float, s: float, colour, r: random.Random) -> None:
    """A small state graphic: an outline-like blob, a ring, a star, a bird-ish shape."""
    kind = r.random()
    if kind < 0.4:  # state outline: a lumpy polygon
        n = r.randint(5, 9)
        ang = np.sort(np.array([r.uniform(0, 2 * np.pi) for _ in range(n)]))
        rad = np.array([r.uniform(0.3, 0.55) for _ in range(n)]) * s
        pts = np.stack([cx + rad * np.cos(ang) * r.uniform(0.7, 1.2), cy + rad * np.sin(ang)], 1)
        cv2.fillPoly(canvas, [np.round(pts * 4).astype(np.int32)], colour, cv2.LINE_AA, shift=2)
    elif kind < 0.65:  # ring or filled disc with a lighter centre
        rad = max(2, round(s * r.uniform(0.3, 0.5)))
        cv2.circle(canvas, (round(cx), round(cy)), rad, colour, -1, cv2.LINE_AA)
        if r.random() < 0.6:
            inner = _jitter_colour(r.choice(STICKER_COLOURS), r)
            cv2.circle(canvas, (round(cx), round(cy)), max(1, rad * 2 // 3), inner, -1, cv2.LINE_AA)
    elif kind < 0.85:
        st = cv2.resize(fonts.star_mask(), (max(3, round(s)),) * 2)
        _paint(canvas, st, round(cx - st.shape[1] / 2), round(cy - st.shape[0] / 2), colour)
    else:  # a shield / keystone
        w, h = s * r.uniform(0.5, 0.8), s * r.uniform(0.7, 1.0)
        pts = np.array(
            [
                [cx - w / 2, cy - h / 2],
                [cx + w / 2, cy - h / 2],
                [cx + w * 0.35, cy + h / 2],
                [cx - w * 0.35, cy + h / 2],
            ]
        )
        cv2.fillPoly(canvas, [np.round(pts * 4).astype(np.int32)], colour, cv2.LINE_AA, shift=2)


def _sticker(
    canvas: np.ndarray, cx: float, cy: float, w: float, h: float, r: random.Random
) -> None:
    colour = _jitter_colour(r.choice(STICKER_COLOURS), r)
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    x1, y1 = round(cx + w / 2), round(cy + h / 2)
    cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, -1)
    if r.random() < 0.3:  # a darker border
        cv2.rectangle(canvas, (x0, y0), (x1, y1), _mix(colour, (0, 0, 0), 0.5), 1)
    if r.random() < 0.7:
        _small_marks(canvas, max(0, x0 + 1), max(0, y0 + 1), min(PLATE_W, x1), min(PLATE_H, y1), r)


def _slot_object(
    canvas: np.ndarray, cx: float, cy: float, h: float, room: float, ink, r: random.Random
) -> None:
    """What fills a '#' slot `room` pixels wide: a registration sticker (often with tiny
    print) or an emblem."""
    s = h * r.uniform(0.45, 0.85)
    kind = r.random()
    if kind < 0.5:
        w = min(s * r.uniform(0.55, 1.1), room * r.uniform(0.8, 1.0))
        _sticker(canvas, cx, cy + r.uniform(-0.1, 0.1) * h, w, s, r)
    elif kind < 0.6:
        colour = _jitter_colour(r.choice(STICKER_COLOURS), r)
        rad = round(min(s, room) / 2)
        cv2.circle(canvas, (round(cx), round(cy)), rad, colour, -1, cv2.LINE_AA)
    else:
        colour = ink if r.random() < 0.5 else _jitter_colour(r.choice(STICKER_COLOURS), r)
        _emblem(canvas, cx, cy, min(s, room * 1.1), colour, r)


def _side_objects(
    canvas: np.ndarray, x: int, y: int, w: int, h: int, ink, r: random.Random
) -> None:
    """Things left and right of the serial, at its height: bolts, stickers, emblems, the
    plate's or frame's edge, a sliver of a neighbouring glyph where the frame cuts in."""
    for side in (0, 1):
        if r.random() < 0.3:
            continue
        space = x if side == 0 else PLATE_W - (x + w)
        gap = r.uniform(0.03, 0.12) * h
        span = max(3.0, space - gap)  # room between the plate edge and the serial
        cx = span / 2 if side == 0 else PLATE_W - span / 2
        cy = y + h * r.uniform(0.2, 0.8)
        kind = r.random()
        if kind < 0.3:  # a bolt, maybe half hidden by the frame
            rad = max(2, round(min(span * 0.5, r.uniform(0.08, 0.16) * h)))
            colour = _jitter_colour(
                r.choice(((170, 170, 175), (90, 90, 95), (200, 190, 150), (40, 40, 40))), r
            )
            c = (round(cx), round(cy))
            cv2.circle(canvas, c, rad, colour, -1, cv2.LINE_AA)
            cv2.circle(
                canvas,
                (c[0] - rad // 3, c[1] - rad // 3),
                max(1, rad // 3),
                (235, 235, 235),
                -1,
                cv2.LINE_AA,
            )
            if r.random() < 0.4:  # a slot in the screw head
                cv2.line(canvas, (c[0] - rad + 1, c[1]), (c[0] + rad - 1, c[1]), (30, 30, 30), 1)
        elif kind < 0.55:  # a sticker, portrait or landscape
            sw = min(span * 0.9, h * r.uniform(0.25, 0.6))
            _sticker(canvas, cx, cy, max(3.0, sw), h * r.uniform(0.25, 0.6), r)
        elif kind < 0.72:
            colour = ink if r.random() < 0.5 else _jitter_colour(r.choice(STICKER_COLOURS), r)
            _emblem(canvas, cx, cy, min(span * 1.1, h * r.uniform(0.35, 0.7)), colour, r)
        elif kind < 0.9:  # a vertical bar: frame edge, plate border, a shadow line
            t = max(1, round(r.uniform(0.01, 0.04) * PLATE_W))
            bx = round(r.uniform(0.0, max(0.0, span - t - 1)))
            bx = bx if side == 0 else PLATE_W - bx - t
            colour = _jitter_colour(r.choice(FRAME_COLOURS + ((ink),)), r, 10)
            y0 = round(r.uniform(0.0, 0.3) * PLATE_H)
            y1 = PLATE_H - round(r.uniform(0.0, 0.3) * PLATE_H)
            canvas[y0:y1, bx : bx + t] = colour
        else:  # a sliver of a glyph cut by the frame
            face = r.choice([f for f, _ in fonts.SERIAL_FONTS])
            g = fonts.glyph(face, r.choice("0123456789ABCDEFHKLMNPRSTUVWXYZ"))
            g = _fit(g, h, PLATE_W)
            keep = max(1, round(g.shape[1] * r.uniform(0.1, 0.3)))
            if side == 0:
                g = g[:, g.shape[1] - keep :]
                _paint(canvas, g, 0, y, _mix(ink, canvas[PLATE_H // 2, 0], 0.2))
            else:
                g = g[:, :keep]
                _paint(canvas, g, PLATE_W - keep, y, _mix(ink, canvas[PLATE_H // 2, -1], 0.2))


def _corner_stickers(canvas: np.ndarray, r: random.Random) -> None:
    for side in (0, 1):
        if r.random() < 0.75:
            w = round(r.uniform(0.08, 0.15) * PLATE_W)
            h = round(r.uniform(0.1, 0.18) * PLATE_H)
            x = round(r.uniform(0.02, 0.08) * PLATE_W)
            x = x if side == 0 else PLATE_W - x - w
            y = round(r.uniform(0.02, 0.08) * PLATE_H)
            canvas[y : y + h, x : x + w] = _jitter_colour(r.choice(STICKER_COLOURS), r)
            if r.random() < 0.6:
                canvas[y + h // 3 : y + h // 3 + max(1, h // 5), x + 2 : x + w - 2] = (30, 30, 30)


def _frame(canvas: np.ndarray, r: random.Random) -> None:
    colour = _jitter_colour(r.choice(FRAME_COLOURS), r, 10)
    t = max(1, round(r.uniform(0.01, 0.05) * PLATE_H))
    top = max(t, round(r.uniform(0.0, 0.12) * PLATE_H)) if r.random() < 0.5 else t
    bottom = round(r.uniform(0.08, 0.2) * PLATE_H) if r.random() < 0.7 else t
    canvas[:top] = colour
    canvas[PLATE_H - bottom :] = colour
    canvas[:, :t] = colour
    canvas[:, PLATE_W - t :] = colour
    if bottom > 0.09 * PLATE_H and r.random() < 0.7:
        tm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), r.choice(styles.FRAME_TEXTS), 24)
        tm = _fit(tm, bottom * r.uniform(0.45, 0.75), PLATE_W * 0.8)
        ink = (235, 235, 235) if sum(colour) < 300 else (25, 25, 25)
        _paint(
            canvas,
            tm,
            (PLATE_W - tm.shape[1]) // 2 + r.randint(-8, 8),
            PLATE_H - bottom + (bottom - tm.shape[0]) // 2,
            _jitter_colour(ink, r),
        )


def _bolts(canvas: np.ndarray, r: random.Random) -> None:
    rad = max(2, round(r.uniform(0.025, 0.045) * PLATE_W))
    colour = _jitter_colour(
        r.choice(((170, 170, 175), (90, 90, 95), (200, 190, 150), (40, 40, 40))), r
    )
    y = round(r.uniform(0.07, 0.16) * PLATE_H)
    ys = (y,) if r.random() < 0.7 else (y, PLATE_H - y)
    for yy in ys:
        for x in (0.2, 0.8):
            cx = round((x + r.uniform(-0.03, 0.03)) * PLATE_W)
            cv2.circle(canvas, (cx, yy), rad, colour, -1, cv2.LINE_AA)
            cv2.circle(
                canvas,
                (cx - rad // 3, yy - rad // 3),
                max(1, rad // 3),
                (235, 235, 235),
                -1,
                cv2.LINE_AA,
            )
