"""GPU inference on one CUDA GPU: the torch backend, both architectures, FP16 and FP32, one run.

    python benchmarks/bench_gpu.py [--batch-sizes 128,256,512,1024,2048,4096] [--seconds 2]
        [--val-tao ../shared/data/us_real_val] [--e2e-copies 100] [--e2e-workers 14]
        [--json results.json]

It measures, in one process on one GPU:
  1. Model-only plates/s of the shipped model and of baseline18 (random weights: same cost)
     at each batch size, FP16 and FP32: through TorchBackend.infer (uint8 NHWC numpy in,
     numpy out: the host-to-device copy and the read-back included, as an actor sees it) and
     "resident" (the images already on the GPU: the captured CUDA graph alone). Peak GPU
     memory of each backend.
  2. FP16 against FP32 decoded plates on a TAO folder, both against ONNX Runtime FP32 on the
     CPU, and each one's accuracy against the labels.
  3. End to end without Ray (Ray is not installed on the lent machine): the TAO folder's image
     files copied --e2e-copies times, fetch_and_decode (the job's CPU stage) in a process pool,
     one Recognizer (the job's actor class, torch FP16, batch 128) on the GPU. Plates/s and
     where the time goes.

`--device cpu --batch-sizes 8 --seconds 0.2 --e2e-copies 1` runs it on a CPU to check the
script itself; the numbers then mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from common import git_commit

from lpr_ray.cli.args import non_negative_int, positive_float, positive_int, positive_int_list


def timed_rate(step, n_per_step: int, seconds: float, sync=lambda: None) -> float:
    step()
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += n_per_step
    sync()
    return n / (time.perf_counter() - t0)


def model_folders(work: Path) -> dict[str, Path]:
    """The shipped model's folder and a baseline18 folder (ONNX + model.pt) with random weights."""
    import torch

    from lpr_ray.core.charset import US
    from lpr_ray.core.model import resolve_model
    from lpr_ray.models import create_model
    from lpr_ray.train.export import export_onnx

    shipped = Path(resolve_model(None).onnx_path).parent
    arch = json.loads((shipped / "config.json").read_text())["arch"]
    b18 = work / "baseline18"
    b18.mkdir()
    torch.manual_seed(0)
    model = create_model("baseline18", US.num_classes).eval()
    export_onnx(model, b18 / "model.onnx")
    (b18 / "characters_list.txt").write_text(US.to_text(), encoding="utf-8")
    torch.save({"arch": "baseline18", "characters": list(US.characters), "model": model.state_dict()}, b18 / "model.pt")
    return {f"{arch} (shipped)": shipped, "baseline18": b18}


