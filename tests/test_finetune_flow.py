"""The user's fine-tuning sequence (docs/TRAINING.md "Fine-tuning on your plates"), on small data:
fine-tune from the shipped default mixing in synthetic plates, evaluate before and after,
export, run the job with the new model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lpr_ray.core.model import DEFAULT_MODEL_DIR

pytestmark = pytest.mark.slow


def cli(*args: str, env=None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", *args],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, f"lpr-ray {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def as_json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


def test_fine_tune_evaluate_export_run(tmp_path, ray_cluster):
    default_pt = DEFAULT_MODEL_DIR / "model.pt"
    assert default_pt.exists(), "the shipped default model must include model.pt for fine-tuning"
    # A user's own TAO dataset (here: synthetic plates of another seed).
    data = tmp_path / "my_plates"
    cli("synth", "--count", "96", "--out", str(data), "--seed", "4242", "--workers", "1")

    run = tmp_path / "finetune"
    log = cli("train", "--out", str(run), "--init-from", str(default_pt), "--train-tao", str(data),
              "--synthetic", "1", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16",
              "--lr", "1e-4", "--val-synthetic", "32", "--threads", "1", "--workers", "0", "--device", "cpu")
    assert "each batch: 8 TAO + 8 synthetic plates" in log
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == str(default_pt) and config["synthetic"] == 1
    base = as_json(cli("eval", str(data), "--model", str(DEFAULT_MODEL_DIR), "--json"))  # before

    model = tmp_path / "my_model"
    cli("export", "--checkpoint", str(run / "best.pt"), "--out", str(model),
        "--val-tao", str(data), "--val-synthetic", "0", "--with-checkpoint")
    assert (model / "model.onnx").exists() and (model / "characters_list.txt").exists()

    report = as_json(cli("eval", str(data), "--model", str(model), "--json"))  # after
    # Three steps at a small learning rate keep the default's reading ability.
    assert report["count"] == base["count"] == 96
    # Accuracy by the crops' source widths covers every plate.
    assert sum(row["count"] for row in report["by_width"]) == 96
    assert report["full_plate_accuracy"] >= base["full_plate_accuracy"] - 0.1

    out = tmp_path / "results"
    env = {**os.environ, **ray_cluster.env()}
    summary = as_json(cli("run", "--input", str(data), "--output", str(out), "--model", str(model), "--json", env=env))
    assert summary["rows"] == 96 and summary["labelled"] == 96
    assert summary["model"].startswith("my_model@")
