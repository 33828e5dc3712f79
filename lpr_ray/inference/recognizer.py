"""Read plates in this process, without Ray: the Python API for notebooks and scripts.

    from lpr_ray import Recognizer

    rec = Recognizer()                          # the shipped default; or "us_accurate", a folder
    for r in rec.read(["crop.jpg", "s3://bucket/key.png"]):
        print(r.source, r.status, r.plate, r.confidence)

`read` takes paths or URIs (anything fsspec opens), encoded bytes, or decoded RGB arrays
(H x W x 3 uint8, any size), and gives one `PlateResult` per input in order: a plate with its
confidences, or the status and error the job would write for it (docs/RUNNING.md). The Ray job
(`lpr-ray run`) gives the same reads at archive scale; `lpr-ray predict` is this on the
command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import DEFAULT_MAX_BYTES, MIN_HEIGHT, MIN_WIDTH, decode_crop, preprocess_bgr


@dataclass(frozen=True)
class PlateResult:
    source: str  # the path or URI, or "<bytes #i>" / "<array #i>"
    status: str  # "ok", "too_short", or an error kind (docs/RUNNING.md)
    plate: str | None = None
    confidence: float | None = None
    char_confidences: tuple[float, ...] = field(default_factory=tuple)
    error: str | None = None


class Recognizer:
    """A model loaded once (ONNX Runtime on the CPU by default), reading batches of crops."""

    def __init__(self, model: str | None = None, *, decode: str = "greedy", tta: str = "off",
                 threads: int = 0, backend: str = "onnxruntime", batch_size: int = 128) -> None:
        from lpr_ray.backends.base import BackendOptions, load_backend
        from lpr_ray.core.model import resolve_model
        from lpr_ray.core.reading import check_decode
        from lpr_ray.core.tta import check_tta

        if batch_size < 1:
            raise LprRayError(f"batch_size must be >= 1, got {batch_size}")
        check_tta(tta)
        self.spec = resolve_model(model)
        self.backend = load_backend(backend, self.spec, BackendOptions(threads=threads))
        try:
            check_decode(self.backend, self.spec.charset.characters, decode)
        except BaseException:
            self.backend.close()
            raise
        self.decode, self.tta, self.batch_size = decode, tta, batch_size

    def close(self) -> None:
        """Free the backend (its session or device memory). `with Recognizer() as r:` calls it."""
        self.backend.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def model(self) -> str:
        """The model's tag: name @ first 12 hex of the ONNX file's SHA-256 (the rows' `model`)."""
        return self.spec.tag

    def read(self, images: Iterable[str | bytes | np.ndarray]) -> list[PlateResult]:
        from lpr_ray.core.reading import read_batch

        images = list(images)
        results: list[PlateResult | None] = []
        crops: list[tuple[int, np.ndarray]] = []
        for i, item in enumerate(images):
            source, status, error, crop = _prepare(i, item)
            results.append(None if crop is not None else PlateResult(source, status, error=error))
            if crop is not None:
                crops.append((i, crop))
        chars = self.spec.charset.characters
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start : start + self.batch_size]
            reads = read_batch(self.backend, np.stack([c for _, c in chunk]), chars, self.decode, self.tta)
            for (i, _), r in zip(chunk, reads, strict=True):
                results[i] = PlateResult(
                    _source(i, images[i]),
                    "too_short" if r.too_short else "ok", r.plate, float(r.confidence),
                    tuple(float(c) for c in r.char_confidences),
                    error="fewer than 3 characters read" if r.too_short else None,
                )
        return [r for r in results if r is not None]


def _source(i: int, item) -> str:
    if isinstance(item, str):
        return item
    return f"<{'bytes' if isinstance(item, bytes | bytearray) else 'array'} #{i}>"


def _prepare(i: int, item) -> tuple[str, str, str | None, np.ndarray | None]:
    """(source, status, error, model-sized RGB crop or None)."""
    if isinstance(item, str):
        from lpr_ray.core.objects import read_object

        data, status, error = read_object(item, max_bytes=DEFAULT_MAX_BYTES)
        if status is not None:
            return item, status, error, None
        crop = decode_crop(data)
        return item, crop.status, crop.error, crop.image
    if isinstance(item, bytes | bytearray):
        crop = decode_crop(bytes(item))
        return _source(i, item), crop.status, crop.error, crop.image
    if isinstance(item, np.ndarray):
        if item.dtype != np.uint8 or item.ndim != 3 or item.shape[2] != 3:
            raise LprRayError(f"image #{i}: expected an RGB uint8 array of shape [H, W, 3], got {item.shape} {item.dtype}")
        h, w = item.shape[:2]
        if w < MIN_WIDTH or h < MIN_HEIGHT:
            return _source(i, item), "image_too_small", f"the image is {w}x{h} pixels; a plate crop needs at least {MIN_WIDTH}x{MIN_HEIGHT}", None
        return _source(i, item), "ok", None, preprocess_bgr(np.ascontiguousarray(item[:, :, ::-1]))
    raise LprRayError(f"image #{i}: expected a path or URI, bytes or an RGB array, got {type(item).__name__}")
