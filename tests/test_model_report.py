"""`lpr-ray model-report`: a model card's numbers from the one CLI (it was a `python -m` tool)."""

from __future__ import annotations

import json

from lpr_ray.cli.main import main


def test_model_report_measures_the_shipped_model_on_synthetic_plates(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["model-report", "--model", "us_lprnet_small", "--synthetic", "200", "--batch-sizes", "32",
                 "--seconds", "0.3", "--threads", "1", "--json", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    synthetic = printed["synthetic"]
    assert synthetic["count"] == 200 and synthetic["full_plate_accuracy"] > 0.9  # the default reads ~98.8%
    assert printed["ort_plates_per_s"]["32"] > 0
    saved = json.loads(out.read_text())
    assert len(saved["synthetic_errors"]) == round(200 * (1 - synthetic["full_plate_accuracy"]))