def throughput_rows(folders, batch_sizes, precisions, device, seconds) -> list[dict]:
    import torch

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.model import resolve_model

    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for name, folder in folders.items():
        spec = resolve_model(str(folder))
        for precision in precisions:
            for bs in batch_sizes:
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                be = load_backend("torch", spec, BackendOptions(device=device, precision=precision, batch_size=bs))
                imgs = np.random.default_rng(bs).integers(0, 256, (bs, 48, 96, 3), dtype=np.uint8)
                row = {"model": name, "precision": be.precision, "batch": bs, "describe": be.describe()}
                row["infer_plates_s"] = timed_rate(lambda b=be, x=imgs: b.infer(x), bs, seconds)
                if cuda and be.graph is not None:
                    be.static_in.copy_(torch.from_numpy(imgs))
                    row["resident_plates_s"] = timed_rate(be.graph.replay, bs, seconds, sync)
                if cuda:
                    row["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
                rows.append(row)
                print(f"  {name:34s} {be.precision} batch {bs:5d}: infer {row['infer_plates_s']:>11,.0f}/s"
                      f"  resident {row.get('resident_plates_s', float('nan')):>11,.0f}/s"
                      f"  peak {row.get('peak_gpu_mib', 0):7.0f} MiB", flush=True)
                del be
    return rows


def agreement(folder: Path, val_tao: str, device: str) -> dict:
    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.dataset import load_tao_arrays
    from lpr_ray.core.decode import ctc_greedy_decode
    from lpr_ray.core.model import resolve_model

    spec = resolve_model(str(folder))
    chars = tuple(spec.charset.characters)
    images, labels, _ = load_tao_arrays(val_tao, spec.charset)
    plates = {}
    for key, name, opts in [
        ("onnxruntime_fp32_cpu", "onnxruntime", BackendOptions(threads=4)),
        ("torch_fp32", "torch", BackendOptions(device=device, precision="fp32")),
        ("torch_fp16", "torch", BackendOptions(device=device, precision="fp16")),
    ]:
        best, prob = load_backend(name, spec, opts).infer(images)
        plates[key] = [r.plate for r in ctc_greedy_decode(best, prob, chars)]
    same = lambda a, b: float(np.mean([x == y for x, y in zip(plates[a], plates[b], strict=True)]))  # noqa: E731
    out = {
        "images": len(images),
        "fp16_vs_fp32_identical": same("torch_fp16", "torch_fp32"),
        "fp16_vs_onnxruntime_identical": same("torch_fp16", "onnxruntime_fp32_cpu"),
        "fp32_vs_onnxruntime_identical": same("torch_fp32", "onnxruntime_fp32_cpu"),
    }
    for key, got in plates.items():
        out[f"accuracy_{key}"] = float(np.mean([g == lab for g, lab in zip(got, labels, strict=True)]))
    out["fp16_fp32_differences"] = [
        (lab, a, b) for lab, a, b in zip(labels, plates["torch_fp32"], plates["torch_fp16"], strict=True) if a != b
    ]
    return out


def _decode_batch(uris: list[str]) -> tuple[dict, float]:
    from lpr_ray.pipeline.fetch import fetch_and_decode

    t0 = time.process_time()
    batch = fetch_and_decode({"uri": np.array(uris, dtype=object)}, threads=1)
    return batch, time.process_time() - t0


def end_to_end(val_tao: str, copies: int, workers: int, device: str, work: Path) -> dict:
    import lpr_ray.pipeline.recognizer as recognizer_module
    from lpr_ray.core.dataset import list_tao
    from lpr_ray.pipeline.recognizer import Recognizer

    src = [Path(s.uri) for s in list_tao(val_tao)]
    files = work / "e2e"
    files.mkdir()
    uris = []
    for c in range(copies):
        for p in src:
            dst = files / f"{c:04d}_{p.name}"
            shutil.copyfile(p, dst)
            uris.append(str(dst))
    batches = [uris[i : i + 128] for i in range(0, len(uris), 128)]
    rec = Recognizer(model=None, characters=None, backend="torch", run_id="bench", batch_size=128, precision="fp16")
    assert rec.backend.name == "torch" and device in str(rec.backend.device), rec.backend.describe()
    # Split the actor's time: wrap the backend's infer and the row builder with timers.
    spent = {"infer": 0.0, "read_batch": 0.0, "build_rows": 0.0}

    def timed(key, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t
        return wrapper

    rec.backend.infer = timed("infer", rec.backend.infer)
    originals = {name: getattr(recognizer_module, name) for name in ("read_batch", "build_rows")}
    for name, fn in originals.items():
        setattr(recognizer_module, name, timed(name, fn))
    try:
        return _run_end_to_end(rec, uris, batches, workers, spent)
    finally:
        for name, fn in originals.items():  # later parts and callers see the real functions
            setattr(recognizer_module, name, fn)


def _run_end_to_end(rec, uris: list[str], batches: list[list[str]], workers: int, spent: dict) -> dict:
    rows, rec_s, decode_cpu_s, decoded = 0, 0.0, 0.0, []
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_decode_batch, [[u] for u in uris[:workers]]))  # start and import in every worker
        t0 = time.perf_counter()
        for batch, cpu in pool.map(_decode_batch, batches):
            decode_cpu_s += cpu
            r0 = time.perf_counter()
            rows += rec(batch).num_rows
            rec_s += time.perf_counter() - r0
            decoded.append(batch)
        wall = time.perf_counter() - t0
    n_batches = len(batches)

    def split(call_s: float) -> dict:
        ms = lambda sec: round(sec / n_batches * 1e3, 3)  # noqa: E731 - per batch of 128
        return {
            "recogniser_call": ms(call_s),
            "backend_infer": ms(spent["infer"]),
            "ctc_decode": ms(spent["read_batch"] - spent["infer"]),
            "build_rows": ms(spent["build_rows"]),
            "rest_of_call": ms(call_s - spent["read_batch"] - spent["build_rows"]),
        }

    pipelined = split(rec_s)
    # The same batches again with nothing else in the process: the main process above also
    # receives the workers' batches (a pool thread unpickling them, holding the GIL).
    spent.update(dict.fromkeys(spent, 0.0))
    r0 = time.perf_counter()
    for batch in decoded:
        rec(batch)
    alone_s = time.perf_counter() - r0
    return {
        "ms_per_batch": pipelined,
        "ms_per_batch_actor_alone": split(alone_s),
        "plates": rows, "files": len(uris), "workers": workers, "wall_s": wall,
        "plates_per_s": rows / wall,
        "recogniser_busy_fraction": rec_s / wall,
        "recogniser_alone_plates_per_s": rows / rec_s,
        "recogniser_no_concurrent_decode_plates_per_s": rows / alone_s,
        "decode_plates_per_cpu_s": rows / decode_cpu_s,
        "backend": rec.backend.describe(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", type=positive_int_list, default="128,256,512,1024,2048,4096")
    ap.add_argument("--seconds", type=positive_float, default=2.0, help="time per measurement")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--val-tao", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "us_real_val"))
    ap.add_argument("--e2e-copies", type=non_negative_int, default=100, help="copies of the TAO folder's images (0: skip)")
    ap.add_argument("--e2e-workers", type=positive_int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument("--parts", default="throughput,agreement,end_to_end", help="which measurements, comma-separated")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--commit", help="the commit measured (default: git rev-parse HEAD)")
    args = ap.parse_args()

    import torch

    from lpr_ray.core.model import resolve_model

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        # Every part would fail (or quietly measure the CPU): say why once, and fail.
        sys.exit(f"bench_gpu: torch {torch.__version__} sees no CUDA GPU (--device {args.device}); "
                 "run this on the GPU machine, or give --device cpu to try the script itself")

    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": args.commit or git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "torch": torch.__version__,
        "shipped_model": resolve_model(None).tag,
    }
    print(json.dumps(result), flush=True)
    work = Path(tempfile.mkdtemp(prefix="lpr-benchgpu-"))
    parts = {
        "throughput": lambda: throughput_rows(
            folders, args.batch_sizes, ("fp16", "fp32"), args.device, args.seconds
        ),
        "agreement": lambda: agreement(folders[next(iter(folders))], args.val_tao, args.device),
        "end_to_end": lambda: end_to_end(args.val_tao, args.e2e_copies, args.e2e_workers, args.device, work)
        if args.e2e_copies > 0 else None,
    }
    wanted = args.parts.split(",")
    unknown = sorted(set(wanted) - set(parts))
    if unknown:
        ap.error(f"--parts: unknown {unknown}; expected some of {sorted(parts)}")
    try:
        folders = model_folders(work)
        for key, fn in parts.items():
            if key not in wanted:
                continue
            print(f"== {key}", flush=True)
            t0 = time.perf_counter()
            try:
                result[key] = fn()
            except Exception as exc:  # noqa: BLE001 - one failed part must not lose the others' numbers
                result[key] = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(result[key], default=str)[:3000], f"({time.perf_counter() - t0:.0f} s)", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if torch.cuda.is_available():
        print(subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"],
                             capture_output=True, text=True).stdout)
    failed = [k for k in wanted if isinstance(result.get(k), dict) and "error" in result[k]]
    if failed:
        sys.exit(f"bench_gpu: {', '.join(failed)} failed (see above); the other parts' numbers are kept")


if __name__ == "__main__":
    main()
