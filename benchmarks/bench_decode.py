"""Greedy vs format-aware (`--decode grammar`) decoding: decode alone and model + decode;
and what test-time views (`--tta zoom3`: three model passes and a vote) cost.

    .venv/bin/python benchmarks/bench_decode.py [--seconds 3] [--batch-size 128] [--threads 0]

Images: us_real_val (../shared/data, when present) and 2000 held-out synthetic plates (seed
7919), so the decoders see real output distributions (grammar's cost grows with the number
of steps where a letter and a digit are both plausible). The shipped model on ONNX Runtime;
one process, the measurements interleaved, best of three; ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from common import git_commit

from lpr_ray.cli.args import non_negative_int, positive_float, positive_int

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "us_real_val"


def rate(fn, items: int, seconds: float) -> float:
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += items
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=positive_float, default=3.0, help="time per measurement")
    ap.add_argument("--batch-size", type=positive_int, default=128)
    ap.add_argument("--threads", type=non_negative_int, default=0, help="ORT threads (0: all cores)")
    args = ap.parse_args()

    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.charset import US
    from lpr_ray.core.dataset import load_tao
    from lpr_ray.core.decode import ctc_greedy_decode
    from lpr_ray.core.grammar import grammar_decode, us_class_prior
    from lpr_ray.core.model import resolve_model
    from lpr_ray.core.reading import read_batch
    from lpr_ray.synth import render_batch

    spec = resolve_model(None)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=args.threads))
    chars = US.characters
    us_class_prior()  # built once per process: not part of the rate
    sets = {"synthetic (seed 7919)": render_batch(7919, 2000)[0]}
    if REAL.exists():
        sets["us_real_val"] = load_tao(str(REAL), spec.charset).images
    b = args.batch_size
    rows = []
    for name, images in sets.items():
        batches = [images[i : i + b] for i in range(0, len(images), b)]
        probs = [backend.infer_probs(x) for x in batches]
        contract = [(p.argmax(-1).astype(np.int32), p.max(-1)) for p in probs]

        def greedy_only(contract=contract):
            for best, top in contract:
                ctc_greedy_decode(best, top, chars)

        def grammar_only(probs=probs):
            for p in probs:
                grammar_decode(p, chars)

        def model_greedy(batches=batches):
            for x in batches:
                ctc_greedy_decode(*backend.infer(x), chars)

        def model_grammar(batches=batches):
            for x in batches:
                grammar_decode(backend.infer_probs(x), chars)

        def model_greedy_zoom3(batches=batches):
            for x in batches:
                read_batch(backend, x, chars, "greedy", "zoom3")

        best = {k: 0.0 for k in ("greedy", "grammar", "model+greedy", "model+grammar", "model+greedy+zoom3")}
        for _ in range(3):
            for key, fn in (("greedy", greedy_only), ("grammar", grammar_only),
                            ("model+greedy", model_greedy), ("model+grammar", model_grammar),
                            ("model+greedy+zoom3", model_greedy_zoom3)):
                best[key] = max(best[key], rate(fn, len(images), args.seconds))
        rows.append({"set": name, "plates": len(images), **{k: round(v) for k, v in best.items()},
                     "model+grammar / model+greedy": round(best["model+grammar"] / best["model+greedy"], 3),
                     "zoom3 / model+greedy": round(best["model+greedy+zoom3"] / best["model+greedy"], 3)})

    commit = git_commit()
    print(f"# bench_decode: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"commit {commit}, batch {b}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| set | plates | greedy decode | grammar decode | model + greedy | model + grammar | ratio "
          "| model + greedy, zoom3 views | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['set']} | {r['plates']} | {r['greedy']} | {r['grammar']} | {r['model+greedy']} | "
              f"{r['model+grammar']} | {r['model+grammar / model+greedy']:.2f}x | {r['model+greedy+zoom3']} | "
              f"{r['zoom3 / model+greedy']:.2f}x |")
    print("(plates/s, best of 3)")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
