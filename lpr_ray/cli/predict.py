"""`lpr-ray predict`: read the plates of a few images here, without Ray."""

from __future__ import annotations

import json
import os

from lpr_ray.cli.args import DefaultsHelpFormatter, non_negative_int
from lpr_ray.core.reading import DECODES, TTA_HELP, TTAS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="read the plates of image files here (no Ray): plate, confidence, per-character confidences",
        description=(
            "Read plate crops (local paths or any fsspec URL) with a model in this process, without "
            "starting Ray: for trying a model on a few images. Each image gives one line (or JSON "
            "object): its plate and confidence, or the reason it could not be read."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or URIs")
    p.add_argument("--model", default=None, help="ONNX model file or folder, or a shipped model by name "
                   "(lpr-ray models; default: us_lprnet_small)")
    p.add_argument("--decode", choices=DECODES, default="greedy", help="greedy (NVIDIA's) or grammar (US formats)")
    p.add_argument("--tta", choices=TTAS, default="off", help=TTA_HELP)
    p.add_argument("--threads", type=non_negative_int, default=0, help="CPU threads (0: all cores)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=run)


def run(args) -> int:
    from lpr_ray.inference.recognizer import Recognizer

    rec = Recognizer(args.model, decode=args.decode, tta=args.tta, threads=args.threads)
    results = rec.read(args.images)
    for r in results:
        if args.json:
            print(json.dumps({"model": rec.model, "image": r.source, "status": r.status,
                              **({"error": r.error + _folder_hint(r)} if r.error else {}),
                              **({"plate": r.plate, "confidence": round(r.confidence, 4),
                                  "char_confidences": [round(c, 4) for c in r.char_confidences]}
                                 if r.plate is not None else {})}, ensure_ascii=False))
        elif r.plate is not None:
            print(f"{r.plate:<10} {r.confidence:.3f}  {r.source}")
        else:
            print(f"{'-':<10} {r.status}  {r.source}: {r.error}{_folder_hint(r)}")
    return 0 if all(r.plate is not None for r in results) else 1


def _folder_hint(r) -> str:
    if r.status == "not_a_file" and os.path.isdir(r.source):
        return f" (`lpr-ray run --input {r.source} --output OUT` reads every image under a folder)"
    return ""
