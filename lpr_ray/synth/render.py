"""Draw one flat, front-facing plate: background and graphics, state name, serial, slogan,
stickers, frame and bolts. Geometry and camera effects are applied later (augment.py).

The plate is drawn on a PLATE_W x PLATE_H float32 RGB canvas (values 0..255, a 2:1 plate
like the 12x6 inch US standard).
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from lpr_ray.synth import fonts, formats, styles

PLATE_W = 192
PLATE_H = 96

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


def serial_line(font: str, text: str, r: random.Random) -> tuple[np.ndarray, list[float]]:
    """Mask of the serial at atlas scale and the x centres (0..1) of its '#' slots."""
    ah = fonts.ATLAS_H
    spacing = r.uniform(0.03, 0.2) * ah
    pieces: list[np.ndarray] = []
    slots: list[float] = []
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
        elif ch == "-":
            w = round(r.uniform(0.2, 0.4) * ah)
            p = np.zeros((ah + 4, w), np.float32)
            t = max(3, round(r.uniform(0.08, 0.14) * ah))
            mid = (ah + 4) // 2
            p[mid - t // 2 : mid - t // 2 + t] = 1.0
            pieces.append(p)
        else:
            pieces.append(fonts.glyph(font, ch))
        pieces.append(np.zeros((ah + 4, max(1, round(spacing))), np.float32))
    line = np.concatenate(pieces[:-1], axis=1)
    slot_cols = np.flatnonzero(line[0] < 0)
    if slot_cols.size:
        # one slot per '#': split runs of slot columns
        runs = np.split(slot_cols, np.flatnonzero(np.diff(slot_cols) > 1) + 1)
        slots = [float(run.mean()) / line.shape[1] for run in runs]
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
        ys = [PLATE_H * r.uniform(0.55, 0.85) for _ in xs]
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
    max_w = PLATE_W * r.uniform(0.84, 0.96)
    m = _fit(line, th, max_w, r.uniform(0.9, 1.4))
    x = round((PLATE_W - m.shape[1]) / 2 + r.uniform(-0.03, 0.03) * PLATE_W)
    x = min(max(x, round(0.015 * PLATE_W)), PLATE_W - m.shape[1] - round(0.015 * PLATE_W))
    y = round(PLATE_H * r.uniform(0.5, 0.6) - m.shape[0] / 2)
    colour = _jitter_colour(r.choice(style.text_colours), r, 15)
    if abs(_luma(colour) - _luma(bg)) < 90:  # keep the serial readable on its background
        colour = (20.0, 20.0, 25.0) if _luma(bg) > 127 else (240.0, 240.0, 240.0)
    if r.random() < 0.2:
        colour = _mix(colour, bg, r.uniform(0.1, 0.3))  # faded paint
    for sx in slots:
        _slot_sticker(canvas, x + sx * m.shape[1], y + m.shape[0] / 2, m.shape[0], r)
    full = np.zeros((PLATE_H, PLATE_W), np.float32)
    _paint(full[..., None], m, x, y, (1.0,))
    if r.random() < 0.7:
        _emboss(canvas, full, r)
    canvas += (np.asarray(colour, np.float32) - canvas) * full[..., None]

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


def _slot_sticker(canvas: np.ndarray, cx: float, cy: float, h: float, r: random.Random) -> None:
    s = h * r.uniform(0.45, 0.8)
    w = s * r.uniform(0.7, 1.1)
    colour = _jitter_colour(r.choice(STICKER_COLOURS), r)
    p1 = (round(cx - w / 2), round(cy - s / 2))
    p2 = (round(cx + w / 2), round(cy + s / 2))
    if r.random() < 0.7:
        cv2.rectangle(canvas, p1, p2, colour, -1)
    else:
        cv2.circle(canvas, (round(cx), round(cy)), round(s / 2), colour, -1, cv2.LINE_AA)


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
