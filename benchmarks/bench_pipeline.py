"""Pipeline throughput: model only vs a plain loop vs the Ray job, on the same crops.

    .venv/bin/python benchmarks/bench_pipeline.py [--count 4000] [--model PATH] [--repeat 3]

1. model only: preloaded uint8 batches through the ONNX Runtime backend (all cores);
2. plain loop: one process reads each object from the local S3 server, decodes, batches,
   infers, decodes CTC (no Ray, no Parquet);
3. Ray job: `run_job` from the same S3 server to Parquet in the same bucket.
Prints a table and the ratios; paste it into BENCHMARKS.md with machine, date and commit.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from common import git_commit

from lpr_ray.cli.args import positive_int


def plain_loop(uris: list[str], backend, characters, batch_size: int) -> int:
    from lpr_ray.decode import ctc_greedy_decode
    from lpr_ray.image import decode_crop
    from lpr_ray.objects import read_object

    n_rows, batch = 0, []

    def flush():
        if batch:
            best, prob = backend.infer(np.stack(batch))
            ctc_greedy_decode(best, prob, characters)
            batch.clear()

    for uri in uris:
        data, status, _ = read_object(uri, 64 << 20)
        crop = decode_crop(data) if status is None else None
        if crop is not None and crop.image is not None:
            batch.append(crop.image)
            if len(batch) == batch_size:
                flush()
        n_rows += 1
    flush()
    return n_rows


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=positive_int, default=4000)
    ap.add_argument("--model", default=None)
    ap.add_argument("--batch-size", type=positive_int, default=128)
    ap.add_argument("--repeat", type=positive_int, default=3, help="repetitions of the model-only and loop timings")
    args = ap.parse_args()

    from lpr_ray.model import resolve_model

    spec = resolve_model(args.model)
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="lpr-bench-") as tmp:
        measure(args, spec, cpus, Path(tmp))


def measure(args, spec, cpus: int, work: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.dataset import list_tao, load_tao_arrays
    from lpr_ray.local.s3server import LocalS3
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import connect_ray, run_job
    from lpr_ray.synth import write_dataset

    data = work / "crops"
    write_dataset(str(data), args.count, seed=7)
    images, _, _ = load_tao_arrays(str(data), spec.charset)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=cpus))

    results = {}
    # 1. model only
    backend.infer(images[: args.batch_size])  # warm-up
    best = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for s in range(0, len(images), args.batch_size):
            backend.infer(images[s : s + args.batch_size])
        best.append(len(images) / (time.perf_counter() - t))
    results["model only (preloaded batches)"] = max(best)

    with LocalS3(root_dir=str(work / "s3")) as s3:
        s3.create_bucket("bench")
        s3.upload_dir(str(data), "s3://bench/crops")
        os.environ.update(s3.env())
        uris = [f"s3://bench/crops/{os.path.relpath(s.uri, data)}" for s in list_tao(str(data))]
        pq.write_table(pa.table({"uri": uris}), work / "m.parquet")
        s3.put("s3://bench/manifest.parquet", (work / "m.parquet").read_bytes())
        # Where the plain loop's time goes: reading alone, decoding alone.
        from lpr_ray.image import decode_crop
        from lpr_ray.objects import read_object

        t = time.perf_counter()
        blobs = [read_object(u, 64 << 20)[0] for u in uris]
        results["  of which: S3 GET only (sequential)"] = len(uris) / (time.perf_counter() - t)
        t = time.perf_counter()
        for b in blobs:
            decode_crop(b)
        results["  of which: decode + resize only"] = len(uris) / (time.perf_counter() - t)
        # 2. plain loop
        best = []
        weed = s3._proc.pid
        server_cpu = {}
        for _ in range(args.repeat):
            t, c = time.perf_counter(), cpu_seconds(weed)
            n = plain_loop(uris, backend, spec.charset.characters, args.batch_size)
            best.append(n / (time.perf_counter() - t))
            server_cpu["plain loop"] = (cpu_seconds(weed) - c) / n * 1000
        results["plain loop (S3 read + decode + infer)"] = max(best)
        # 3. Ray job; Ray started beforehand and the best of the runs kept, so that Ray's
        # start-up (worker processes, paid once per cluster, not per job) is not counted.
        connect_ray()
        runs = []
        for i in range(max(2, args.repeat)):
            c = cpu_seconds(weed)
            summary = run_job(
                RunConfig(input="s3://bench/manifest.parquet", output=f"s3://bench/out{i}", model=args.model,
                          batch_size=args.batch_size)
            )
            runs.append(summary.plates_per_second)
            server_cpu["Ray job"] = (cpu_seconds(weed) - c) / summary.rows * 1000
            print(f"Ray job run {i}: {summary.plates_per_second:.0f} plates/s, timings {summary.timings}")
        results["Ray job (S3 -> Parquet in S3)"] = max(runs)

    commit = git_commit()
    loop = results["plain loop (S3 read + decode + infer)"]
    print(f"\nmachine: {platform.node()} {platform.processor() or platform.machine()}, {cpus} CPUs; "
          f"commit {commit}; model {spec.tag}; {args.count} crops; batch {args.batch_size}\n")
    print(f"| {'stage':40} | {'plates/s':>9} | {'vs plain loop':>13} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 15}|")
    for name, v in results.items():
        print(f"| {name:40} | {v:9.0f} | {v / loop:12.2f}x |")
    print("\nS3 server (SeaweedFS, same 2 cores) CPU per object: "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in server_cpu.items()))


if __name__ == "__main__":
    main()
