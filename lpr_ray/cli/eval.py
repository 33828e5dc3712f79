"""`lpr-ray eval`: accuracy of a model on a labelled TAO dataset."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from lpr_ray.cli.args import non_negative_int, positive_int
from lpr_ray.core.reading import DECODES, TTA_HELP, TTAS


def execute(args: argparse.Namespace) -> int:
    from lpr_ray.inference.evaluate import evaluate_dataset

    ev = evaluate_dataset(
        args.dataset, args.model, args.characters, args.backend, args.batch_size, args.threads, args.decode,
        args.tta, progress=True,
    )
    wrong = [(r, lab, u) for r, lab, u in zip(ev.reads, ev.labels, ev.uris, strict=True) if r.plate != lab]
    if args.json:
        out = {
            "model": ev.model.tag, "dataset": args.dataset, "decode": ev.decode, "tta": ev.tta,
            "skipped": ev.skipped, **asdict(ev.report),
        }
        if args.show_errors:
            out["misreads"] = [
                {"label": lab, "read": r.plate, "confidence": r.confidence, "uri": u}
                for r, lab, u in wrong[: args.show_errors]
            ]
        print(json.dumps(out, indent=2))
    else:
        print(f"model {ev.model.tag} on {args.dataset} ({ev.decode} decoding{'' if ev.tta == 'off' else f', {ev.tta} views'})")
        if ev.skipped:
            from lpr_ray.core.dataset import counts_text

            print(f"{sum(ev.skipped.values())} images left out (not counted below): {counts_text(ev.skipped)}")
        print(ev.report.format())
        if args.show_errors:
            print(f"\nmisreads ({len(wrong)}):")
            for r, lab, u in wrong[: args.show_errors]:
                print(f"  {lab:>10} read {r.plate!r:>12} conf {r.confidence:.3f}  {u}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="accuracy of a model on a labelled TAO dataset",
        description="Full-plate and character accuracy, accuracy/coverage at confidence "
        "thresholds, a reliability table, accuracy by source crop width and character "
        "confusions, on a TAO dataset (images/, labels/; local path or any fsspec URL).",
    )
    p.add_argument("dataset", help="TAO dataset folder or URI")
    p.add_argument("--model", default=None, help="ONNX model file or folder, or a shipped model by name (lpr-ray models; default: us_lprnet_small)")
    p.add_argument("--characters", default=None, help="characters_list.txt (default: beside the model)")
    p.add_argument("--backend", default="onnxruntime", help="inference backend (default: onnxruntime)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="plates per model call (default: 128)")
    p.add_argument("--threads", type=non_negative_int, default=0, help="CPU threads (0, the default: all cores)")
    p.add_argument(
        "--decode", choices=DECODES, default="greedy",
        help="greedy: NVIDIA's CTC decoding (default); grammar: also weigh US plate formats to "
        "choose letters vs digits (needs a model with a softmax output, as `lpr-ray export` writes)",
    )
    p.add_argument("--tta", choices=TTAS, default="off", help=TTA_HELP)
    p.add_argument("--show-errors", type=non_negative_int, default=0, metavar="N", help="list up to N misreads (with --json: as \"misreads\")")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=execute)
