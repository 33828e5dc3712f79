"""`lpr-ray synth`: write a TAO-layout dataset of synthetic US or Chinese licence plates."""

from __future__ import annotations

import os
import sys
import time

from lpr_ray.cli.args import DefaultsHelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="write a dataset of synthetic US or Chinese licence plates (TAO layout)",
        description=(
            "Render synthetic licence-plate crops and write them as a TAO-layout dataset: "
            "OUT/images/NNNNNN.jpg|png at their source size, OUT/labels/NNNNNN.txt and "
            "OUT/characters_list.txt (NVIDIA's dictionary of the region). --region us: many "
            "states' formats, mostly California's 1ABC234, in shipped plate fonts, with frames, "
            "stickers and slogans. --region cn: blue, yellow, green new-energy (8 characters), "
            "white police (警) and learner (学) plates in the standard layout, provinces in "
            "proportion to China's registered vehicles, in the plate typeface and open CJK fonts. "
            "Both: perspective, blur, noise, lighting and JPEG. The same --seed always gives "
            "the same plates, whatever --workers is."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--count", type=int, required=True, help="number of plates to write")
    p.add_argument(
        "--out", required=True, help="dataset folder to create (must not exist, or be empty)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the plate stream")
    p.add_argument("--region", choices=("us", "cn"), default="us", help="plates of the United States or of China")
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes rendering plates in parallel",
    )
    p.add_argument("--quiet", action="store_true", help="do not print progress")
    p.set_defaults(func=run)


def run(args) -> int:
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.synth import write_dataset

    if args.count < 1:
        raise LprRayError(f"--count must be at least 1, got {args.count}")
    if args.workers < 1:
        raise LprRayError(f"--workers must be at least 1, got {args.workers}")
    started = time.monotonic()
    write_dataset(args.out, args.count, args.seed, region=args.region, workers=args.workers, progress=not args.quiet)
    if not args.quiet:
        elapsed = time.monotonic() - started
        print(
            f"wrote {args.count} plates to {args.out} in {elapsed:.1f} s "
            f"({args.count / max(elapsed, 1e-9):.0f} plates/s)",
            file=sys.stderr,
        )
    return 0
