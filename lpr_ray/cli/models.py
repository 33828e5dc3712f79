"""`lpr-ray models`: the models shipped with lpr-ray, by the names --model takes."""

from __future__ import annotations

import json

from lpr_ray.cli.args import DefaultsHelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "models",
        help="list the shipped models (names for --model) with size, speed and accuracy",
        description=(
            "List the models shipped inside lpr-ray. Each name works wherever a model is asked for: "
            "`run/eval/predict/demo/build-engine --model NAME`, `export --checkpoint NAME`, "
            "`train --init-from NAME` and the ray job entrypoints. Speed is model-only plates/s "
            "with ONNX Runtime on 2 CPU cores (BENCHMARKS.md); accuracy is greedy full-plate "
            "accuracy on the named real sets (each model's MODEL_CARD.md)."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _percent(acc: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in acc.items()) or "-"


def run(args) -> int:
    from tabulate import tabulate

    from lpr_ray.core.catalog import shipped

    models = shipped()
    if args.json:
        print(json.dumps([m.to_dict() for m in models], indent=2, ensure_ascii=False))
        return 0
    rows = [
        [
            m.name + (" (default)" if m.default else ""), m.region, m.arch, f"{m.params / 1e6:.2f}M",
            f"{m.megabytes:.1f}", f"{m.gflops:.3f}",
            f"{m.speed['onnxruntime_2cpu']:,.0f}" if "onnxruntime_2cpu" in m.speed else "-",
            _percent(m.accuracy),
        ]
        for m in models
    ]
    headers = ["name", "region", "arch", "params", "MB", "GFLOP", "plates/s (2 CPUs)", "real-plate accuracy"]
    print(tabulate(rows, headers=headers, disable_numparse=True))
    for m in models:
        if m.summary:
            print(f"\n{m.name}: {m.summary}")
    return 0
