"""Camera and detector effects: a flat plate canvas -> the crop an upstream detector cut.

Order: dirt and uneven light on the plate, perspective and rotation, a crop jittered
around the plate's bounding box at a source size of about 35..330 px wide, then blur,
resampling, exposure/contrast/colour, haze, dusk or night flatness, noise and JPEG. The
serial's mask rides along through the warp to measure what ink contrast is left.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np

MIN_W, MAX_W = 35, 330
SIZE_TAIL_P = 0.06  # share of crop widths drawn log-uniform over MIN_W..MAX_W
# Readability floors. Real labelled crops are readable by a person (us_real_val: 50 px wide
# at the least); a synthetic plate that is not only teaches the model to guess, and makes
# held-out synthetic accuracy measure the generator instead of the model.
MIN_READABLE_W = 46  # effective width after a low-resolution capture
MIN_CONTRAST_KEPT = 0.3  # share of the serial's contrast left after contrast, haze, dusk
# Grey levels between stroke centres and the plate in the final crop (ink_contrast), after
# every effect. Of 2000 held-out plates the shipped model read 5 of the 13 below 25 (38%),
# by eye mostly smears, and 96.7% of those above 60; such plates are drawn again.
MIN_INK_CONTRAST = 25.0
# Crops narrower than SMALL_W take a smaller share of the degradation budget, down to
# SMALL_FLOOR at MIN_W (legible_share).
SMALL_W, SMALL_FLOOR = 64, 0.25
FLAT_P = 0.12  # share of captures made flat, often dark (_flatten)
# Share of detector boxes that hug the serial from above and below, cutting the state name
# and the slogan (see _hug_serial).
HUG_P = 0.2
# Horizontal margins of the detector's box around the plate (shares of its width, per side;
# negative cuts into it), for tight boxes (three in four) and loose ones.
TIGHT_MX = (-0.025, 0.02)
LOOSE_MX = (-0.03, 0.05)  # up to 0.08 before 2026-12-03: looser than us_real_val's boxes

SURROUNDS = (
    (20, 20, 22),
    (45, 45, 50),
    (90, 90, 95),
    (150, 150, 155),
    (200, 200, 205),
    (120, 20, 25),
    (25, 40, 90),
    (230, 230, 230),
    (60, 50, 40),
    (110, 120, 130),
)


def source_size(r: random.Random) -> tuple[int, int]:
    """Crop size before the 96x48 resize: mostly 60..140 px wide, about 2:1.

    The bulk follows us_real_val's widths (median 88 px, 5% under 58, 5% over 159); a
    thin log-uniform tail keeps the whole 35..330 px range a detector can hand over. With
    15% in that tail and a wider bulk, 6% of plates were under 50 px (real: none of 222)
    and they made 40% of the held-out misreads."""
    if r.random() < 1 - SIZE_TAIL_P:
        w = math.exp(r.gauss(math.log(89.0), 0.30))
    else:
        w = math.exp(r.uniform(math.log(MIN_W), math.log(MAX_W)))
    w = min(MAX_W, max(MIN_W, w))
    aspect = 2.02 + r.gauss(0, 0.03) if r.random() < 0.8 else r.uniform(1.6, 2.7)
    return round(w), max(16, round(w / aspect))


def legible_share(width: int) -> float:
    """How much of the degradation budget a crop `width` px wide can take and stay readable.

    Blur, noise and JPEG act in source pixels, so the same draw that leaves a 120 px crop
    readable smears a 40 px one, whose characters are 5 px wide, into guesswork. Labelled
    crops that small exist only when the capture was clean; on held-out plates the shipped
    model misread 26% of crops under 42 px (by eye most were unreadable) and 0.3% over 100.
    """
    return min(1.0, max(SMALL_FLOOR, (width - 28) / (SMALL_W - 28)))


def _plate_quad(r: random.Random, w: float, h: float) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of the plate after yaw, pitch, roll and shear."""
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float64)
    yaw = r.gauss(0, 0.06)  # one side taller than the other
    pts[:, 1] *= 1 + yaw * np.sign(pts[:, 0])
    pitch = r.gauss(0, 0.05)  # top wider or narrower than the bottom
    pts[:, 0] *= 1 + pitch * np.sign(pts[:, 1])
    pts[:, 0] += r.gauss(0, 0.04) * pts[:, 1]  # shear
    a = math.radians(max(-12.0, min(12.0, r.gauss(0, 3.0))))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = pts @ rot.T
    pts += np.array([r.gauss(0, 0.01) for _ in range(8)]).reshape(4, 2) * [w, h]
    return pts


