"""`lpr-ray export-reviews`: people's corrections as a TAO dataset to fine-tune on."""

from __future__ import annotations

import argparse

from lpr_ray.cli.args import probability

EPILOG = """\
Every image whose current verdict names a plate (corrected, or accepted as read) is written as
a PNG under OUT/images/ with its label under OUT/labels/, plus characters_list.txt: the TAO
layout `lpr-ray train --train-tao` and `lpr-ray eval --tao` read. Unreadable / not-a-plate
verdicts are left out. With --holdout, a fixed share of the images (chosen by a hash of the
URI, so later exports keep each image on its side) goes to a second dataset to evaluate on.

example (the loop: review, export, fine-tune, evaluate, re-run):
  lpr-ray export-reviews --results results/ --out corrections --holdout corrections_holdout --holdout-fraction 0.2
  lpr-ray train --out runs/site --init-from us_lprnet_small --train-tao corrections --tao-fraction 0.3 \\
      --synthetic 64000 --epochs 2 --steps-per-epoch 500 --lr 3e-4
  lpr-ray export --checkpoint runs/site/best.pt --out models/site
  lpr-ray eval corrections_holdout --model models/site
"""


def register(sub) -> None:
    p = sub.add_parser(
        "export-reviews",
        help="write reviewed reads as a TAO dataset (for train --train-tao)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", required=True, help="results root (the --output of a run)")
    p.add_argument("--out", required=True, metavar="DIR", help="new or empty folder for the TAO dataset")
    p.add_argument("--holdout", metavar="DIR", help="new or empty folder for the held-out part")
    p.add_argument("--holdout-fraction", type=probability, default=0.0,
                   help="share of the images for --holdout (default: 0; 0.2 with --holdout)")
    p.add_argument("--region", choices=["us", "cn"], default=None,
                   help="dictionary of the dataset (default: the one that holds every label)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.review.export import export_tao

    fraction = args.holdout_fraction or (0.2 if args.holdout else 0.0)
    s = export_tao(args.results, args.out, holdout=args.holdout, fraction=fraction, region=args.region)
    print(f"wrote {s.train} images to {args.out}" + (f" and {s.holdout} to {args.holdout}" if args.holdout else "")
          + f" ({s.region} dictionary)")
    if args.holdout and s.holdout == 0:
        print(f"warning: the holdout {args.holdout} is empty: {s.train} images at --holdout-fraction {fraction:g} "
              "left none out; review more reads, or raise the fraction, before evaluating on it")
    for uri, why in list(s.skipped.items())[:20]:
        print(f"  skipped {uri}: {why}")
    if len(s.skipped) > 20:
        print(f"  ... and {len(s.skipped) - 20} more skipped")
    return 0
