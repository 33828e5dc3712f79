"""`lpr-ray spans`: at which of the 24 CTC steps a model emits a serial's first and last
character, on real and synthetic crops (lpr_ray/train/spans.py): whether the generator cuts
plates the way real detectors do."""

from __future__ import annotations

import argparse
import json

from lpr_ray.cli.args import DefaultsHelpFormatter, non_negative_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "spans",
        help="where a model emits a serial's first and last character (real vs synthetic crops)",
        description="Quantiles of the CTC steps (of 24) at which a model emits a plate's first and last "
        "character, and of their distance, on a TAO dataset and on synthetic plates. Needs only ONNX "
        "Runtime; labels are not compared, but --val-tao is read as a TAO dataset (images with label files).",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--model", default=None, help="ONNX model folder or shipped model name (default: the shipped default)")
    p.add_argument("--val-tao", default=None, help="TAO dataset of real crops")
    p.add_argument("--synthetic", type=non_negative_int, default=2000, help="synthetic plates to render (0: none)")
    p.add_argument("--synthetic-seed", type=int, default=555)
    p.add_argument("--threads", type=non_negative_int, default=2)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    if not args.val_tao and not args.synthetic:
        args.parser.error("nothing to measure: give --val-tao, or --synthetic N above 0")
    import numpy as np

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.model import resolve_model
    from lpr_ray.train.spans import QUANTILES, serial_spans, summary

    spec = resolve_model(args.model)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    sets = {}
    if args.val_tao:
        from lpr_ray.core.dataset import load_tao

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
