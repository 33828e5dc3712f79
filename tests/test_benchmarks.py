"""The benchmark scripts as a developer runs them: they must not destroy data, must fail
(not pass quietly) where they cannot measure, and refuse bad option values in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def bench(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_bench_query_never_regenerates_a_folder_it_did_not_make(tmp_path):
    """--root pointed at real results was emptied and refilled with generated rows."""
    keep = tmp_path / "results" / "_commits" / "000000000001.json"
    keep.parent.mkdir(parents=True)
    keep.write_text("{}")
    done = bench("bench_query.py", "--rows", "1000", "--repeat", "1", "--root", str(tmp_path / "results"), cwd=tmp_path)
    assert done.returncode != 0 and "was not made by this benchmark" in done.stderr
    assert keep.read_text() == "{}"


def test_bench_gpu_fails_without_a_gpu(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the no-GPU path is not what runs here")
    done = bench("bench_gpu.py", "--batch-sizes", "8", "--seconds", "0.1", "--e2e-copies", "0", cwd=tmp_path)
    assert done.returncode != 0 and "sees no CUDA GPU" in done.stderr


@pytest.mark.parametrize("script, args, says", [
    ("bench_decode.py", ["--batch-size", "0"], "expected a whole number >= 1, got '0'"),
    ("bench_models.py", ["--batch-sizes", "8,0"], "expected comma-separated whole numbers >= 1"),
    ("bench_synth.py", ["--n", "-5"], "expected a whole number >= 1, got '-5'"),
    ("bench_fuzz.py", ["--objects", "0"], "expected a whole number >= 1, got '0'"),
])
def test_bad_option_values_are_one_line_errors(script, args, says, tmp_path):
    done = bench(script, *args, cwd=tmp_path)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_bench_ledger_finds_the_same_new_objects_both_ways(tmp_path):
    done = bench("bench_ledger.py", "--sizes", "20000", "--work", str(tmp_path / "work"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 20,000 |")]
    # 1% new objects + every 1000th changed: 200 + 20, found by the job's way and the old one.
    assert [r.split("|")[4].strip() for r in rows] == ["duckdb", "arrow"]
    assert all(r.split("|")[6].strip() == "220" for r in rows)
