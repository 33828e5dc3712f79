"""How much of a crop's width the serial fills, as a model sees it: the CTC steps (of 24) at
which it emits the first and the last character. Comparing real and synthetic crops read by
the same model shows whether the generator cuts plates the way real detectors do (session
12 found synthetic serials about one step narrower than us_real_val's; MODEL_CARD.md).

    lpr-ray spans [--model DIR] [--val-tao URI] [--synthetic N] [--synthetic-seed S]

Needs only ONNX Runtime (the contract's best-class output). Labels are not compared, but
--val-tao is read as a TAO dataset: its images need label files to be read at all.
"""

from __future__ import annotations

import numpy as np

from lpr_ray.core.decode import emitted_mask

QUANTILES = (10, 25, 50, 75, 90)


def serial_spans(best: np.ndarray, blank: int, min_chars: int = 5) -> dict[str, np.ndarray]:
    """Per plate with at least `min_chars` emitted characters: first and last emitting step,
    their distance, the mean distance between neighbouring characters, and the count."""
    best = np.asarray(best)
    if best.ndim != 2:
        raise ValueError(f"expected best classes [N, T], got shape {best.shape}")
    mask = emitted_mask(best, blank)
    rows = [np.flatnonzero(m) for m in mask]
    rows = [r for r in rows if len(r) >= max(2, min_chars)]
    first = np.array([r[0] for r in rows], np.int64)
    last = np.array([r[-1] for r in rows], np.int64)
    chars = np.array([len(r) for r in rows], np.int64)
    return {
        "first": first,
        "last": last,
        "span": last - first,
        "pitch": (last - first) / np.maximum(1, chars - 1),
        "chars": chars,
    }


def summary(spans: dict[str, np.ndarray]) -> dict:
    out: dict = {"plates": int(len(spans["first"]))}
    if not out["plates"]:
        return out
    for key in ("first", "last", "span"):
        out[key] = [float(v) for v in np.percentile(spans[key], QUANTILES)]
    seven = spans["chars"] == 7
    out["pitch_7_chars_mean"] = round(float(spans["pitch"][seven].mean()), 3) if seven.any() else None
    return out
