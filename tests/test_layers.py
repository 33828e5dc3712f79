"""The tiers of lpr_ray/ (issue 22): imports point down only, and the core imports without
torch, Ray, TensorRT or Pillow. A new upward import fails here, naming the file and line."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lpr_ray"

# Every folder is its own tier; what each may import, besides itself.
ALLOWED = {
    "package": {"core", "inference"},  # lpr_ray/__init__.py: the public API, imported lazily
    "core": set(),
    "models": {"core"},
    "backends": {"core", "models"},
    "local": {"core"},
    "synth": {"core"},
    "results": {"core"},
    "inference": {"core", "backends", "models"},
    "train": {"core", "models", "backends", "synth", "inference"},
    "pipeline": {"core", "models", "backends", "results", "inference"},
    "review": {"core", "results"},  # the review web server
    "cli": {"core", "models", "backends", "local", "synth", "results", "inference", "train", "pipeline",
            "review"},
}
CORE_MODULES = ["lpr_ray", *(f"lpr_ray.core.{p.stem}" for p in sorted((PACKAGE / "core").glob("*.py")))]


def tier(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__init__":
        return "package"
    if not (PACKAGE / parts[1]).is_dir() and not (PACKAGE / f"{parts[1]}.py").exists():
        return "core"  # a name lpr_ray/__init__.py defines (__version__): no imports behind it
    if not (PACKAGE / parts[1]).is_dir():
        raise AssertionError(f"{module}: every module lives in a tier folder (one of {sorted(ALLOWED)})")
    return parts[1]


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lpr_ray":
                yield from ((f"lpr_ray.{a.name}", node.lineno) for a in node.names)
            elif node.module.startswith("lpr_ray."):
                yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names if a.name.startswith("lpr_ray."))


def test_imports_point_down_only():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        own = tier(module)
        for target, line in imports(path):
            other = tier(target)
            if other != own and other not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({own}) imports {target} ({other})")
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_core_does_not_import_heavy_frameworks():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "import lpr_ray.core.grammar\nlpr_ray.core.grammar.us_class_prior()\n"  # its lazy imports too
        + "heavy = [m for m in ('torch', 'ray', 'tensorrt', 'PIL', 'pyarrow') if m in sys.modules]\n"
        + "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("run", "eval", "average", "model-report", "spans"):
        assert cmd in out.stdout
