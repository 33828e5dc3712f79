"""Speed of the synthetic plate generator on one core.

    .venv/bin/python benchmarks/bench_synth.py [--n 2000] [--region us|cn|both]

Prints plates/s for render_batch (model inputs, what training uses) and for
write_dataset with one worker (files on disk). Pinned to one CPU when the OS allows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from lpr_ray.cli.args import positive_int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=positive_int, default=2000, help="plates per measurement")
    parser.add_argument("--repeats", type=positive_int, default=3, help="best of this many runs")
    parser.add_argument("--region", choices=("us", "cn", "both"), default="both", help="which generator(s)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from lpr_ray.synth import render_batch, write_dataset

    rows = []
    for region in ("us", "cn") if args.region == "both" else (args.region,):
        render_batch(0, 50, region)  # rasterise the fonts once
        runs = [_timed(lambda s=s, g=region: render_batch(s, args.n, g)) for s in range(1, args.repeats + 1)]
        rows.append((f"{region}: render_batch (uint8 48x96 + labels)", args.n, *map(min, zip(*runs, strict=True))))
        with tempfile.TemporaryDirectory() as tmp:
            runs = [
                _timed(lambda s=s, g=region: write_dataset(os.path.join(tmp, f"d{s}"), args.n, seed=s, region=g))
                for s in range(1, args.repeats + 1)
            ]
        rows.append(
            (f"{region}: write_dataset (workers=1, files)", args.n, *map(min, zip(*runs, strict=True)))
        )

    print(
        f"{'what':44} {'plates':>7} {'wall s':>7} {'plates/s':>9} {'CPU s':>6} {'plates/CPU-s':>13}"
    )
    for what, n, wall, cpu in rows:
        print(f"{what:44} {n:7d} {wall:7.2f} {n / wall:9.0f} {cpu:6.2f} {n / cpu:13.0f}")
    print(
        f"(one core; best of {args.repeats}; load average {os.getloadavg()[0]:.1f}: on a busy "
        "machine wall-clock plates/s undercounts, plates per CPU-second does not)"
    )


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()
