"""Measured numbers for a model card: accuracy of an exported ONNX model (through the
pipeline's ONNX Runtime backend) on a TAO dataset and on held-out synthetic plates, and its
model-only throughput at a few batch sizes.

    python -m lpr_ray.train.report --model DIR [--val-tao URI] [--synthetic N] [--json OUT]
        [--decode greedy|grammar] [--tta off|zoom3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from lpr_ray.backends import BackendOptions, load_backend
from lpr_ray.cli.args import non_negative_int, positive_float, positive_int_list
from lpr_ray.metrics import edit_distance
from lpr_ray.model import resolve_model
from lpr_ray.reading import DECODES, TTAS, check_decode, read_batch
from lpr_ray.train.config import DEFAULT_VAL_SEED


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--val-tao", default=None)
    p.add_argument("--synthetic", type=non_negative_int, default=2000)
    p.add_argument("--synthetic-seed", type=int, default=DEFAULT_VAL_SEED)
    p.add_argument("--threads", type=non_negative_int, default=2)
    p.add_argument("--batch-sizes", type=lambda t: positive_int_list(t) if t.strip() else [], default="1,32,128,256",
                   help="batch sizes to time ONNX Runtime at (empty: no speed measurement)")
    p.add_argument("--seconds", type=positive_float, default=3.0)
    p.add_argument("--json", default=None)
    p.add_argument("--decode", choices=DECODES, default="greedy", help="how reads are decoded (lpr_ray.reading)")
    p.add_argument("--tta", choices=TTAS, default="off", help="test-time views (lpr_ray.tta)")
    args = p.parse_args(argv)
    spec = resolve_model(args.model)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    chars = spec.charset.characters
    check_decode(backend, chars, args.decode)
    result: dict = {"model": spec.tag, "decode": args.decode, "tta": args.tta}
    if args.val_tao:
        from lpr_ray.dataset import load_tao_arrays

        images, labels, uris = load_tao_arrays(args.val_tao, spec.charset)
        reads = read_all(backend, images, chars, decode=args.decode, tta=args.tta)
        result["tao"] = {"uri": args.val_tao, **accuracy(reads, labels)}
        result["tao_errors"] = errors(reads, labels, uris, limit=200)
    if args.synthetic:
        from lpr_ray.train.data import synthetic_validation_set

        images, labels = synthetic_validation_set(args.synthetic, args.synthetic_seed, spec.charset)
        reads = read_all(backend, images, chars, decode=args.decode, tta=args.tta)
        result["synthetic"] = {"seed": args.synthetic_seed, **accuracy(reads, labels)}
        result["synthetic_errors"] = errors(reads, labels, limit=30)
    if args.batch_sizes:
        result["ort_plates_per_s"] = {"threads": args.threads, **throughput(spec, tuple(args.batch_sizes), args.threads, args.seconds)}
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    summary = {k: v for k, v in result.items() if not k.endswith("_errors")}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
