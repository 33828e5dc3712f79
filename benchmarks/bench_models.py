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
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def throughput(backend, batch: np.ndarray, seconds: float) -> float:
    backend.infer(batch)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        backend.infer(batch)
        n += len(batch)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", default="1,8,32,128,256")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--threads", type=int, default=0, help="ORT threads (0: all cores)")
    ap.add_argument("--model", action="append", default=None,
                    help="ONNX model folder, repeatable (default: the shipped model)")
    args = ap.parse_args()

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.charset import US
    from lpr_ray.export import export_onnx
    from lpr_ray.model import ModelSpec, file_sha256, resolve_model
    from lpr_ray.models import create_model
    from lpr_ray.models.flops import count_flops, count_params

    work = Path(tempfile.mkdtemp(prefix="lpr-benchm-"))
    specs, archs = {}, {}
    for folder in args.model or [None]:
        spec = resolve_model(folder)
        # The exported model's config.json says which architecture it is.
        arch = json.loads((Path(spec.onnx_path).parent / "config.json").read_text())["arch"]
        specs[f"{arch} ({spec.name})"] = spec
        archs[f"{arch} ({spec.name})"] = arch
    b18 = work / "baseline18.onnx"
    export_onnx(create_model("baseline18", US.num_classes), b18)
    specs["baseline18 (NVIDIA arch)"] = ModelSpec(str(b18), US, "baseline18", file_sha256(str(b18)))
    archs["baseline18 (NVIDIA arch)"] = "baseline18"
    gflops = {k: count_flops(create_model(a, US.num_classes)) / 1e9 for k, a in archs.items()}
    params = {k: count_params(create_model(a, US.num_classes)) / 1e6 for k, a in archs.items()}
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    rng = np.random.default_rng(0)
    rows = {}
    for name, spec in specs.items():
        backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
        rows[name] = [
            throughput(backend, rng.integers(0, 256, (bs, 48, 96, 3), dtype=np.uint8), args.seconds)
            for bs in sizes
        ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
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
