"""Accuracy of a torch model on uint8 image arrays (greedy CTC, like the ONNX pipeline)."""

from __future__ import annotations

import numpy as np

from lpr_ray.core.decode import ctc_greedy_decode
from lpr_ray.core.errors import require
from lpr_ray.core.metrics import edit_distance

torch = require("torch", "train")


def predict(model, images: np.ndarray, characters, device, batch_size: int = 256):
    """Plate reads (lpr_ray.core.decode.PlateRead) of uint8 [N, 48, 96, 3] images."""
    was_training = model.training
    model.eval()
    reads = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size])).to(device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            probs = torch.softmax(model(x), dim=-1)
            top, best = probs.max(dim=-1)
            reads.extend(ctc_greedy_decode(best.cpu().numpy(), top.cpu().numpy(), characters))
    model.train(was_training)
    return reads


def summarize(reads, labels, threshold: float = 0.9) -> dict:
    n = len(labels)
    correct = np.array([r.plate == lab for r, lab in zip(reads, labels, strict=True)])
    conf = np.array([r.confidence for r in reads])
    errs = sum(edit_distance(r.plate, lab) for r, lab in zip(reads, labels, strict=True))
    chars = sum(len(lab) for lab in labels)
    sure = conf >= threshold
    return {
        "count": n,
        "accuracy": float(correct.mean()) if n else 0.0,
        "char_accuracy": max(0.0, 1.0 - errs / max(1, chars)),
        f"coverage@{threshold}": float(sure.mean()) if n else 0.0,
        f"precision@{threshold}": float(correct[sure].mean()) if sure.any() else None,
    }


def evaluate(model, images, labels, characters, device, batch_size: int = 256) -> tuple[dict, list]:
    reads = predict(model, images, characters, device, batch_size)
    return summarize(reads, labels), reads


def describe(name: str, m: dict) -> str:
    """One log line's worth of a summarize() result."""
    p = m.get("precision@0.9")
    return (
        f"val[{name}] acc {m['accuracy']:.2%} char {m['char_accuracy']:.2%} "
        f"prec@0.9 {'-' if p is None else f'{p:.2%}'} cov@0.9 {m['coverage@0.9']:.1%}"
    )
