"""Style randomisation for training crops: generic, label-preserving changes of look.

lpr_ray.synth draws plates the way we have seen real ones; whatever it gets wrong about
colour, tone or pixel texture, a model trained only on it learns as a shortcut. These
operations take such cues away (colour, polarity, tone curve, pixel grid) without touching
the characters' shapes or positions, the way scene-text recognisers trained on synthetic
text are made robust to real photos (STRAug, Atienza 2021). Numpy and OpenCV only.

`--style-augment P` in `lpr-ray train`: each training crop gets, with probability P, one
or two operations drawn uniformly from OPS.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Op = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def channel_shuffle(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plate colours vary by state and light; the characters are read by contrast."""
    perm = rng.permutation(3)
    while (perm == np.arange(3)).all():
        perm = rng.permutation(3)
    return np.ascontiguousarray(img[..., perm])


def invert(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light characters on a dark plate (old California black plates, some specialty ones)."""
    return 255 - img


def hue_rotate(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.integers(20, 160))) % 180
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def posterize(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Few grey levels: heavily compressed or badly quantised camera output."""
    bits = int(rng.integers(3, 6))
    mask = np.uint8((0xFF << (8 - bits)) & 0xFF)
    return img & mask


def equalize(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's or a viewer's auto-contrast on the luminance: a percentile stretch, or a
    local equalisation (CLAHE). Plain histogram equalisation was left out: on a flat plate
    it turns sensor noise into snow that no real crop shows."""
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    y = ycc[..., 0]
    if rng.random() < 0.5:
        lo, hi = np.percentile(y, (rng.uniform(0, 3), rng.uniform(97, 100)))
        if hi - lo >= 8:
            ycc[..., 0] = np.clip((y.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    else:
        clahe = cv2.createCLAHE(clipLimit=float(rng.uniform(1.2, 2.5)), tileGridSize=(2, 4))
        ycc[..., 0] = clahe.apply(y)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def gamma(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    g = float(np.exp(rng.uniform(np.log(0.45), np.log(2.2))))
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def pixelate(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Nearest-neighbour blocks: a digital zoom or a crop upscaled without interpolation."""
    h, w = img.shape[:2]
    f = rng.uniform(0.5, 0.8)
    small = cv2.resize(img, (max(8, round(w * f)), max(4, round(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def bend(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A gently bent plate or lens distortion: rows shifted along a smooth curve, at most
    about 2 px at 96x48, so no character leaves the crop."""
    h, w = img.shape[:2]
    amp = rng.uniform(0.8, 2.0) * rng.choice((-1.0, 1.0))
    phase = rng.uniform(0, np.pi)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dy = (amp * np.sin(np.pi * xs / w + phase)).astype(np.float32)
    return cv2.remap(img, xs, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def sharpen(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Over-sharpened camera output: halos along the strokes."""
    x = img.astype(np.float32)
    amount = rng.uniform(0.6, 1.8)
    x = x * (1 + amount) - cv2.GaussianBlur(x, (0, 0), rng.uniform(0.7, 1.4)) * amount
    return np.clip(x, 0, 255).astype(np.uint8)


OPS: dict[str, Op] = {
    "channel_shuffle": channel_shuffle,
    "invert": invert,
    "hue_rotate": hue_rotate,
    "posterize": posterize,
    "equalize": equalize,
    "gamma": gamma,
    "pixelate": pixelate,
    "bend": bend,
    "sharpen": sharpen,
}


def style_augment(img: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """With probability p, one or two operations of OPS (uint8 RGB [H, W, 3] in and out)."""
    if p <= 0 or rng.random() >= p:
        return img
    names = list(OPS)
    for i in rng.choice(len(names), size=int(rng.integers(1, 3)), replace=False):
        img = OPS[names[i]](img, rng)
    return img
