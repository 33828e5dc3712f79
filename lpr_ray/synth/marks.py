"""Things on a plate that are not serial characters: registration stickers, emblems, bolts,
frames, the access symbol and small stacked print. Real plates carry them next to and
between the character groups; a model that never saw them reads them as characters.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from lpr_ray.core import plate_styles as styles
from lpr_ray.synth import canvas as pc
from lpr_ray.synth import fonts

FRAME_AT_FEET_P = 1 / 3  # wide bottom frame bars that reach up to the serial's feet


def small_marks(canvas: np.ndarray, x0: int, y0: int, x1: int, y1: int, r: random.Random) -> None:
    """Tiny print on a sticker: a month, a year, a bar code line."""
    w, h = x1 - x0, y1 - y0
    if w < 4 or h < 4:
        return
    ink = (25, 25, 30) if r.random() < 0.8 else (240, 240, 240)
    if r.random() < 0.6:
        txt = r.choice(("25", "26", "24", "27", "JUL", "MAR", "2025", "MO", "11", "3", "DEC"))
        tm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), txt, 24)
        tm = pc.fit(tm, h * r.uniform(0.35, 0.6), w * 0.9)
        pc.paint(
            canvas, tm, x0 + (w - tm.shape[1]) // 2, y0 + r.randint(0, max(0, h - tm.shape[0])), ink
        )
    else:
        for _ in range(r.randint(1, 3)):
            yy = y0 + r.randint(1, max(1, h - 2))
            cv2.line(canvas, (x0 + 1, yy), (x1 - 2, yy), ink, 1)


def emblem(canvas: np.ndarray, cx: float, cy: float, s: float, colour, r: random.Random) -> None:
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
            inner = pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
            cv2.circle(canvas, (round(cx), round(cy)), max(1, rad * 2 // 3), inner, -1, cv2.LINE_AA)
    elif kind < 0.85:
        st = cv2.resize(fonts.star_mask(), (max(3, round(s)),) * 2)
        pc.paint(canvas, st, round(cx - st.shape[1] / 2), round(cy - st.shape[0] / 2), colour)
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


FADED_STICKER_P = 0.35


def sticker(canvas: np.ndarray, cx: float, cy: float, w: float, h: float, r: random.Random) -> None:
    colour = pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    x1, y1 = round(cx + w / 2), round(cy + h / 2)
    under = canvas[max(0, y0) : max(0, y1 + 1), max(0, x0) : max(0, x1 + 1)]
    faded = under.size and r.random() < FADED_STICKER_P
    if faded:
        # Sun-faded or dirty stickers on old plates barely stand out from the plate; a model
        # that only saw bright ones read the faint edges of a faded one in the gap as a 1.
        colour = pc.mix(colour, tuple(under.reshape(-1, 3).mean(axis=0)), r.uniform(0.5, 0.85))
    cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, -1)
    # A darker border: on a faded sticker its edges are often all that shows of it.
    if r.random() < (0.6 if faded else 0.3):
        cv2.rectangle(canvas, (x0, y0), (x1, y1), pc.mix(colour, (0, 0, 0), 0.5), 1)
    if r.random() < 0.7:
        small_marks(
            canvas, max(0, x0 + 1), max(0, y0 + 1), min(pc.PLATE_W, x1), min(pc.PLATE_H, y1), r
        )


def slot_object(
    canvas: np.ndarray,
    cx: float,
    cy: float,
    h: float,
    room: float,
    ink,
    r: random.Random,
    gap_emblem: str = "",
) -> None:
    """What fills a '#' slot `room` pixels wide: a registration sticker (often with tiny
    print), an emblem, or the state's own gap graphic (`gap_emblem`, e.g. Florida's orange).
    Stickers reach up to the serial's height and across the whole gap, their edges against
    the characters (drawn before them, so never over them): the edge of such a sticker next
    to a character was read as an extra 1 on real plates.

    A quarter of them are printed wider than the gap, under the neighbouring characters'
    edges (WIDE_SLOT_P): real gap graphics do that, and a model that never saw a coloured
    blob behind a character's edge read 0 as B and 2 as Z beside one."""
    if gap_emblem == "orange" and r.random() < 0.9:
        orange(canvas, cx, cy + r.uniform(-0.05, 0.1) * h, h * r.uniform(0.5, 0.8), room, r)
        return
    spread = r.uniform(1.2, 1.7) if r.random() < WIDE_SLOT_P else r.uniform(0.8, 1.1)
    s = h * r.uniform(0.45, 1.0)
    kind = r.random()
    if kind < 0.5:
        w = min(s * r.uniform(0.55, 1.1) * max(1.0, spread), room * spread)
        sticker(canvas, cx, cy + r.uniform(-0.1, 0.1) * h, w, s, r)
    elif kind < 0.6:
        colour = pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
        rad = round(min(s, room * spread) / 2)
        cv2.circle(canvas, (round(cx), round(cy)), rad, colour, -1, cv2.LINE_AA)
    else:
        colour = ink if r.random() < 0.5 else pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
        emblem(canvas, cx, cy, min(s, room * spread), colour, r)


