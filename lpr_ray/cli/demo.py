"""`lpr-ray demo`: the whole job on an embedded default, on this machine."""

from __future__ import annotations

import argparse
import logging

from lpr_ray.cli.args import non_negative_int


def execute(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from lpr_ray.demo import run_demo

    return run_demo(count=args.count, real=args.real, seed=args.seed, keep=args.keep, model=args.model,
                    region=args.region)


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the job end to end on a local S3 server with sample crops",
        description="Starts SeaweedFS on 127.0.0.1 with generated credentials, uploads "
        "synthetic plates and the real validation plates (../shared/data/us_real_val, or "
        "cn_real_val with --region cn), writes a manifest, runs the recognition job on a private "
        "local Ray with the shipped model of the region, writes Parquet back to the bucket, "
        "prints a summary, and stops the server.",
    )
    p.add_argument("--region", choices=("us", "cn"), default="us",
                   help="US plates with us_lprnet_small, or Chinese plates with cn_lprnet_small")
    p.add_argument("--count", type=non_negative_int, default=3000, help="synthetic crops to generate (default: 3000)")
    p.add_argument("--real", default=None, help="a TAO dataset of real crops to add (default: ../shared/data/us_real_val or cn_real_val)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--model", default=None, help="ONNX model file or folder, or a shipped model by name (lpr-ray models; default: the region's small model)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (data and server files)")
    p.set_defaults(func=execute)
