"""Before a release: a seeded fuzz run of the real job over hostile archives, for a few minutes.

    .venv/bin/python benchmarks/bench_fuzz.py [--minutes 3] [--objects 2000] [--seed 1]

Each round writes a local archive of --objects crops mutated by tests/hostile.py
(`make_fuzzed_objects`: bytes flipped, inserted and cut in headers and data, fuzzed header
sizes in JPEG, PNG, BMP, GIF, WebP and TIFF) plus the stray-byte JPEG bombs, `_SUCCESS`,
`.DS_Store`, a FIFO and links, runs `run_job` on a private local Ray with the shipped default
model, and counts the objects that do not have exactly one row. The release condition is a
zero in the last column. Prints a Markdown table (BENCHMARKS.md "Hostile archives").
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import REPO, git_commit

sys.path.insert(0, str(REPO / "tests"))

from lpr_ray.cli.args import positive_float, positive_int  # noqa: E402


def write_archive(root: Path, seed: int, count: int) -> list[str]:
    from hostile import make_fuzzed_objects, make_hostile_objects

    (root / "links").mkdir(parents=True)
    for name, data in make_fuzzed_objects(seed=seed, count=count):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, data, _ in make_hostile_objects(seed=seed):
        if "_before_sof_" in name or name.startswith("toolarge/"):
            path = root / "bombs" / Path(name).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    (root / "_SUCCESS").write_bytes(b"")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    os.mkfifo(root / "links" / "fifo.jpg")
    (root / "links" / "to_folder").symlink_to(root / "bombs")
    (root / "links" / "outside.jpg").symlink_to("/etc/hostname")
    return sorted(str(p) for p in root.rglob("*") if p.is_symlink() or not p.is_dir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=positive_float, default=3.0, help="keep starting rounds for this long")
    ap.add_argument("--objects", type=positive_int, default=2000, help="mutated crops per round")
    ap.add_argument("--seed", type=positive_int, default=1, help="seed of the first round (then +1 each)")
    args = ap.parse_args()

    import pyarrow.dataset as pads

    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import run_job
    from lpr_ray.results.table import read_results

    print(f"# bench_fuzz: {platform.node()}, {os.cpu_count()} CPUs, commit {git_commit()}, "
          f"{time.strftime('%Y-%m-%d')}, {args.objects} mutated crops a round\n")
    print("| seed | objects | rows | seconds | ok | not_an_image | truncated | too large | other | without exactly one row |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    t_end = time.monotonic() + 60 * args.minutes
    seed, failures = args.seed, 0
    while time.monotonic() < t_end:
        work = Path(tempfile.mkdtemp(prefix="lpr-fuzz-"))
        try:
            uris = write_archive(work / "archive", seed, args.objects)
            t0 = time.perf_counter()
            summary = run_job(RunConfig(input=str(work / "archive"), output=str(work / "out"), run_id=f"fuzz{seed}"))
            seconds = time.perf_counter() - t0
            rows = read_results(str(work / "out"), filter=pads.field("run_id") == summary.run_id,
                                columns=["uri", "status"]).to_pylist()
            per_uri = Counter(r["uri"] for r in rows)
            wrong = sum(per_uri.get(u, 0) != 1 for u in uris) + sum(1 for u in per_uri if u not in set(uris))
            failures += wrong
            st = Counter(r["status"] for r in rows)
            other = len(rows) - st["ok"] - st["too_short"] - st["not_an_image"] - st["truncated_image"] - st["image_too_large"]
            print(f"| {seed} | {len(uris)} | {len(rows)} | {seconds:.1f} | {st['ok'] + st['too_short']} | "
                  f"{st['not_an_image']} | {st['truncated_image']} | {st['image_too_large']} | {other} | {wrong} |",
                  flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        seed += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the driver {peak:.0f} MB; objects without exactly one row: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