WIDE_SLOT_P = 0.25
ORANGE = (240, 135, 30)
LEAF = (40, 120, 50)


def orange(canvas: np.ndarray, cx: float, cy: float, d: float, room: float, r: random.Random) -> None:
    """Florida's orange between the character groups: a fruit with leaves on top, often a
    white blossom, up to a third wider than the gap (characters print over its edges)."""
    rad = max(2.0, min(d, room * r.uniform(0.9, 1.35)) / 2)
    c = (round(cx * 4), round(cy * 4))
    fruit = pc.jitter_colour(ORANGE, r, 20)
    cv2.circle(canvas, c, round(rad * 4), fruit, -1, cv2.LINE_AA, shift=2)
    if r.random() < 0.6:  # shading: a darker lower rim
        cv2.ellipse(canvas, c, (round(rad * 4), round(rad * 4)), 0, 20, 160,
                    pc.mix(fruit, (90, 40, 0), 0.4), max(1, round(rad / 3)), cv2.LINE_AA, shift=2)
    leaf = pc.jitter_colour(LEAF, r, 20)
    for side in (-1, 1):
        if r.random() < 0.85:
            lc = (round((cx + side * rad * 0.45) * 4), round((cy - rad * 0.95) * 4))
            axes = (round(rad * r.uniform(0.45, 0.7) * 4), round(rad * r.uniform(0.18, 0.3) * 4))
            cv2.ellipse(canvas, lc, axes, side * r.uniform(15, 35), 0, 360, leaf, -1, cv2.LINE_AA, shift=2)
    if r.random() < 0.5:
        bc = (round((cx + r.uniform(-0.2, 0.2) * rad) * 4), round((cy - rad * 1.1) * 4))
        cv2.circle(canvas, bc, max(4, round(rad * 0.25 * 4)), (245, 245, 240), -1, cv2.LINE_AA, shift=2)


