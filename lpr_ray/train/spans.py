"""How much of a crop's width the serial fills, as a model sees it: the CTC steps (of 24) at
which it emits the first and the last character. Comparing real and synthetic crops read by
the same model shows whether the generator cuts plates the way real detectors do (session
12 found synthetic serials about one step narrower than us_real_val's; MODEL_CARD.md).

    python -m lpr_ray.train.spans [--model DIR] [--val-tao URI] [--synthetic N] [--synthetic-seed S]

Needs only ONNX Runtime (the contract's best-class output). Labels are not compared, but
--val-tao is read as a TAO dataset: its images need label files to be read at all.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from lpr_ray.cli.args import non_negative_int
from lpr_ray.decode import emitted_mask

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="ONNX model folder (default: the shipped model)")
    p.add_argument("--val-tao", default=None, help="TAO dataset of real crops")
    p.add_argument("--synthetic", type=non_negative_int, default=2000, help="synthetic plates to render (0: none)")
    p.add_argument("--synthetic-seed", type=int, default=555)
    p.add_argument("--threads", type=non_negative_int, default=2)
    args = p.parse_args(argv)
    if not args.val_tao and not args.synthetic:
        p.error("nothing to measure: give --val-tao, or --synthetic N above 0")

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.model import resolve_model

    spec = resolve_model(args.model)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    sets = {}
    if args.val_tao:
        from lpr_ray.dataset import load_tao

        sets["tao"] = load_tao(args.val_tao, spec.charset).images
    if args.synthetic:
        from lpr_ray.synth import render_batch

        sets["synthetic"] = render_batch(args.synthetic_seed, args.synthetic)[0]
    result = {"model": spec.tag, "quantiles": list(QUANTILES)}
    for name, images in sets.items():
        best = np.concatenate([backend.infer(images[i : i + 256])[0] for i in range(0, len(images), 256)])
        result[name] = summary(serial_spans(best, spec.charset.blank))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
