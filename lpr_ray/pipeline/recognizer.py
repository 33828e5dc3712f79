"""The recogniser: a plain class Ray Data runs as an actor, callable without Ray."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from lpr_ray.backends.base import BackendOptions, load_backend
from lpr_ray.decode import ctc_greedy_decode
from lpr_ray.image import OK
from lpr_ray.model import resolve_model
from lpr_ray.pipeline.rows import build_rows

log = logging.getLogger(__name__)


class Recognizer:
    def __init__(
        self,
        model: str | None,
        characters: str | None,
        backend: str,
        run_id: str,
        threads: int = 1,
        batch_size: int = 128,
    ):
        self.spec = resolve_model(model, characters)
        self.backend = load_backend(backend, self.spec, BackendOptions(threads=threads))
        self.run_id = run_id
        self.batch_size = batch_size
        log.info("recogniser ready: %s", self.backend.describe())

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        ok_idx = np.flatnonzero(np.asarray(batch["status"]) == OK)
        reads = {}
        chars = self.spec.charset.characters
        # Ray hands us at most batch_size rows, but a direct caller may pass more.
        for start in range(0, len(ok_idx), self.batch_size):
            idx = ok_idx[start : start + self.batch_size]
            best, prob = self.backend.infer(np.ascontiguousarray(batch["image"][idx]))
            for i, read in zip(idx, ctc_greedy_decode(best, prob, chars), strict=True):
                reads[int(i)] = read
        return build_rows(
            batch,
            reads,
            model=self.spec.tag,
            backend=self.backend.name,
            run_id=self.run_id,
            processed_at=datetime.now(UTC),
        )