def side_objects(canvas: np.ndarray, x: int, y: int, w: int, h: int, ink, r: random.Random) -> None:
    """Things left and right of the serial, at its height: bolts, stickers, emblems, the
    plate's or frame's edge, a sliver of a neighbouring glyph where the frame cuts in."""
    for side in (0, 1):
        if r.random() < 0.3:
            continue
        space = x if side == 0 else pc.PLATE_W - (x + w)
        gap = r.uniform(0.03, 0.12) * h
        span = max(3.0, space - gap)  # room between the plate edge and the serial
        cx = span / 2 if side == 0 else pc.PLATE_W - span / 2
        cy = y + h * r.uniform(0.2, 0.8)
        kind = r.random()
        if kind < 0.12:  # small characters stacked in a column: "DP", "DV", a year
            stacked_marks(canvas, cx, y, span, h, ink, r)
        elif kind < 0.2 and side == 0:  # the disabled-parking symbol left of the serial
            wheelchair(canvas, cx, cy, min(span * 0.95, h * r.uniform(0.55, 0.95)), ink, r)
        elif kind < 0.38:  # a bolt, maybe half hidden by the frame
            rad = max(2, round(min(span * 0.5, r.uniform(0.08, 0.16) * h)))
            colour = pc.jitter_colour(
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
        elif kind < 0.58:  # a sticker, portrait or landscape
            sw = min(span * 0.9, h * r.uniform(0.25, 0.6))
            sticker(canvas, cx, cy, max(3.0, sw), h * r.uniform(0.25, 0.6), r)
        elif kind < 0.74:
            colour = ink if r.random() < 0.5 else pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
            # an emblem reaches 0.66 of its size either side of its centre: 0.75 x span
            # keeps it between the plate's edge and the serial
            emblem(canvas, cx, cy, min(span * 0.75, h * r.uniform(0.35, 0.7)), colour, r)
        elif kind < 0.91:  # a vertical bar: frame edge, plate border, a shadow line
            # Never in the serial's ink right beside it: that is a 1 or an I in a sans face,
            # and a model taught to ignore it drops real ones at the plate's ends.
            t = max(1, round(r.uniform(0.01, 0.04) * pc.PLATE_W))
            room = span - t - 1 - 0.3 * h
            if room < 0:  # no room for a bar well clear of the serial
                continue
            bx = round(r.uniform(0.0, room))
            bx = bx if side == 0 else pc.PLATE_W - bx - t
            colour = pc.jitter_colour(r.choice(pc.FRAME_COLOURS), r, 10)
            y0 = round(r.uniform(0.0, 0.3) * pc.PLATE_H)
            y1 = pc.PLATE_H - round(r.uniform(0.0, 0.3) * pc.PLATE_H)
            canvas[y0:y1, bx : bx + t] = colour
        else:  # a sliver of a glyph cut by the frame
            face = r.choice([f for f, _ in fonts.SERIAL_FONTS])
            g = fonts.glyph(face, r.choice("023456789ABCDEFHKLMNPRSTUVWXYZ"))
            g = pc.fit(g, h, pc.PLATE_W)
            keep = min(round(g.shape[1] * r.uniform(0.1, 0.3)), int(span))
            if keep < 2:  # no room for a sliver that would not touch the serial
                continue
            if side == 0:
                g = g[:, g.shape[1] - keep :]
                pc.paint(canvas, g, 0, y, pc.mix(ink, canvas[pc.PLATE_H // 2, 0], 0.2))
            else:
                g = g[:, :keep]
                pc.paint(
                    canvas, g, pc.PLATE_W - keep, y, pc.mix(ink, canvas[pc.PLATE_H // 2, -1], 0.2)
                )


def stacked_marks(
    canvas: np.ndarray, cx: float, y: int, span: float, h: int, ink, r: random.Random
) -> None:
    """Two or three small characters one above the other beside the serial, as on
    disabled-veteran, dealer or old-series plates: printed, but not part of the serial."""
    text = r.choice(("DP", "DV", "DP", "MC", "59", "24", "PH", "DL", "TR", "DPV", "CO"))
    n = len(text)
    ch_h = h * r.uniform(0.8, 0.95) / n
    face = r.choice([f for f, _ in fonts.SERIAL_FONTS])
    colour = ink if r.random() < 0.8 else pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
    top = y + (h - ch_h * n) / 2
    for i, c in enumerate(text):
        g = pc.fit(fonts.glyph(face, c), ch_h * 0.85, max(2.0, span * 0.9))
        pc.paint(canvas, g, round(cx - g.shape[1] / 2), round(top + i * ch_h), colour)


def wheelchair(canvas: np.ndarray, cx: float, cy: float, s: float, ink, r: random.Random) -> None:
    """The International Symbol of Access: a figure in a wheelchair, white on a blue square
    or drawn in the serial's ink (California and Texas disabled-person plates)."""
    if s < 6.0:  # too small to draw; never grown into the serial's room
        return
    on_square = r.random() < 0.6
    if on_square:
        blue = pc.jitter_colour(r.choice(((25, 75, 170), (30, 60, 140), (20, 90, 190))), r, 12)
        x0, y0 = round(cx - s / 2), round(cy - s / 2)
        cv2.rectangle(canvas, (x0, y0), (round(x0 + s), round(y0 + s)), blue, -1)
        colour = (240.0, 240.0, 240.0)
    else:
        colour = ink
    t = max(1, round(s * 0.09))
    u = s / 10.0  # the figure on a 10 x 10 grid centred on (cx, cy)

    def p(x: float, y: float) -> tuple[int, int]:
        return round(cx + (x - 5) * u), round(cy + (y - 5) * u)

    cv2.circle(canvas, p(4.2, 1.6), max(1, round(0.9 * u)), colour, -1, cv2.LINE_AA)  # head
    cv2.polylines(
        canvas,
        [np.array([p(4.0, 3.0), p(4.2, 6.0), p(6.6, 6.0), p(7.6, 8.4)], np.int32)],
        False,
        colour,
        t,
        cv2.LINE_AA,
    )  # back, seat and leg
    cv2.line(canvas, p(4.1, 4.4), p(6.2, 4.4), colour, t, cv2.LINE_AA)  # arm
    cv2.ellipse(
        canvas,
        p(4.0, 7.0),
        (max(2, round(2.6 * u)),) * 2,
        0,
        200,
        460,  # open at the top right, where the leg leaves the wheel
        colour,
        t,
        cv2.LINE_AA,
    )  # the wheel, open at the top right


def corner_stickers(canvas: np.ndarray, r: random.Random, serial_top: int) -> None:
    """Registration stickers in the top corners, above the serial (never over it)."""
    for side in (0, 1):
        if r.random() < 0.75:
            w = round(r.uniform(0.08, 0.15) * pc.PLATE_W)
            h = round(r.uniform(0.1, 0.18) * pc.PLATE_H)
            x = round(r.uniform(0.02, 0.08) * pc.PLATE_W)
            x = x if side == 0 else pc.PLATE_W - x - w
            y = round(r.uniform(0.02, 0.08) * pc.PLATE_H)
            h = min(h, serial_top - 1 - y)
            if h < 3:
                continue
            canvas[y : y + h, x : x + w] = pc.jitter_colour(r.choice(pc.STICKER_COLOURS), r)
            if r.random() < 0.6:
                canvas[y + h // 3 : y + h // 3 + max(1, h // 5), x + 2 : x + w - 2] = (30, 30, 30)


def frame(canvas: np.ndarray, r: random.Random, serial_rows: tuple[int, int]) -> None:
    """A licence-plate frame: bars on every side, often a wide bottom bar with a dealer's
    name. The bars stop short of the serial's rows: a frame that hid the foot of a Z (a 7)
    or of an 8 made the label name a character the picture did not show. A third of wide
    bottom bars reach right up to the characters' feet, as dealer frames on California
    plates do: under a narrow T that edge looks like an I's foot serif (5TGN556 and 6TIX874
    were read with an I at 0.99, each above such a frame)."""
    colour = pc.jitter_colour(r.choice(pc.FRAME_COLOURS), r, 10)
    t = max(1, round(r.uniform(0.01, 0.05) * pc.PLATE_H))
    top = max(t, round(r.uniform(0.0, 0.12) * pc.PLATE_H)) if r.random() < 0.5 else t
    bottom = round(r.uniform(0.08, 0.2) * pc.PLATE_H) if r.random() < 0.7 else t
    top = max(0, min(top, serial_rows[0] - 2))
    if bottom > t and r.random() < FRAME_AT_FEET_P:
        bottom = max(0, pc.PLATE_H - serial_rows[1])
    else:
        bottom = max(0, min(bottom, pc.PLATE_H - serial_rows[1] - 2))
    t = min(t, top, bottom)
    canvas[:top] = colour
    canvas[pc.PLATE_H - bottom :] = colour
    canvas[:, :t] = colour
    canvas[:, pc.PLATE_W - t :] = colour
    if bottom > 0.09 * pc.PLATE_H and r.random() < 0.7:
        tm = fonts.text_mask(r.choice(fonts.SMALL_FONTS), r.choice(styles.FRAME_TEXTS), 24)
        tm = pc.fit(tm, bottom * r.uniform(0.45, 0.75), pc.PLATE_W * 0.8)
        ink = (235, 235, 235) if sum(colour) < 300 else (25, 25, 25)
        pc.paint(
            canvas,
            tm,
            (pc.PLATE_W - tm.shape[1]) // 2 + r.randint(-8, 8),
            pc.PLATE_H - bottom + (bottom - tm.shape[0]) // 2,
            pc.jitter_colour(ink, r),
        )


def bolts(canvas: np.ndarray, r: random.Random, serial_rows: tuple[int, int]) -> None:
    """Mounting bolts above (and sometimes below) the serial, clear of its characters."""
    rad = max(2, round(r.uniform(0.025, 0.045) * pc.PLATE_W))
    colour = pc.jitter_colour(
        r.choice(((170, 170, 175), (90, 90, 95), (200, 190, 150), (40, 40, 40))), r
    )
    y = round(r.uniform(0.07, 0.16) * pc.PLATE_H)
    ys = (y,) if r.random() < 0.7 else (y, pc.PLATE_H - y)
    for yy in ys:
        if yy + rad >= serial_rows[0] and yy - rad <= serial_rows[1]:
            continue
        for x in (0.2, 0.8):
            cx = round((x + r.uniform(-0.03, 0.03)) * pc.PLATE_W)
            cv2.circle(canvas, (cx, yy), rad, colour, -1, cv2.LINE_AA)
            cv2.circle(
                canvas,
                (cx - rad // 3, yy - rad // 3),
                max(1, rad // 3),
                (235, 235, 235),
                -1,
                cv2.LINE_AA,
            )
