"""Model-only throughput with ONNX Runtime on this machine's CPUs, both architectures, one run.

    .venv/bin/python benchmarks/bench_models.py [--batch-sizes 1,8,32,128,256] [--seconds 3]
        [--model DIR [--model DIR2 ...]]

The default model is the shipped ONNX (lpr_ray/assets/); --model (repeatable) measures
exported model folders instead, side by side in the same run. baseline18 (NVIDIA's
architecture) is exported from random weights, which costs the same to run. Inputs are
preloaded uint8 batches, as the recogniser actor receives them (normalisation included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from common import git_commit

from lpr_ray.cli.args import non_negative_int, positive_float, positive_int_list


def throughput(backend, batch: np.ndarray, seconds: float) -> float:
    backend.infer(batch)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        backend.infer(batch)
        n += len(batch)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", type=positive_int_list, default="1,8,32,128,256")
    ap.add_argument("--seconds", type=positive_float, default=3.0, help="time per measurement")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="ORT threads (0: all cores)")
    ap.add_argument("--model", action="append", default=None,
                    help="ONNX model folder, repeatable (default: the shipped model)")
    args = ap.parse_args()

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.charset import US
    from lpr_ray.core.model import ModelSpec, file_sha256, resolve_model
    from lpr_ray.models import create_model
    from lpr_ray.models.flops import count_flops, count_params
    from lpr_ray.train.export import export_onnx

    specs, archs = {}, {}
    for folder in args.model or [None]:
        spec = resolve_model(folder)
        # The exported model's config.json says which architecture it is.
        arch = json.loads((Path(spec.onnx_path).parent / "config.json").read_text())["arch"]
        key = f"{arch} ({spec.name})"
        if key in specs:  # two folders of the same name: tell them apart by path
            key = f"{arch} ({folder})"
        specs[key], archs[key] = spec, arch
    rows = {}
    sizes = args.batch_sizes
    with tempfile.TemporaryDirectory(prefix="lpr-benchm-") as work:
        b18 = Path(work) / "baseline18.onnx"
        export_onnx(create_model("baseline18", US.num_classes), b18)
        specs["baseline18 (NVIDIA arch)"] = ModelSpec(str(b18), US, "baseline18", file_sha256(str(b18)))
        archs["baseline18 (NVIDIA arch)"] = "baseline18"
        rng = np.random.default_rng(0)
        for name, spec in specs.items():
            backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
            rows[name] = [
                throughput(backend, rng.integers(0, 256, (bs, 48, 96, 3), dtype=np.uint8), args.seconds)
                for bs in sizes
            ]
            del backend  # the session holds the ONNX file's memory; the folder goes next
    gflops = {k: count_flops(create_model(a, US.num_classes)) / 1e9 for k, a in archs.items()}
    params = {k: count_params(create_model(a, US.num_classes)) / 1e6 for k, a in archs.items()}
    commit = git_commit()
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} CPUs; commit {commit}; "
          f"onnxruntime CPU, threads={args.threads or 'all'}\n")
    head = " | ".join(f"bs {s:>4}" for s in sizes)
    print(f"| model | params (M) | GFLOP/plate | {head} | best |")
    print("|---|---:|---:|" + "---:|" * (len(sizes) + 1))
    for name, vals in rows.items():
        cells = " | ".join(f"{v:7.0f}" for v in vals)
        print(f"| {name} | {params[name]:.2f} | {gflops[name]:.3f} | {cells} | {max(vals):.0f} |")
    big = max(rows["baseline18 (NVIDIA arch)"])
    print()
    for name, vals in rows.items():
        if archs[name] != "baseline18":
            print(f"ratio at best batch: {name} / baseline18 = {max(vals) / big:.1f}x (plates/s)")


if __name__ == "__main__":
    main()