def _surround(r: random.Random, g: np.random.Generator, w: int, h: int) -> np.ndarray:
    """What lies around the plate in the crop: bumper, car body, shadow."""
    c = np.array([v + r.uniform(-20, 20) for v in r.choice(SURROUNDS)], np.float32)
    low = g.uniform(0.6, 1.3, (2, 3, 1)).astype(np.float32)
    return np.clip(cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] * c, 0, 255)


def _lighting(canvas: np.ndarray, r: random.Random, g: np.random.Generator) -> None:
    """Dirt and uneven light, multiplied into the flat plate in place."""
    amount = r.uniform(0.0, 0.35)
    if amount > 0.02:
        low = g.uniform(1 - amount, 1 + amount * 0.4, (r.randint(2, 4), r.randint(3, 7), 1))
        low = cv2.resize(
            low.astype(np.float32),
            (canvas.shape[1], canvas.shape[0]),
            interpolation=cv2.INTER_LINEAR,
        )
        canvas *= low[..., None]
    if r.random() < 0.2:  # a hard shadow across part of the plate
        h, w = canvas.shape[:2]
        x0, x1 = r.uniform(-0.5, 1.5) * w, r.uniform(-0.5, 1.5) * w
        pts = np.array([[x0, -1], [x1, h + 1], [w * 3, h + 1], [w * 3, -1]], np.int32)
        if r.random() < 0.5:
            pts[2:, 0] = -w * 2
        mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(mask, [pts], 1.0)
        canvas *= (1 - mask * r.uniform(0.2, 0.6))[..., None]
    if r.random() < 0.3:  # specks of dirt
        n = r.randint(5, 40)
        ys, xs = g.integers(0, canvas.shape[0], n), g.integers(0, canvas.shape[1], n)
        canvas[ys, xs] *= g.uniform(0.3, 0.8, (n, 1)).astype(np.float32)


