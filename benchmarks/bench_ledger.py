"""What an incremental run pays before it reads anything: the listing minus the ledger, at N keys.

    .venv/bin/python benchmarks/bench_ledger.py --sizes 1000000 10000000

For each N: a committed ledger of N objects in Parquet files of 1M rows (as N/1M runs would
leave), and a listing of N + 1% new objects with 0.1% changed ETags (Parquet too, read by each
measurement first: a run holds its listing anyway). Each way is measured in its own process, so
its peak RSS is its own:
- `duckdb`: lpr_ray.results.incremental.new_objects, what the job runs (the ledger streams from
  Parquet into DuckDB's join, which spills past its memory limit, 1 GB);
- `arrow`: the previous way, the whole ledger read into Arrow (read_ledger) and joined by Acero.
Prints a Markdown table (BENCHMARKS.md "Ledger").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lpr_ray.cli.args import positive_int  # noqa: E402
from lpr_ray.results.incremental import MEMORY_LIMIT, new_objects  # noqa: E402
from lpr_ray.results.ledger import ledger_rows, read_ledger  # noqa: E402

MODEL = "us_lprnet_small@0123456789ab"
PER_FILE = 1_000_000


def keys(start: int, n: int, seed: int) -> pa.Table:
    """uri like a real archive key (~70 bytes) and a 32-hex ETag."""
    idx = np.arange(start, start + n)
    uris = pa.array(
        [f"s3://lot-archive/site{i % 50:02d}/cam{i % 8}/2026-{1 + i % 12:02d}-{1 + i % 28:02d}/{i:010d}.jpg" for i in idx]
    )
    rng = np.random.default_rng(seed)
    etags = pa.array(rng.integers(0, 2**63, size=n, dtype=np.int64)).cast(pa.string())
    etags = pc.binary_join_element_wise(etags, pa.scalar("0" * 14), "")  # ~32 characters like an MD5
    return pa.table({"uri": uris, "version": etags, "etag": etags})


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def prepare(n: int, work: str) -> tuple[list[str], str, int]:
    """Ledger files, the listing's Parquet file, and how many objects are new or changed."""
    ledger_dir = os.path.join(work, f"ledger-{n}")
    os.makedirs(ledger_dir)
    files, parts = [], []
    for k, start in enumerate(range(0, n, PER_FILE)):
        t = keys(start, min(PER_FILE, n - start), seed=k)
        path = os.path.join(ledger_dir, f"run{k:04d}.parquet")
        pq.write_table(ledger_rows(t, MODEL, f"run{k:04d}"), path)
        files.append(path)
        changed = np.zeros(t.num_rows, bool)
        changed[(-start) % 1000 :: 1000] = True  # every 1000th object of the archive
        parts.append(t.set_column(1, "version", pc.if_else(pa.array(changed), pa.scalar("changed"),
                                                             t.column("version"))))
    parts.append(keys(n, n // 100, seed=99))
    listing = os.path.join(work, f"listing-{n}.parquet")
    pq.write_table(pa.concat_tables(parts), listing)
    return files, listing, n // 100 + -(-n // 1000)


def measure(way: str, files: list[str], listing_path: str) -> dict:
    """In a child process: read the listing, then find the new objects WAY."""
    listing = pq.read_table(listing_path)
    rss_listing = rss_gb()
    t0 = time.perf_counter()
    if way == "duckdb":
        new = new_objects("/", files, MODEL, listing)
    else:
        done = read_ledger("/", files, MODEL)
        new = listing.join(done, keys=["uri", "version"], join_type="left anti", use_threads=True)
    return {"seconds": time.perf_counter() - t0, "new": new.num_rows, "rss_listing_gb": rss_listing,
            "peak_rss_gb": rss_gb()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--ways", nargs="+", choices=("duckdb", "arrow"), default=["duckdb", "arrow"])
    ap.add_argument("--work", default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--child", nargs=2, metavar=("WAY", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child[1])
        print(json.dumps(measure(args.child[0], spec["files"], spec["listing"])))
        return 0
    work = args.work or tempfile.mkdtemp(prefix="bench-ledger-")
    rows = []
    try:
        for n in sorted(args.sizes):
            files, listing, expect = prepare(n, work)
            mb = sum(os.path.getsize(f) for f in files) / 1e6
            spec = json.dumps({"files": files, "listing": listing})
            for way in args.ways:
                out = subprocess.run([sys.executable, __file__, "--child", way, spec], capture_output=True,
                                     text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                assert r["new"] == expect, (way, r["new"], expect)
                rows.append({"n": n, "files": len(files), "mb": mb, "way": way, **r})
            shutil.rmtree(os.path.join(work, f"ledger-{n}"))
            os.remove(listing)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; pyarrow {pa.__version__}; "
          f"DuckDB memory limit {MEMORY_LIMIT}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"bench {hashlib.sha256(open(__file__, 'rb').read()).hexdigest()[:8]}")
    print("| objects in ledger | ledger files | ledger Parquet MB | way | seconds | new found | "
          "RSS after reading the listing (GB) | peak RSS (GB) |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['files']} | {r['mb']:.0f} | {r['way']} | {r['seconds']:.2f} | {r['new']:,} | "
              f"{r['rss_listing_gb']:.2f} | {r['peak_rss_gb']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
