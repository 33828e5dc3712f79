"""What the ledger costs: reading it and the anti-join that picks new objects, at N keys.

    .venv/bin/python benchmarks/bench_ledger.py --sizes 1000000 10000000

For each N: a committed ledger of N objects in Parquet files of 1M rows (as N/1M runs would
leave), and a listing of N + 1% new objects with 0.1% changed ETags. Measures the Parquet bytes
per object, the time to read the ledger (uri, version for one model: lpr_ray.results.ledger.
read_ledger) and to anti-join (lpr_ray.results.ledger.anti_join), and the peak RSS of the
process. Prints a Markdown table (BENCHMARKS.md "Ledger").
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import resource
import shutil
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lpr_ray.cli.args import positive_int
from lpr_ray.results.ledger import anti_join, ledger_rows, read_ledger  # noqa: E402

MODEL = "us_lprnet_small@0123456789ab"


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


def bench(n: int, work: str) -> dict:
    per_file = 1_000_000
    ledger_dir = os.path.join(work, f"ledger-{n}")
    os.makedirs(ledger_dir)
    files = []
    for k, start in enumerate(range(0, n, per_file)):
        t = keys(start, min(per_file, n - start), seed=k)
        path = os.path.join(ledger_dir, f"run{k:04d}.parquet")
        pq.write_table(ledger_rows(t, MODEL, f"run{k:04d}"), path)
        files.append(path)
        del t
    size = sum(os.path.getsize(f) for f in files)
    gc.collect()
    t0 = time.perf_counter()
    done = read_ledger(work, files, MODEL)
    t_read = time.perf_counter() - t0
    # Candidates: the same objects (0.1% with a new ETag) + 1% new ones.
    cand = pa.concat_tables([keys(start, min(per_file, n - start), seed=k)
                             for k, start in enumerate(range(0, n, per_file))])
    changed = np.zeros(n, bool)
    changed[:: 1000] = True
    version = pc.if_else(pa.array(changed), pa.scalar("changed"), cand.column("version"))
    cand = cand.set_column(1, "version", version)
    cand = pa.concat_tables([cand, keys(n, n // 100, seed=99)])
    t0 = time.perf_counter()
    new = anti_join(cand, done)
    t_join = time.perf_counter() - t0
    expect = n // 100 + int(changed.sum())
    assert new.num_rows == expect, (new.num_rows, expect)
    out = {"n": n, "files": len(files), "bytes_per_object": size / n, "ledger_mb": size / 1e6,
           "read_s": t_read, "join_s": t_join, "new": new.num_rows, "peak_rss_gb": rss_gb(),
           "arrow_mb": (done.nbytes + cand.nbytes) / 1e6}
    del done, cand, new
    shutil.rmtree(ledger_dir)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--work", default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="bench-ledger-")
    try:
        rows = [bench(n, work) for n in sorted(args.sizes)]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; pyarrow {pa.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"bench {hashlib.sha256(open(__file__, 'rb').read()).hexdigest()[:8]}")
    print("| objects in ledger | files | Parquet MB | bytes/object | read ledger (s) | anti-join (s) | new found | Arrow MB in memory | peak RSS (GB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['files']} | {r['ledger_mb']:.0f} | {r['bytes_per_object']:.1f} | {r['read_s']:.2f} | "
              f"{r['join_s']:.2f} | {r['new']:,} | {r['arrow_mb']:.0f} | {r['peak_rss_gb']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
