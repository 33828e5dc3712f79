"""One plate from (seed, index), and batches of model inputs."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH, preprocess_bgr
from lpr_ray.synth.augment import MIN_INK_CONTRAST, camera
from lpr_ray.synth.render import draw_plate


@dataclass(frozen=True)
class Plate:
    image: np.ndarray  # BGR uint8 crop at its source size (what a decoder gives back)
    jpeg: bytes | None  # the encoded crop when JPEG compression was drawn
    label: str
    ink_contrast: float  # grey levels between the serial's strokes and the plate (augment.py)
    kind: str = "us"  # the plate type: "us", or a Chinese type (cn/formats.py: "blue", ...)


MAX_DRAWS = 4  # a plate that stays too faint after this many draws is kept as it is
REGIONS = ("us", "cn")


def render_plate(seed: int, index: int, region: str = "us") -> Plate:
    """Plate `index` of the stream for (`seed`, `region`): deterministic, independent of
    other plates.

    A plate whose serial ends up too faint to read (augment.MIN_INK_CONTRAST) is drawn
    again from the same random stream: no labeller would have read it either.
    """
    if region == "cn":
        return _render_cn(seed, index)
    if region != "us":
        raise ValueError(f"unknown plate region {region!r}; expected one of {REGIONS}")
    r = random.Random(f"lpr-ray-synth:{seed}:{index}")
    g = np.random.default_rng(r.getrandbits(64))
    for _ in range(MAX_DRAWS):
        canvas, label, ink = draw_plate(r)
        image, jpeg, contrast = camera(canvas, r, g, ink)
        if contrast >= MIN_INK_CONTRAST:
            break
    return Plate(image=image, jpeg=jpeg, label=label, ink_contrast=contrast)


def _render_cn(seed: int, index: int) -> Plate:
    from lpr_ray.synth.cn import render as cn

    r = random.Random(f"lpr-ray-synth-cn:{seed}:{index}")
    g = np.random.default_rng(r.getrandbits(64))
    for _ in range(MAX_DRAWS):
        canvas, label, ink, kind = cn.draw_plate(r)
        size = cn.source_size(r, canvas.shape[1] / canvas.shape[0])
        image, jpeg, contrast = camera(canvas, r, g, ink, size=size)
        if contrast >= MIN_INK_CONTRAST:
            break
    return Plate(image=image, jpeg=jpeg, label=label, ink_contrast=contrast, kind=kind.name)


def render_batch(seed: int, n: int, region: str = "us") -> tuple[np.ndarray, list[str]]:
    """n plates as model inputs: uint8 RGB [n, 48, 96, 3] (resized like the pipeline) and labels."""
    images = np.empty((n, MODEL_HEIGHT, MODEL_WIDTH, 3), np.uint8)
    labels = []
    with single_threaded_cv2():
        for i in range(n):
            p = render_plate(seed, i, region)
            images[i] = preprocess_bgr(p.image)
            labels.append(p.label)
    return images, labels


@contextlib.contextmanager
def single_threaded_cv2() -> Iterator[None]:
    """OpenCV's thread pool only slows down work on images this small (about 2x)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)
