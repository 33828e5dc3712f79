"""`lpr-ray predict` reads image files without Ray; `lpr-ray --version`."""

from __future__ import annotations

import json

import pytest
from realdata import REAL

from lpr_ray import __version__
from lpr_ray.cli.main import main
from lpr_ray.inference.evaluate import evaluate_dataset


def test_predict_gives_evals_reads_and_a_row_for_a_bad_file(tmp_path, capsys):
    ev = evaluate_dataset(str(REAL), threads=1)
    images = list(ev.uris[:3])
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    assert main(["predict", "--json", *images, str(bad)]) == 1  # one image could not be read
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["image"] for x in lines] == [*images, str(bad)]
    for line, read in zip(lines[:3], ev.reads[:3], strict=True):
        assert line["status"] == "ok" and line["plate"] == read.plate
        assert line["confidence"] == pytest.approx(read.confidence, abs=1e-3)
        assert len(line["char_confidences"]) == len(read.plate)
    assert lines[-1]["status"] == "not_an_image" and lines[-1]["error"]
    assert main(["predict", *images]) == 0
    assert ev.reads[0].plate in capsys.readouterr().out


def test_a_folder_is_one_row_that_points_at_run(tmp_path, capsys):
    assert main(["predict", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "not_a_file" in out and f"lpr-ray run --input {tmp_path} --output OUT" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"lpr-ray {__version__}"
