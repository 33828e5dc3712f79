"""The recogniser: a plain class Ray Data runs as an actor, callable without Ray."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from lpr_ray.backends.base import (
    BackendOptions,
    available_backends,
    load_backend,
    resolve_backend_name,
)
from lpr_ray.core.image import OK
from lpr_ray.core.model import resolve_model
from lpr_ray.core.reading import check_decode, read_batch, reading_tag
from lpr_ray.core.tta import check_tta
from lpr_ray.pipeline.partition import PartitionSpec
from lpr_ray.pipeline.rows import build_rows

log = logging.getLogger(__name__)


def _assigned_gpus() -> list:
    """GPUs Ray reserved for this actor ([] outside Ray)."""
    try:
        import ray

        return list(ray.get_gpu_ids()) if ray.is_initialized() else []
    except Exception:  # noqa: BLE001 - outside a worker, or Ray not installed
        return []


def _load_with_fallback(name: str, spec, options: BackendOptions):
    """The backend asked for; with "auto", ONNX Runtime on the CPU when no GPU backend can
    run here, with a warning when Ray reserved a GPU for this actor (the job planned GPU
    actors but this node cannot use its GPU)."""
    if name != "auto":
        backend = load_backend(name, spec, options)
        if getattr(getattr(backend, "device", None), "type", None) == "cpu" and _assigned_gpus():
            log.warning("torch backend: Ray assigned this actor a GPU but torch sees no CUDA: running on the CPU")
        return backend
    resolved = resolve_backend_name("auto")
    problem = None
    if resolved != "onnxruntime":
        try:
            return load_backend(resolved, spec, options)
        except Exception as exc:  # noqa: BLE001 - auto must still run: any failure falls back
            problem = f"{resolved} failed to load: {type(exc).__name__}: {exc}"
    gpus = _assigned_gpus()
    if gpus or problem:
        if problem is None:
            problem = "; ".join(
                f"{n}: {reason if not ok else reason + ', which auto uses only with CUDA'}"
                for n, (ok, reason) in available_backends().items()
                if n not in ("onnxruntime", "standin")
            )
        log.warning(
            "GPU backend unavailable (Ray assigned GPU %s to this actor): %s. "
            "FALLING BACK to onnxruntime on the CPU; rows will say backend=onnxruntime",
            gpus or "none", problem,
        )
    return load_backend("onnxruntime", spec, options)


class Recognizer:
    def __init__(
        self,
        model: str | None,
        characters: str | None,
        backend: str,
        run_id: str,
        threads: int = 1,
        batch_size: int = 128,
        precision: str = "fp16",  # GPU backends only; CPU backends run fp32
        engine_cache: str | None = None,
        partition_pattern: str | None = None,
        run_date: str | None = None,
        decode: str = "greedy",
        tta: str = "off",
        progress=None,  # a ProgressCounter actor (lpr_ray.pipeline.progress), or None
    ):
        self.spec = resolve_model(model, characters)
        options = BackendOptions(
            threads=threads, precision=precision, batch_size=batch_size, engine_cache=engine_cache
        )
        self.backend = _load_with_fallback(backend, self.spec, options)
        check_decode(self.backend, self.spec.charset.characters, decode)
        self.decode = decode
        check_tta(tta)
        self.tta = tta
        self.run_id = run_id
        self.batch_size = batch_size
        # Partition columns are added here (not in another stage) to save a pass over rows.
        self.partition = PartitionSpec(partition_pattern) if run_date else None
        self.run_date = run_date
        self.progress = progress
        log.info("recogniser ready: %s, %s decoding, test-time views %s", self.backend.describe(), decode, tta)

    def _labels(self, labels) -> np.ndarray:
        """Manifest labels as TAO labels are read (charset.normalize_label: upper case, no
        spaces or dashes, O as 0), so that "svr-4986" is scored against the read SVR4986. A
        label that normalises to "" is no label (an empty CSV cell), not a misread."""
        out = []
        for lab in labels:
            norm = self.spec.charset.normalize_label(lab) if isinstance(lab, str) else None
            out.append(norm or None)
        return np.array(out, dtype=object)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        if "label" in batch:
            # Ray's batches are read-only views: a new dict, not an assignment into it.
            batch = {**batch, "label": self._labels(batch["label"])}
        ok_idx = np.flatnonzero(np.asarray(batch["status"]) == OK)
        reads = {}
        chars = self.spec.charset.characters
        # Ray hands us at most batch_size rows, but a direct caller may pass more.
        for start in range(0, len(ok_idx), self.batch_size):
            idx = ok_idx[start : start + self.batch_size]
            images = np.ascontiguousarray(batch["image"][idx])
            for i, read in zip(idx, read_batch(self.backend, images, chars, self.decode, self.tta), strict=True):
                reads[int(i)] = read
        rows = build_rows(
            batch,
            reads,
            model=reading_tag(self.spec.tag, self.decode, self.tta, self.backend.name),
            backend=self.backend.name,
            run_id=self.run_id,
            processed_at=datetime.now(UTC),
        )
        if self.partition is not None:
            rows = self.partition.add_columns(rows, self.run_date)
        if self.progress is not None:
            self.progress.add.remote(rows.num_rows)  # fire and forget: never waits on the counter
        return rows
