"""Test-time augmentation: read each crop in a few slightly different views and vote.

A detector's box is never cut the same way twice, and a read that changes when the crop is
zoomed by a few percent was a guess. `zoom3` reads the crop as it is, zoomed out to 92%
and zoomed in to 108% about its centre (edges replicated), and keeps the plate most views
agree on. Its confidence is the share of views that read it times the product of its
characters' probabilities averaged over those views: a plate two of three views read gets
at most 2/3. Each character's confidence carries the share's n-th root (n characters), so
that the plate confidence stays the product of the character confidences (DeepStream's
rule). Chosen on held-out synthetic plates among four view sets (docs/READING.md). It costs one model pass per view.

Needs only numpy and OpenCV; works with every backend and decoder (it votes on reads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from lpr_ray.core.decode import PlateRead
from lpr_ray.core.errors import LprRayError

# Scales of each view set: 1.0 is the crop as it is; < 1 zooms out (more surroundings).
VIEW_SETS: dict[str, tuple[float, ...]] = {
    "off": (1.0,),
    "zoom3": (1.0, 0.92, 1.08),
}


def check_tta(tta: str) -> tuple[float, ...]:
    try:
        return VIEW_SETS[tta]
    except KeyError:
        raise LprRayError(f"unknown test-time views {tta!r}; expected one of {', '.join(VIEW_SETS)}") from None


def zoom(images: np.ndarray, scale: float) -> np.ndarray:
    """uint8 [N, H, W, C] crops zoomed by `scale` about their centre, same size, edges replicated."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"expected images [N, H, W, C], got shape {images.shape}")
    if scale <= 0:
        raise ValueError(f"zoom scale must be > 0, got {scale}")
    if scale == 1.0:
        return images
    h, w = images.shape[1:3]
    m = np.array([[scale, 0, (w / 2) * (1 - scale)], [0, scale, (h / 2) * (1 - scale)]], np.float32)
    out = np.empty_like(images)
    for i, img in enumerate(images):
        cv2.warpAffine(
            img, m, (w, h), dst=out[i], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    return out


def vote(views: Sequence[Sequence[PlateRead]]) -> list[PlateRead]:
    """One read per crop from the reads of each view (views[v][i]: view v's read of crop i).

    The plate read by the most views wins; a tie goes to the plate whose agreeing views have
    the higher summed confidence, then to the earlier view's plate.
    """
    if not views:
        raise ValueError("vote needs the reads of at least one view")
    n = len(views[0])
    if any(len(v) != n for v in views):
        raise ValueError(f"every view must read the same crops, got {[len(v) for v in views]} reads")
    if len(views) == 1:
        return list(views[0])
    count = len(views)
    out = []
    for i in range(n):
        groups: dict[str, list[PlateRead]] = {}
        for v in views:
            groups.setdefault(v[i].plate, []).append(v[i])
        plate, agree = max(
            groups.items(), key=lambda kv: (len(kv[1]), sum(r.confidence for r in kv[1]))
        )
        share = (len(agree) / count) ** (1.0 / max(1, len(plate)))
        chars = tuple(
            share * sum(r.char_confidences[j] for r in agree) / len(agree) for j in range(len(plate))
        )
        out.append(
            PlateRead(plate=plate, confidence=math.prod(chars) if chars else 0.0, char_confidences=chars)
        )
    return out
