"""Query latency of `lpr_ray.results.query` (DuckDB over the committed Parquet) on synthetic results.

    .venv/bin/python benchmarks/bench_query.py [--rows 20000000] [--root DIR] [--repeat 3]
                                              [--keep] [--write-md BENCHMARKS.md]

Generates a results root laid out as docs/LAYOUT.md says (data files under hive partitions
`run_date=/site=`, a commit record and a summary per run) with vectorised numpy/pyarrow code:
plates drawn from a pool of distinct plates (cars come back), 7 characters of the US alphabet,
per-character confidences whose product is the plate confidence, a few error rows and labels.
Then times exact, wildcard, fuzzy, review and statistics queries through the Python API (the
same code the CLI runs) and prints a table; --write-md puts it in BENCHMARKS.md's "Query"
section (replacing an older one). An existing root with the same row count is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from common import git_commit

from lpr_ray.cli.args import positive_int

ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ", dtype=np.uint8)  # no O
PLATE_LEN = 7
ROWS_PER_FILE = 100_000  # lpr-ray run's --rows-per-file default: one row group per file
RUN_ROWS = 1_000_000
SITES = ["lot1", "lot2", "lot3", "lot4"]


def _strings(codes: np.ndarray) -> pa.Array:
    """(N, L) uint8 ASCII codes -> a string array, without a Python loop."""
    n, width = codes.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes).tobytes()))


def make_file(rng: np.random.Generator, pool: np.ndarray, n: int, run_id: str, start: datetime, file_no: int) -> pa.Table:
    from lpr_ray.results.table import SCHEMA

    plates_codes = pool[rng.integers(0, len(pool), n)]  # each car comes back about 10 times
    char_conf = (1.0 - rng.beta(0.6, 12.0, size=(n, PLATE_LEN))).astype(np.float32)
    conf = char_conf.prod(axis=1, dtype=np.float32)
    u = rng.random(n)
    status = np.where(u < 0.01, "not_an_image", np.where(u < 0.03, "too_short", "ok"))
    is_err = status == "not_an_image"
    mask_err = pa.array(is_err)
    null_str = pa.scalar(None, pa.string())
    plate = pc.if_else(mask_err, null_str, _strings(plates_codes))
    has_label = pa.array((rng.random(n) < 0.05) & ~is_err)
    label = pc.if_else(has_label, plate, null_str)
    correct = pc.if_else(has_label, pa.array(rng.random(n) < np.clip(conf * 1.05, 0, 1)),
                         pa.scalar(None, pa.bool_()))
    idx = np.arange(file_no * ROWS_PER_FILE, file_no * ROWS_PER_FILE + n)
    uri = pc.binary_join_element_wise(
        f"s3://lot-archive/{run_id}/", pc.cast(pa.array(idx), pa.string()), ".jpg", ""
    )
    offsets = np.arange(0, n * PLATE_LEN + 1, PLATE_LEN, dtype=np.int32)
    char_list = pa.ListArray.from_arrays(pa.array(offsets), pa.array(char_conf.ravel()))
    seconds = np.sort(rng.integers(0, 86_400, n))
    ts = np.datetime64(start.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]")
    cols = {
        "uri": uri,
        "plate": plate,
        "confidence": pc.if_else(mask_err, pa.scalar(None, pa.float32()), pa.array(conf)),
        "char_confidences": pc.if_else(mask_err, pa.scalar([], pa.list_(pa.float32())), char_list),
        "status": pa.array(status),
        "error": pc.if_else(mask_err, "not an image: the bytes are not a JPEG, PNG or BMP", null_str),
        "label": label,
        "correct": correct,
        "width": pa.array(rng.integers(60, 300, n).astype(np.int32)),
        "height": pa.array(rng.integers(20, 120, n).astype(np.int32)),
        "model": pa.repeat(pa.scalar("lprnet_small@0123456789ab"), n),
        "backend": pa.repeat(pa.scalar("tensorrt"), n),
        "run_id": pa.repeat(pa.scalar(run_id), n),
        "processed_at": pa.array(ts, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
    }
    return pa.table(cols).cast(SCHEMA)


def generate(root: Path, rows: int, seed: int = 0) -> None:
    """Like `lpr-ray run` writes: files of ROWS_PER_FILE rows (its --rows-per-file default),
    one row group each, a run per RUN_ROWS rows (one day each) spread over SITES."""
    rng = np.random.default_rng(seed)
    pool = ALPHABET[rng.integers(0, len(ALPHABET), size=(max(1000, rows // 10), PLATE_LEN))]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    commits = []
    done, f = 0, 0
    t = time.perf_counter()
    while done < rows:
        n = min(ROWS_PER_FILE, rows - done)
        run_no = done // RUN_ROWS
        site = SITES[f % len(SITES)]
        run_id = f"bench-{run_no:03d}"
        day = t0 + timedelta(days=run_no)
        rel = f"data/run_date={day:%Y-%m-%d}/site={site}/{run_id}-{f}.parquet"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(make_file(rng, pool, n, run_id, day, f), path, row_group_size=ROWS_PER_FILE)
        if not commits or commits[-1]["run_id"] != run_id:
            commits.append({"run_id": run_id, "files": [], "rows": 0, "day": day})
            print(f"  {done:,} rows written ({time.perf_counter() - t:.0f}s)", flush=True)
        commits[-1]["files"].append(rel)
        commits[-1]["rows"] += n
        done += n
        f += 1
    for seq, c in enumerate(commits, start=1):
        (root / "_commits").mkdir(exist_ok=True)
        rec = {
            "seq": seq, "run_id": c["run_id"], "committed_at": f"{c['day']:%Y-%m-%dT23:59:59Z}",
            "model": "lprnet_small@0123456789ab", "files": c["files"],
            "ledger": f"_ledger/{c['run_id']}.parquet", "rows": c["rows"], "by_status": {},
        }
        (root / "_commits" / f"{seq:012d}.json").write_text(json.dumps(rec))
        run_dir = root / "_runs" / c["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "summary.json").write_text(
            json.dumps({"run_id": c["run_id"], "rows": c["rows"], "seconds": c["rows"] / 3500.0,
                        "plates_per_second": 3500.0})
        )
    (root / "_bench.json").write_text(json.dumps({"rows": rows, "seed": seed}))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=positive_int, default=20_000_000)
    ap.add_argument("--root", default=None, help="where to generate the results (default: a temp dir)")
    ap.add_argument("--repeat", type=positive_int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated root")
    ap.add_argument("--write-md", default=None, metavar="FILE", help="write the table into FILE's Query section")
    ap.add_argument("--s3", action="store_true", help="also time the queries on a local S3 server (uploads the root)")
    ap.add_argument("--note", default="", help="a line added under the table (e.g. what else ran)")
    args = ap.parse_args()

    tmp = None
    if args.root:
        root = Path(args.root)
    else:
        tmp = tempfile.mkdtemp(prefix="bench-query-")
        root = Path(tmp) / "results"
    try:
        meta = root / "_bench.json"
        if root.exists() and any(root.iterdir()) and not meta.exists():
            # Only a folder this benchmark generated may be regenerated: --root pointed at
            # real results would otherwise be deleted.
            sys.exit(f"bench_query: --root {root} is not empty and was not made by this benchmark "
                     "(no _bench.json): give an empty or new folder")
        if meta.exists() and json.loads(meta.read_text()).get("rows") == args.rows:
            print(f"reusing {root} ({args.rows:,} rows)")
        else:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            print(f"generating {args.rows:,} rows under {root} ...", flush=True)
            t = time.perf_counter()
            generate(root, args.rows)
            print(f"generated in {time.perf_counter() - t:.0f}s", flush=True)
        size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        n_files = len(list(root.rglob("*.parquet")))
        tables = [("local disk", *time_queries(str(root), args.repeat))]
        if args.s3:
            tables.append(("local S3 server (SeaweedFS on 127.0.0.1)", *time_on_s3(root, args.repeat)))

        import duckdb
        import pyarrow

        env = (
            f"Machine: {_cpu()}, {os.cpu_count()} cores ({platform.system()} {platform.release()}); "
            f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {git_commit()}; "
            f"duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}."
        )
        md = []
        for where, open_s, n_committed, results in tables:
            md += [
                f"**{where}**: {args.rows:,} rows in {n_files} Parquet files ({size / 1e9:.2f} GB), "
                f"{n_committed} committed; opening (reading the commit records, creating the view): "
                f"{open_s:.2f}s.",
                "",
                f"| query | rows returned | first (s) | best of {args.repeat} (s) |",
                "|---|---:|---:|---:|",
                *[f"| {name} | {n:,} | {first:.2f} | {best:.2f} |" for name, n, first, best in results],
                "",
            ]
        print()
        print(env)
        print("\n".join(md + ([args.note] if args.note else [])))
        if args.write_md:
            section = "\n".join(
                [
                    "## Query",
                    "",
                    f"`benchmarks/bench_query.py --rows {args.rows}{' --s3' if args.s3 else ''}`: "
                    "`lpr_ray.results.query` (what `lpr-ray query` and `lpr-ray report` run) over a synthetic "
                    "results root (docs/LAYOUT.md). Local roots are read by DuckDB's Parquet reader, "
                    "object storage through a pyarrow dataset registered in DuckDB.",
                    "",
                    env,
                    "",
                    *md,
                ]
                + ([args.note, ""] if args.note else [])
            )
            _write_section(Path(args.write_md), section)
            print(f"\nwrote the Query section of {args.write_md}")
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def time_queries(uri: str, repeat: int):
    from lpr_ray.results import query

    t = time.perf_counter()
    res = query.Results(uri)
    open_s = time.perf_counter() - t
    # a plate that exists (each plate of the pool is seen about 10 times)
    some = res.sql("SELECT plate FROM results WHERE plate IS NOT NULL LIMIT 1").column(0)[0].as_py()
    cases = [
        ("count(*)", lambda: query.sql(res, "SELECT count(*) FROM results")),
        (f"exact {some}", lambda: query.find_plates(res, some)),
        (f"wildcard {some[:3]}*{some[-1]}", lambda: query.find_plates(res, f"{some[:3]}*{some[-1]}")),
        (f"wildcard {some[:2]}?{some[3:]}", lambda: query.find_plates(res, f"{some[:2]}?{some[3:]}")),
        (f"fuzzy {some}", lambda: query.find_plates(res, some, mode="fuzzy")),
        ("review < 0.5, limit 1000", lambda: query.review(res, threshold=0.5, limit=1000)),
        ("stats per run", lambda: query.stats_per_run(res)),
        ("stats per partition", lambda: query.stats_per_partition(res)),
        ("stats per day", lambda: query.stats_per_partition(res, by=["day"])),
    ]
    results = []
    print(f"{uri}: opened in {open_s:.2f}s", flush=True)
    for name, fn in cases:
        times, n = [], 0
        for _ in range(repeat):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
            n = out.num_rows
        results.append((name, n, times[0], min(times)))
        print(f"  {name:<32} {n:>8,} rows  first {times[0]:6.2f}s  best {min(times):6.2f}s", flush=True)
    n_committed = len(res.files)
    res.close()
    return open_s, n_committed, results


def time_on_s3(root: Path, repeat: int):
    from lpr_ray.local.s3server import LocalS3

    with tempfile.TemporaryDirectory(prefix="bench-query-s3-") as d, LocalS3(d, bucket="bench") as s3:
        os.environ.update(s3.env())
        t = time.perf_counter()
        s3.upload_dir(root, "s3://bench/results")
        print(f"uploaded to s3://bench/results in {time.perf_counter() - t:.0f}s", flush=True)
        return time_queries("s3://bench/results", repeat)


def _write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Query"), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = "\n".join(lines[:start] + section.rstrip("\n").splitlines() + [""] + lines[end:])
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
