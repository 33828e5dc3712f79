"""Pipeline throughput: the model, a plain loop and the Ray job on the same crops, with the
model and with a stand-in recogniser (no model), and where one block's milliseconds go.

    .venv/bin/python benchmarks/bench_pipeline.py [--count 4000] [--model NAME] [--repeat 2]

Everything runs in one process, one after the other, on the same synthetic crops (`lpr-ray
synth`, seed 7), kept both in a local folder and on a local S3 server started here:
1. model only: preloaded uint8 batches through the ONNX Runtime backend (all cores);
2. plain loop: one process reads each object, decodes, batches, infers, decodes CTC (no Ray,
   no Parquet), from S3 and from the local folder;
3. Ray job: `run_job`, the real job (manifest in S3 -> Parquet in S3; local folder -> local
   Parquet), with the model and with `--backend standin`: the stand-in's rate is the
   pipeline's own ceiling;
4. one 1024-object block through each step of the job, in this process: where its ms go;
5. the Ray job's own per-stage times (Summary.stages, from Ray Data's statistics).
Prints tables; paste them into BENCHMARKS.md with machine, date and commit.
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

from lpr_ray.cli.args import positive_int, positive_int_list

BLOCK = 1024  # RunConfig.fetch_batch_size's default


def plain_loop(uris: list[str], backend, characters, batch_size: int) -> int:
    from lpr_ray.core.decode import ctc_greedy_decode
    from lpr_ray.core.image import decode_crop
    from lpr_ray.core.objects import read_object

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


def best_rate(n: int, repeat: int, fn) -> float:
    rates = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - t))
    return max(rates)


def ms_per_block(repeat: int, fn, clock=time.perf_counter) -> float:
    """Best of `repeat`, in ms; clock=time.process_time gives the CPU time of this process (all
    its threads), which is what a core pays, instead of wall time."""
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times) * 1000


def block_breakdown(uris_s3: list[str], uris_local: list[str], model: str | None, model_backend, repeat: int) -> dict[str, float]:
    """One block of BLOCK objects through each step of the job, timed in this process."""
    import pyarrow.parquet as pq
    import ray
    from ray.data.block import BlockAccessor

    from lpr_ray.core.image import decode_crop
    from lpr_ray.core.objects import read_object
    from lpr_ray.pipeline.fetch import fetch_and_decode
    from lpr_ray.pipeline.recognizer import Recognizer

    s3 = np.array(uris_s3[:BLOCK], dtype=object)
    local = np.array(uris_local[:BLOCK], dtype=object)
    blobs = [read_object(u, 64 << 20)[0] for u in s3]
    out: dict[str, float] = {}
    out["S3 GET, 16 threads (fetch task)"] = ms_per_block(repeat, lambda: fetch_and_decode_reads(s3))
    out["local file read, 16 threads"] = ms_per_block(repeat, lambda: fetch_and_decode_reads(local))
    out["decode + resize (1 thread)"] = ms_per_block(repeat, lambda: [decode_crop(b) for b in blobs])
    out["fetch task body, S3 (read + decode)"] = ms_per_block(repeat, lambda: fetch_and_decode({"uri": s3}))
    out["  its CPU time (client side, all threads)"] = ms_per_block(repeat, lambda: fetch_and_decode({"uri": s3}), time.process_time)
    out["fetch task body, local (read + decode)"] = ms_per_block(repeat, lambda: fetch_and_decode({"uri": local}))
    batch = fetch_and_decode({"uri": local})
    block = BlockAccessor.batch_to_block(batch)
    out["numpy batch -> Arrow block"] = ms_per_block(repeat, lambda: BlockAccessor.batch_to_block(batch))
    out["object store put + get (same node)"] = ms_per_block(repeat, lambda: ray.get(ray.put(block)))
    acc = BlockAccessor.for_block(block)
    out["Arrow block -> numpy batch"] = ms_per_block(repeat, lambda: acc.to_batch_format("numpy"))
    real = Recognizer(model=model, characters=None, backend="onnxruntime", run_id="bench",
                      threads=model_backend.threads)
    standin = Recognizer(model=model, characters=None, backend="standin", run_id="bench")
    images = np.ascontiguousarray(batch["image"])
    out["model inference (ONNX Runtime)"] = ms_per_block(repeat, lambda: real.backend.infer(images))
    out["stand-in inference"] = ms_per_block(repeat, lambda: standin.backend.infer(images))
    out["actor call, stand-in (CTC decode + rows)"] = ms_per_block(repeat, lambda: standin(batch))
    rows = standin(batch)
    sink = Path(tempfile.mkdtemp(prefix="lpr-bench-rows-")) / "rows.parquet"
    out["Parquet write of the rows (local)"] = ms_per_block(repeat, lambda: pq.write_table(rows, sink))
    out["decoded block size (KiB)"] = block.nbytes / 1024
    out["encoded crops of the block (KiB)"] = sum(len(b) for b in blobs) / 1024
    return out


def fetch_and_decode_reads(uris: np.ndarray) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from lpr_ray.core.objects import read_object

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda u: read_object(str(u), 64 << 20), uris))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=positive_int, default=4000)
    ap.add_argument("--model", default=None)
    ap.add_argument("--batch-size", type=positive_int, default=128)
    ap.add_argument("--fetch-batch-sizes", type=positive_int_list, default=[256, 1024],
                    help="objects per fetch task (= rows per recogniser call) to run the job with (default: 256,1024)")
    ap.add_argument("--repeat", type=positive_int, default=2, help="repetitions of each timing (the best is kept)")
    args = ap.parse_args()

    from lpr_ray.core.model import resolve_model

    spec = resolve_model(args.model)
    with tempfile.TemporaryDirectory(prefix="lpr-bench-") as tmp:
        measure(args, spec, os.cpu_count() or 1, Path(tmp))


def measure(args, spec, cpus: int, work: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.dataset import list_tao, load_tao_arrays
    from lpr_ray.local.s3server import LocalS3
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import connect_ray, run_job
    from lpr_ray.synth import write_dataset

    data = work / "crops"
    write_dataset(str(data), args.count, seed=7)
    images, _, _ = load_tao_arrays(str(data), spec.charset)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=cpus))
    standin = load_backend("standin", spec)
    chars = spec.charset.characters
    rates: dict[str, float] = {}
    loops: dict[str, float] = {}

    backend.infer(images[: args.batch_size])  # warm-up
    rates["model only (preloaded batches)"] = best_rate(len(images), args.repeat, lambda: [
        backend.infer(images[s : s + args.batch_size]) for s in range(0, len(images), args.batch_size)])
    local_uris = [s.uri for s in list_tao(str(data))]

    with LocalS3(root_dir=str(work / "s3")) as s3:
        s3.create_bucket("bench")
        s3.upload_dir(str(data), "s3://bench/crops")
        os.environ.update(s3.env())
        uris = [f"s3://bench/crops/{os.path.relpath(u, data)}" for u in local_uris]
        pq.write_table(pa.table({"uri": uris}), work / "m.parquet")
        s3.put("s3://bench/manifest.parquet", (work / "m.parquet").read_bytes())

        n = len(uris)
        for source, us in (("S3", uris), ("local", local_uris)):
            loops[source] = rates[f"plain loop, {source}, model"] = best_rate(
                n, args.repeat, lambda us=us: plain_loop(us, backend, chars, args.batch_size))
            rates[f"plain loop, {source}, stand-in"] = best_rate(
                n, args.repeat, lambda us=us: plain_loop(us, standin, chars, args.batch_size))

        # Ray started beforehand and the best run kept: worker start-up is paid once per
        # cluster, not per job.
        connect_ray()
        stages = {}
        jobs = [("S3", "s3://bench/manifest.parquet", "s3://bench/out"), ("local", str(data), str(work / "out"))]
        for source, src, dst in jobs:
            for name, be in (("model", "auto"), ("stand-in", "standin")):
                for block in args.fetch_batch_sizes:
                    best = None
                    for i in range(max(2, args.repeat)):
                        summary = run_job(RunConfig(input=src, output=f"{dst}-{be}-{block}-{i}", model=args.model,
                                                    backend=be, batch_size=args.batch_size, fetch_batch_size=block,
                                                    progress_s=0))
                        if best is None or summary.plates_per_second > best.plates_per_second:
                            best = summary
                    rates[f"Ray job, {source}, {name}, blocks {block}"] = best.plates_per_second
                    stages[f"{source}, {name}, {block}"] = (getattr(best, "stages", {}), best.timings)
        breakdown = block_breakdown(uris, local_uris, args.model, backend, max(3, args.repeat))

    print(f"\nmachine: {platform.node()} {platform.processor() or platform.machine()}, {cpus} CPUs; "
          f"commit {git_commit()}; model {spec.tag}; {args.count} crops; batch {args.batch_size}; "
          f"S3 = SeaweedFS on 127.0.0.1 on the same CPUs\n")
    print(f"| {'what':44} | {'plates/s':>9} | {'per CPU':>8} | {'vs plain loop, same source':>26} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 10}|{'-' * 28}|")
    for name, v in rates.items():
        source = "S3" if ", S3," in name else "local" if ", local," in name else None
        ratio = f"{v / loops[source]:.2f}x" if source else ""
        print(f"| {name:44} | {v:9.0f} | {v / cpus:8.0f} | {ratio:>26} |")

    print(f"\nOne block of {min(BLOCK, args.count)} objects, each step timed alone in one process (best of "
          f"{max(3, args.repeat)}):\n")
    print(f"| {'step':42} | {'ms per block':>12} | {'µs per object':>13} |")
    print(f"|{'-' * 44}|{'-' * 14}|{'-' * 15}|")
    for name, v in breakdown.items():
        if "KiB" in name:
            print(f"| {name:42} | {v:12.0f} | {'':>13} |")
        else:
            print(f"| {name:42} | {v:12.1f} | {v * 1000 / min(BLOCK, args.count):13.0f} |")

    print("\nThe Ray job's stages (best run; Summary.stages, from Ray Data's statistics): ms per task\n")
    print(f"| {'job':22} | {'stage':28} | {'tasks':>5} | {'rows/task':>9} | {'task ms':>8} | "
          f"{'our fn ms':>9} | {'to/from batch ms':>16} | {'span s':>6} |")
    print(f"|{'-' * 24}|{'-' * 30}|{'-' * 7}|{'-' * 11}|{'-' * 10}|{'-' * 11}|{'-' * 18}|{'-' * 8}|")
    for job, (st, timings) in stages.items():
        for stage, s in st.items():
            t = s["tasks"]
            print(f"| {job:22} | {stage[:28]:28} | {t:5d} | {s['rows'] / t:9.0f} | {s['task_s'] * 1000 / t:8.1f} | "
                  f"{s['udf_s'] * 1000 / t:9.1f} | {(s['to_batch_s'] + s['to_block_s']) * 1000 / t:16.1f} | "
                  f"{s['span_s']:6.2f} |")
        print(f"| {job:22} | {'(run: plan/process/commit s)':28} | | | | | | "
              f"{timings.get('plan', 0):.2f}/{timings.get('process', 0):.2f}/{timings.get('commit', 0):.2f} |")


if __name__ == "__main__":
    main()
