"""A stand-in recogniser with no model: the job's own ceiling, for measuring the pipeline.

`lpr-ray run --backend standin` runs the real job (reads, decodes, actors, rows, the write,
the commit) with this in place of a model, so that what is left is what the pipeline costs
(benchmarks/bench_pipeline.py). Its outputs honour the contract (int32 [N, 24] classes, float32
[N, 24] probabilities) and spell a fixed 7-character read with blanks between, so CTC decoding
and row building cost what they cost with a real model. Never picked by "auto"; rows say
backend=standin, so a result written with it cannot pass for a real read.
"""

from __future__ import annotations

import numpy as np

from lpr_ray.backends.base import BackendOptions
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH
from lpr_ray.core.model import ModelSpec

STEPS = 24
READ_LENGTH = 7


def is_available() -> tuple[bool, str]:
    return True, "stand-in recogniser (no model; for measuring the pipeline)"


def prefer_in_auto() -> bool:
    return False


def _fixed_steps(num_classes: int) -> np.ndarray:
    """Classes 0..6 at even steps, blank (the last class) elsewhere: one 7-character read."""
    blank = num_classes - 1
    steps = np.full(STEPS, blank, np.int32)
    steps[0 : 2 * READ_LENGTH : 2] = np.arange(READ_LENGTH) % blank
    return steps


class StandinBackend:
    name = "standin"

    def __init__(self, model: ModelSpec, options: BackendOptions):
        self.model = model
        self._best = _fixed_steps(model.charset.num_classes)
        self._prob = np.full(STEPS, 0.99, np.float32)
        self.closed = False

    def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.closed:
            raise LprRayError("the standin backend was closed; load a new one")
        if images.dtype != np.uint8 or images.shape[1:] != (MODEL_HEIGHT, MODEL_WIDTH, 3):
            raise LprRayError(
                f"expected uint8 [N, {MODEL_HEIGHT}, {MODEL_WIDTH}, 3] images, got {images.dtype} {list(images.shape)}"
            )
        n = len(images)
        return np.tile(self._best, (n, 1)), np.tile(self._prob, (n, 1))

    def close(self) -> None:
        self.closed = True  # holds nothing, but behaves like the others (DESIGN.md)

    def describe(self) -> str:
        return f"standin (no model: a fixed read, for measuring the pipeline), charset of {self.model.tag}"


def create(model: ModelSpec, options: BackendOptions) -> StandinBackend:
    return StandinBackend(model, options)
