"""The core must import without torch, Ray or TensorRT (dependency tiers)."""

import subprocess
import sys

CORE = ["lpr_ray", "lpr_ray.decode", "lpr_ray.image", "lpr_ray.dataset", "lpr_ray.charset",
        "lpr_ray.metrics", "lpr_ray.model", "lpr_ray.backends", "lpr_ray.cli.main",
        "lpr_ray.reading", "lpr_ray.grammar", "lpr_ray.tta", "lpr_ray.atomic", "lpr_ray.cli.args"]


def test_core_does_not_import_heavy_frameworks():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "heavy = [m for m in ('torch', 'ray', 'tensorrt', 'pyarrow') if m in sys.modules]\n"
        + "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("run", "eval"):
        assert cmd in out.stdout
