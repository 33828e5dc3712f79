"""Measured numbers for a model card: accuracy of an exported ONNX model (through the
pipeline's ONNX Runtime backend) on a TAO dataset and on held-out synthetic plates, and its
model-only throughput at a few batch sizes.

    lpr-ray model-report --model DIR [--val-tao URI] [--synthetic N] [--json OUT]
        [--decode greedy|grammar] [--tta off|zoom3]
"""

from __future__ import annotations

import time

import numpy as np

from lpr_ray.backends import BackendOptions, load_backend
from lpr_ray.core.metrics import edit_distance
from lpr_ray.core.reading import read_batch


def read_all(backend, images: np.ndarray, characters, batch_size: int = 256, decode: str = "greedy", tta: str = "off"):
    reads = []
    for i in range(0, len(images), batch_size):
        reads.extend(read_batch(backend, images[i : i + batch_size], characters, decode, tta))
    return reads


def accuracy(reads, labels, thresholds=(0.5, 0.9, 0.95)) -> dict:
    correct = np.array([r.plate == lab for r, lab in zip(reads, labels, strict=True)])
    conf = np.array([r.confidence for r in reads])
    errs = sum(edit_distance(r.plate, lab) for r, lab in zip(reads, labels, strict=True))
    out = {
        "count": len(labels),
        "full_plate_accuracy": float(correct.mean()),
        "char_accuracy": max(0.0, 1 - errs / max(1, sum(len(lab) for lab in labels))),
    }
    for t in thresholds:
        sel = conf >= t
        out[f"coverage@{t}"] = float(sel.mean())
        out[f"precision@{t}"] = float(correct[sel].mean()) if sel.any() else None
    return out


def errors(reads, labels, uris=None, limit: int = 50) -> list[dict]:
    rows = []
    for i, (r, lab) in enumerate(zip(reads, labels, strict=True)):
        if r.plate != lab:
            rows.append({"label": lab, "read": r.plate, "confidence": round(r.confidence, 4),
                         **({"uri": uris[i]} if uris else {})})
    return rows[:limit]


def throughput(spec, batch_sizes=(1, 32, 128, 256), threads: int = 2, seconds: float = 3.0) -> dict:
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=threads))
    rng = np.random.default_rng(0)
    out = {}
    for b in batch_sizes:
        x = rng.integers(0, 256, size=(b, 48, 96, 3), dtype=np.uint8)
        backend.infer(x)
        best = 0.0
        for _ in range(3):  # best of 3 short runs: the machine is shared
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / 3:
                backend.infer(x)
                n += b
            best = max(best, n / (time.perf_counter() - t0))
        out[str(b)] = round(best)
    return out
