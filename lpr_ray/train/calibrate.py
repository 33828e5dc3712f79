"""Temperature scaling of plate confidences, fitted on held-out synthetic plates only.

Dividing the logits by T > 1 leaves every argmax (every read plate) unchanged and lowers
over-confident probabilities. The export can bake T into the graph (`--temperature`), so
the contract's `tf_op_layer_Max` and the plate confidence (their product) are calibrated.
T is chosen to minimise the Brier score of plate confidence against plate correctness.
"""

from __future__ import annotations

import numpy as np

from lpr_ray.core.decode import ctc_greedy_decode
from lpr_ray.core.errors import require

torch = require("torch", "train")

GRID = tuple(round(t, 2) for t in np.arange(0.8, 3.01, 0.05))


def logits_of(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model = model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size]))
            out.append(model(x.permute(0, 3, 1, 2).float() / 255).numpy())
    return np.concatenate(out)


def plate_confidences(logits: np.ndarray, characters, temperature: float):
    z = logits / temperature
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    best = p.argmax(-1).astype(np.int32)
    top = np.take_along_axis(p, best[..., None], -1)[..., 0]
    reads = ctc_greedy_decode(best, top, characters)
    return [r.plate for r in reads], np.array([r.confidence for r in reads])


def fit_temperature(logits: np.ndarray, labels, characters, grid=GRID) -> tuple[float, dict]:
    plates, _ = plate_confidences(logits, characters, 1.0)
    correct = np.array([p == lab for p, lab in zip(plates, labels, strict=True)], dtype=np.float64)
    scores = {}
    for t in grid:
        _, conf = plate_confidences(logits, characters, t)
        scores[t] = float(np.mean((conf - correct) ** 2))
    best = min(scores, key=scores.get)
    return float(best), {"brier_at_1": scores.get(1.0), "brier": scores[best], "accuracy": float(correct.mean())}
