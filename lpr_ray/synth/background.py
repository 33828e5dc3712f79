"""Plate backgrounds: a base colour with a soft gradient and one state graphic (mountains,
sun, waves, stripes, a flag, sunset bands, cacti, a tree, Arizona's sky and desert)."""

from __future__ import annotations

import random

import cv2
import numpy as np

from lpr_ray.core import plate_styles as styles
from lpr_ray.synth import canvas as pc


def background(style: styles.Style, r: random.Random) -> tuple[np.ndarray, tuple]:
    bg = pc.jitter_colour(r.choice(style.backgrounds), r, 12)
    canvas = np.empty((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
    rows = np.empty((pc.PLATE_H, 3), np.float32)
    rows[:] = bg
    if r.random() < 0.6:  # soft vertical gradient
        tint = pc.jitter_colour(
            pc.mix(bg, r.choice(((255, 255, 255), (150, 180, 220), (240, 200, 150))), 0.3), r, 10
        )
        ramp = np.linspace(0.0, r.uniform(0.3, 1.0), pc.PLATE_H, dtype=np.float32)[:, None]
        if r.random() < 0.5:
            ramp = ramp[::-1]
        rows += (np.asarray(tint, np.float32) - rows) * ramp
    canvas[:] = rows[:, None, :]
    gfx = r.choice(style.graphics) if style.graphics else ""
    if gfx:
        graphic(canvas, gfx, bg, r)
    return canvas, bg


def graphic(canvas: np.ndarray, kind: str, bg, r: random.Random) -> None:
    pale = r.uniform(0.25, 0.6)
    if kind == "mountains":
        colour = pc.mix(
            bg, r.choice(((120, 90, 160), (200, 120, 60), (90, 120, 160), (60, 110, 70))), pale
        )
        xs = np.linspace(-5, pc.PLATE_W + 5, r.randint(4, 9))
        lo = r.uniform(0.35, 0.55)  # peaks often reach behind the characters
        ys = [pc.PLATE_H * r.uniform(lo, lo + 0.3) for _ in xs]
        pts = np.array(
            [[x, y] for x, y in zip(xs, ys, strict=True)]
            + [[pc.PLATE_W + 5, pc.PLATE_H + 5], [-5, pc.PLATE_H + 5]],
            np.int32,
        )
        cv2.fillPoly(canvas, [pts], colour, lineType=cv2.LINE_AA)
    elif kind == "sun":
        colour = pc.mix(bg, r.choice(((250, 170, 60), (240, 120, 80), (250, 220, 100))), pale)
        c = (round(r.uniform(0.1, 0.9) * pc.PLATE_W), round(r.uniform(0.3, 0.8) * pc.PLATE_H))
        cv2.circle(canvas, c, round(r.uniform(0.15, 0.4) * pc.PLATE_H), colour, -1, cv2.LINE_AA)
    elif kind == "waves":
        colour = pc.mix(bg, r.choice(((60, 120, 200), (60, 160, 180), (200, 60, 60))), pale * 0.7)
        x = np.arange(0, pc.PLATE_W + 8, 8)
        for _ in range(r.randint(1, 4)):
            y0, amp, f = r.uniform(0.3, 0.95) * pc.PLATE_H, r.uniform(2, 8), r.uniform(0.01, 0.05)
            pts = np.stack([x, y0 + amp * np.sin(x * f + r.uniform(0, 6))], axis=1).astype(np.int32)
            cv2.polylines(canvas, [pts], False, colour, r.randint(1, 5), cv2.LINE_AA)
    elif kind == "stripe":
        colour = pc.jitter_colour(
            r.choice(((30, 60, 140), (180, 30, 40), (40, 110, 60), (240, 190, 40))), r
        )
        h = round(r.uniform(0.05, 0.16) * pc.PLATE_H)
        y = 0 if r.random() < 0.5 else pc.PLATE_H - h
        canvas[y : y + h] = colour
    elif kind == "flag":
        x, y = round(r.uniform(0.02, 0.1) * pc.PLATE_W), round(r.uniform(0.05, 0.2) * pc.PLATE_H)
        w, h = round(0.12 * pc.PLATE_W), round(0.16 * pc.PLATE_H)
        canvas[y : y + h, x : x + w] = pc.mix(bg, (30, 60, 140), pale)
        canvas[y + h // 2 : y + h, x + w // 3 : x + w] = pc.mix(bg, (190, 40, 50), pale)
    elif kind == "sunset":  # Arizona, New Mexico: colour bands behind the characters
        y = r.uniform(0.2, 0.45) * pc.PLATE_H
        for _ in range(r.randint(2, 4)):
            h = r.uniform(0.08, 0.25) * pc.PLATE_H
            tone = r.choice(((250, 170, 60), (230, 110, 90), (150, 110, 180), (80, 170, 170)))
            colour = pc.mix(bg, tone, pale * r.uniform(0.5, 1.0))
            canvas[round(y) : round(y + h)] = colour
            y += h
    elif kind == "cactus":  # saguaro silhouettes
        # Pale and near the plate's ends, as on Arizona's plates: an ink-dark trunk behind the
        # serial hid characters the label still named and looked like an unlabelled 1.
        colour = pc.mix(bg, r.choice(((40, 110, 60), (90, 60, 110), (30, 70, 50))), pale)
        for _ in range(r.randint(1, 2)):
            x = r.choice((r.uniform(0.03, 0.1), r.uniform(0.9, 0.97))) * pc.PLATE_W
            top, w = r.uniform(0.15, 0.5) * pc.PLATE_H, r.uniform(0.04, 0.07) * pc.PLATE_W
            t = max(2, round(w))
            cv2.line(canvas, (round(x), round(top)), (round(x), pc.PLATE_H), colour, t, cv2.LINE_AA)
            for sgn in (-1, 1):
                if r.random() < 0.7:
                    ay = top + r.uniform(0.15, 0.4) * (pc.PLATE_H - top)
                    ax = x + sgn * r.uniform(1.5, 2.5) * w
                    pts = np.array(
                        [[x, ay], [ax, ay], [ax, ay - r.uniform(0.1, 0.25) * pc.PLATE_H]]
                    )
                    cv2.polylines(canvas, [pts.astype(np.int32)], False, colour, t, cv2.LINE_AA)
    elif kind == "arizona_sky":
        # Sky-blue above (deepest at the top), white behind the serial, then purple
        # mountains and a yellow-orange desert strip under it, and often a saguaro.
        sky = pc.jitter_colour((120, 170, 225), r, 15)
        ramp = np.clip(1.0 - np.linspace(0.0, 1.0, pc.PLATE_H) / r.uniform(0.45, 0.7), 0.0, 1.0)
        canvas += (np.asarray(sky, np.float32) - canvas) * (ramp**1.5)[:, None, None].astype(np.float32)
        purple = pc.jitter_colour((125, 95, 165), r, 15)
        xs = np.linspace(-5, pc.PLATE_W + 5, r.randint(5, 9))
        top = r.uniform(0.74, 0.84)
        pts = [[x, pc.PLATE_H * r.uniform(top, top + 0.08)] for x in xs]
        pts += [[pc.PLATE_W + 5, pc.PLATE_H + 5], [-5, pc.PLATE_H + 5]]
        cv2.fillPoly(canvas, [np.array(pts, np.int32)], purple, lineType=cv2.LINE_AA)
        sand = round(r.uniform(0.9, 0.95) * pc.PLATE_H)
        canvas[sand:] = pc.jitter_colour((235, 195, 95), r, 15)
        if r.random() < 0.7:
            graphic(canvas, "cactus", bg, r)
    elif kind == "tree":
        colour = pc.mix(bg, (40, 110, 60), pale)
        x, y = r.uniform(0.05, 0.95) * pc.PLATE_W, r.uniform(0.2, 0.6) * pc.PLATE_H
        s = r.uniform(0.2, 0.5) * pc.PLATE_H
        pts = np.array([[x, y], [x - s / 2, y + s * 1.4], [x + s / 2, y + s * 1.4]], np.int32)
        cv2.fillPoly(canvas, [pts], colour, lineType=cv2.LINE_AA)
