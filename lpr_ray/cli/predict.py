"""`lpr-ray predict`: read the plates of a few images here, without Ray."""

from __future__ import annotations

import json

from lpr_ray.cli.args import DefaultsHelpFormatter, non_negative_int
from lpr_ray.reading import DECODES, TTA_HELP, TTAS


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


def _read_bytes(uri: str) -> tuple[bytes | None, str | None]:
    import fsspec

    try:
        with fsspec.open(uri, "rb") as f:
            return f.read(), None
    except (OSError, ValueError) as exc:
        return None, f"cannot read {uri}: {exc}"


def run(args) -> int:
    import numpy as np

    from lpr_ray.backends.base import BackendOptions, load_backend
    from lpr_ray.image import decode_crop
    from lpr_ray.model import resolve_model
    from lpr_ray.reading import check_decode, read_batch
    from lpr_ray.tta import check_tta

    check_tta(args.tta)
    spec = resolve_model(args.model)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    check_decode(backend, spec.charset.characters, args.decode)
    results = []
    crops = []
    for uri in args.images:
        data, problem = _read_bytes(uri)
        crop = decode_crop(data) if data is not None else None
        if crop is None or crop.status != "ok":
            results.append({"image": uri, "status": crop.status if crop else "read_error",
                            "error": crop.error if crop else problem})
        else:
            results.append({"image": uri, "status": "ok"})
            crops.append((len(results) - 1, crop.image))
    if crops:
        reads = read_batch(backend, np.stack([c for _, c in crops]), spec.charset.characters, args.decode, args.tta)
        for (i, _), r in zip(crops, reads, strict=True):
            results[i].update(plate=r.plate, confidence=round(float(r.confidence), 4),
                              char_confidences=[round(float(c), 4) for c in r.char_confidences])
    for r in results:
        if args.json:
            print(json.dumps({"model": spec.tag, **r}, ensure_ascii=False))
        elif r["status"] == "ok":
            print(f"{r['plate']:<10} {r['confidence']:.3f}  {r['image']}")
        else:
            print(f"{'-':<10} {r['status']}  {r['image']}: {r['error']}")
    return 0 if all(r["status"] == "ok" for r in results) else 1