def _band_stats(out: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the grey levels of the crop's middle half (rows)."""
    h = out.shape[0]
    mean, std = cv2.meanStdDev(cv2.cvtColor(out[h // 4 : h - h // 4], cv2.COLOR_RGB2GRAY))
    return float(mean[0, 0]), float(std[0, 0])


def _keep_readable(out: np.ndarray, min_range: float) -> None:
    """Stretch contrast in place when the plate's middle band has faded below min_range grey
    levels: real crops this degraded are not labelled, so training on them only adds noise."""
    mean, std = _band_stats(out)
    spread = 3.3 * std  # about the 5..95 percentile range of a plate's greys
    if spread < min_range:
        out -= np.float32(mean)
        out *= np.float32(min_range / max(spread, 1.0))
        out += np.float32(min(max(mean, min_range / 2 + 5), 250 - min_range / 2))


def _flatten(out: np.ndarray, r: random.Random) -> None:
    """Night or a dull overcast capture in place: the plate's middle band brought down to a
    standard deviation of 12..30 grey levels around a dark or middling level. A fifth of
    us_real_val's crops are that flat (band std < 30), three times the share the other
    effects give; a model that rarely saw them misread a third of the flattest."""
    mean, std = _band_stats(out)
    target = r.uniform(12.0, 30.0)
    if std <= target:
        return
    dark = r.random() < 0.5
    level = r.uniform(35, 90) if dark else r.uniform(90, 170)
    out -= np.float32(mean)
    out *= np.float32(target / std)
    out += np.float32(level)
    if dark and r.random() < 0.7:
        # us_real_val's flattest crops (5% under 45 grey levels from 5th to 95th
        # percentile) are dark night captures, blue-grey: red 12 levels under blue on
        # average, where flat synthetic crops had 2.5. Of its 19 crops under 60 levels the
        # model read 12; of 141 such synthetic ones, 140.
        out *= np.array((r.uniform(0.76, 0.92), r.uniform(0.88, 0.98), 1.0), np.float32)


def _hug_serial(ink: np.ndarray, r: random.Random) -> list[float]:
    """Top and bottom margins (shares of the plate's height; negative cuts into it) of a
    detector box that keeps 5..30% of the serial's height above and below it.

    Some detectors box the characters rather than the plate: after the resize to 2:1 the
    serial fills 60-90% of the crop's height with the state name cut off. In 27% of
    us_real_val's crops the characters' rows fill 60% of the height or more (most of its
    Missouri night crops, which were read worst), in 13% of synthetic ones before such boxes
    were drawn and 28% since (tests/test_synth.py measures it).
    """
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    if rows.size == 0:
        return [0.0, 0.0]
    h = ink.shape[0]
    top, bottom = rows[0] / h, (rows[-1] + 1) / h
    serial = bottom - top
    return [r.uniform(0.05, 0.3) * serial - top, r.uniform(0.05, 0.3) * serial - (1 - bottom)]


def _motion_kernel(r: random.Random, width: int) -> np.ndarray:
    # A streak longer than about a stroke's width makes small crops unreadable.
    k = min(r.choice((3, 3, 5, 5, 7)), 3 + 2 * (width // 60))
    kern = np.zeros((k, k), np.float32)
    kern[k // 2] = 1.0
    rot = cv2.getRotationMatrix2D(
        (k / 2 - 0.5, k / 2 - 0.5), r.uniform(-30, 30) + r.choice((0, 90, 0)), 1.0
    )
    kern = cv2.warpAffine(kern, rot, (k, k))
    return kern / max(kern.sum(), 1e-6)


def ink_contrast(crop: np.ndarray, ink: np.ndarray) -> float:
    """Grey levels between the serial's strokes and the plate around them in a final crop.

    `ink` is the serial's coverage (0..1) warped into the crop. Blur, low resolution, haze,
    clipped exposure and JPEG all pull stroke centres towards the plate, so this is what is
    left for a reader. Stroke centres are the best-covered pixels (in a small crop a thin
    stroke covers no pixel whole); the plate is the gaps and counters between them.
    """
    top = float(ink.max())
    if top < 0.05:
        return 0.0
    core = ink >= 0.7 * top
    rows, cols = np.flatnonzero(core.any(axis=1)), np.flatnonzero(core.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    grey = cv2.cvtColor(crop[box], cv2.COLOR_BGR2GRAY)
    plate = (ink[box] <= 0.1 * top).astype(np.uint8)
    if not plate.any():
        return 0.0
    return abs(cv2.mean(grey, core[box].astype(np.uint8))[0] - cv2.mean(grey, plate)[0])


def camera(
    canvas: np.ndarray,
    r: random.Random,
    g: np.random.Generator,
    ink: np.ndarray,
    size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, bytes | None, float]:
    """Plate canvas (float32 RGB) -> (BGR uint8 crop at its source size, JPEG bytes or None,
    the serial's ink contrast in the crop).

    The returned crop is what decoding the JPEG gives back when JPEG was drawn. `ink`, the
    serial's coverage on the canvas, is carried through the same warp to measure
    `ink_contrast` on the returned crop; it draws no random numbers. `size` is the crop's
    (width, height) when the caller drew it (plates of other proportions than the US 2:1).
    """
    _lighting(canvas, r, g)
    ph, pw = canvas.shape[:2]
    out_w, out_h = size if size is not None else source_size(r)

    # Where the plate lands: the detector's box is the quad's bounding box, cut a little
    # too tight or too loose on each side, then resized to the crop size.
    quad = _plate_quad(r, 1.0, ph / pw)
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    size = hi - lo
    tight = r.random() < 0.75
    mx = [r.uniform(*(TIGHT_MX if tight else LOOSE_MX)) for _ in range(2)]
    my = [r.uniform(-0.06, 0.03) if tight else r.uniform(-0.05, 0.12) for _ in range(2)]
    if r.random() < HUG_P:
        my = _hug_serial(ink, r)
    lo = lo - np.array([mx[0] * size[0], my[0] * size[1]])
    hi = hi + np.array([mx[1] * size[0], my[1] * size[1]])
    dst = (quad - lo) / (hi - lo) * [out_w, out_h]

    # Shrink the canvas first when the crop is much smaller, so warping does not alias.
    scale = min(1.0, 1.6 * out_w / pw)
    if scale < 0.9:
        size = (max(8, round(pw * scale)), max(4, round(ph * scale)))
        canvas = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)
        ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    sh, sw = canvas.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    out = _surround(r, g, out_w, out_h)
    cv2.warpPerspective(
        canvas,
        m,
        (out_w, out_h),
        dst=out,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    ink = cv2.warpPerspective(ink, m, (out_w, out_h), flags=cv2.INTER_LINEAR)

    # How degraded this capture is, 0 (sharp, well lit) to 1 (barely readable): one draw
    # scales every effect so that they do not all pile up on the same crop.
    s = 0.9 * r.betavariate(1.3, 3.5) * legible_share(out_w)

    # Optics and motion.
    if r.random() < 0.15 + 0.4 * s:  # captured at lower resolution, upscaled later
        f = 1.0 - r.uniform(0.2, 0.6) * (0.4 + s)
        sw = max(min(out_w, MIN_READABLE_W), round(out_w * f))
        sh = max(4, round(out_h * sw / out_w))
        small = cv2.resize(out, (sw, sh), interpolation=cv2.INTER_AREA)
        out = cv2.resize(
            small, (out_w, out_h), interpolation=r.choice((cv2.INTER_LINEAR, cv2.INTER_CUBIC))
        )
    sigma = r.uniform(0.0, 0.9) * (0.3 + 1.1 * s) * max(1.0, out_w / 120)
    if sigma > 0.35:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    if r.random() < 0.3:  # the camera's own sharpening
        amount = r.uniform(0.3, 1.0)
        out = out * (1 + amount) - cv2.GaussianBlur(out, (0, 0), r.uniform(0.8, 1.5)) * amount
    if r.random() < 0.05 + 0.2 * s:
        out = cv2.filter2D(out, -1, _motion_kernel(r, out_w))

    # Exposure, contrast, colour cast, haze.
    gain = min(1.35, math.exp(r.gauss(0.0, 0.3) - 0.5 * s * r.random()))
    contrast = 1.05 - r.uniform(0.0, 0.6) * (0.3 + s)
    kept = contrast  # share of the serial's contrast that survives (see MIN_CONTRAST_KEPT)
    mean = sum(cv2.mean(out)[:3]) / 3.0
    out = (out - mean) * contrast + mean * gain
    cast = np.array([r.uniform(0.92, 1.08) for _ in range(3)], np.float32)
    if r.random() < 0.25:  # cold night light or warm street light
        cast *= np.array((0.9, 0.97, 1.1) if r.random() < 0.7 else (1.08, 1.0, 0.88), np.float32)
    out *= cast
    if r.random() < 0.6:  # washed-out colours
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None]
        out += (grey - out) * r.uniform(0.2, 0.75)
    if r.random() < 0.3:
        haze = np.float32(r.uniform(80, 190))
        h = r.uniform(0.05, 0.35) * (0.5 + s)
        out += (haze - out) * h
        kept *= 1 - h
    if r.random() < 0.15:  # dusk or an overcast car park: grey-blue, flat, often dark
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        m = float(cv2.mean(grey)[0])
        c = r.uniform(0.5, 0.85)
        grey = (grey - m) * c + m * r.uniform(0.45, 0.95)
        kept *= c
        tint = np.array(
            (r.uniform(0.82, 0.95), r.uniform(0.9, 1.0), r.uniform(1.0, 1.15)), np.float32
        )
        out = grey[..., None] * tint
    if kept < MIN_CONTRAST_KEPT:  # the effects piled up: no labeller could read this
        level = np.float32(sum(cv2.mean(out)[:3]) / 3.0)
        out = (out - level) * np.float32(MIN_CONTRAST_KEPT / kept) + level
        kept = MIN_CONTRAST_KEPT
    if r.random() < FLAT_P:
        _flatten(out, r)
    _keep_readable(out, r.uniform(22, 50))
    # Noise stays below about a third of what is left of the ink-to-plate contrast (about
    # 60-90 grey levels or more when drawn, faded paint included).
    noise = min(r.uniform(0.5, 3.0) + 8.0 * s * r.random(), 30.0 * kept)
    if noise > 1:
        out += g.standard_normal(out.shape, dtype=np.float32) * np.float32(noise)

    bgr = np.clip(out[..., ::-1], 0, 255).astype(np.uint8)
    if r.random() < 0.25:  # camera response curve
        gamma = r.uniform(0.75, 1.4)
        bgr = cv2.LUT(bgr, (255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8))
    data = None
    if r.random() < 0.75:
        quality = round(95 - r.uniform(0.3, 1.0) * 75 * (0.3 + s))
        ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, max(15, quality)])
        if ok:
            data = enc.tobytes()
            bgr = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return bgr, data, ink_contrast(bgr, ink)
