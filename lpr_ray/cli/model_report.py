"""`lpr-ray model-report`: the measured numbers of a model card (lpr_ray/train/report.py):
accuracy of an exported model through ONNX Runtime on a TAO dataset and on held-out synthetic
plates, with confidence coverage and precision, and model-only plates/s at a few batch sizes."""

from __future__ import annotations

import argparse
import json

from lpr_ray.cli.args import (
    DefaultsHelpFormatter,
    non_negative_int,
    positive_float,
    positive_int_list,
)
from lpr_ray.core.reading import DECODES, TTAS


def register(subparsers) -> None:
    from lpr_ray.train.config import DEFAULT_VAL_SEED

    p = subparsers.add_parser(
        "model-report",
        help="a model card's numbers: accuracy on real and synthetic plates, plates/s",
        description="Accuracy of an exported model (ONNX Runtime) on a TAO dataset and on held-out "
        "synthetic plates (full plate, characters, coverage and precision at confidence thresholds, "
        "the misreads), and model-only plates/s at a few batch sizes. Prints a JSON summary; --json "
        "also writes the misreads.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="ONNX model folder or shipped model name")
    p.add_argument("--val-tao", default=None, help="TAO dataset to measure on")
    p.add_argument("--synthetic", type=non_negative_int, default=2000, help="held-out synthetic plates (0: none)")
    p.add_argument("--synthetic-seed", type=int, default=DEFAULT_VAL_SEED)
    p.add_argument("--threads", type=non_negative_int, default=2)
    p.add_argument("--batch-sizes", type=lambda t: positive_int_list(t) if t.strip() else [], default="1,32,128,256",
                   help="batch sizes to time ONNX Runtime at (empty: no speed measurement)")
    p.add_argument("--seconds", type=positive_float, default=3.0)
    p.add_argument("--json", default=None, help="also write the whole result, misreads included, here")
    p.add_argument("--decode", choices=DECODES, default="greedy", help="how reads are decoded (lpr_ray.core.reading)")
    p.add_argument("--tta", choices=TTAS, default="off", help="test-time views (lpr_ray.core.tta)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.atomic import atomic_open
    from lpr_ray.core.model import resolve_model
    from lpr_ray.core.reading import check_decode
    from lpr_ray.train.report import accuracy, errors, read_all, throughput

    spec = resolve_model(args.model)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    chars = spec.charset.characters
    check_decode(backend, chars, args.decode)
    result: dict = {"model": spec.tag, "decode": args.decode, "tta": args.tta}
    if args.val_tao:
        from lpr_ray.core.dataset import load_tao_arrays

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
        result["ort_plates_per_s"] = {"threads": args.threads,
                                      **throughput(spec, tuple(args.batch_sizes), args.threads, args.seconds)}
    text = json.dumps(result, indent=2)
    if args.json:
        with atomic_open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_errors")}, indent=2))
    return 0
