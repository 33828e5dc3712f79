"""Greedy CTC decoding and confidences: pure numpy.

A model gives, per time step, its best class (`tf_op_layer_ArgMax`) and that class's
probability (`tf_op_layer_Max`). Greedy CTC keeps the first step of each run of equal
classes and drops blanks. Each emitted character's confidence is the probability at that
first step, and the plate confidence is their product: what NVIDIA's DeepStream LPR parser
computes, so thresholds carry over between the two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lpr_ray.core.errors import ModelOutputError

# DeepStream drops reads shorter than this; we keep the row and flag it.
MIN_PLATE_LENGTH = 3


@dataclass(frozen=True)
class PlateRead:
    plate: str
    confidence: float
    char_confidences: tuple[float, ...]

    @property
    def too_short(self) -> bool:
        return len(self.plate) < MIN_PLATE_LENGTH


def emitted_mask(best: np.ndarray, blank: int) -> np.ndarray:
    """Which time steps emit a character: not blank, and not a repeat of the previous step."""
    if best.ndim != 2:
        raise ValueError(f"best classes must be [N, T], got shape {best.shape}")
    prev = np.empty_like(best)
    prev[:, 0] = -1
    prev[:, 1:] = best[:, :-1]
    return (best != blank) & (best != prev)


def ctc_greedy_decode(
    best: np.ndarray, prob: np.ndarray, characters: Sequence[str]
) -> list[PlateRead]:
    """Decode a batch. `best` is [N, T] class indices, `prob` [N, T] their probabilities.

    Class indices outside [0, len(characters)] are a broken model, not a plate: refuse them.
    """
    best = np.asarray(best)
    prob = np.asarray(prob, dtype=np.float32)
    if best.shape != prob.shape:
        raise ValueError(f"classes {best.shape} and probabilities {prob.shape} differ in shape")
    blank = len(characters)
    if best.size and (best.min() < 0 or best.max() > blank):
        raise ModelOutputError(
            f"class indices must lie in [0, {blank}] for {blank} characters + blank, "
            f"got [{best.min()}, {best.max()}]: does characters_list match the model?"
        )
    mask = emitted_mask(best, blank)
    # One numpy selection for the whole batch, then plain Python lists: per-row numpy calls
    # cost ~6x more, and were a third of a GPU recogniser actor's time (BENCHMARKS.md, GPU).
    counts = mask.sum(axis=1).tolist()
    classes = best[mask].tolist()
    confs = prob[mask].astype(np.float64).tolist()
    reads = []
    pos = 0
    for n in counts:
        row = confs[pos : pos + n]
        plate = "".join([characters[i] for i in classes[pos : pos + n]])
        reads.append(PlateRead(plate=plate, confidence=math.prod(row) if n else 0.0, char_confidences=tuple(row)))
        pos += n
    return reads


def softmax_to_contract(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, T, C] per-step class probabilities -> (argmax int32 [N, T], max float32 [N, T])."""
    best = probs.argmax(axis=-1).astype(np.int32)
    top = np.take_along_axis(probs, best[..., None], axis=-1)[..., 0].astype(np.float32)
    return best, top
