"""The real validation plates (../shared/data/us_real_val, never copied into the project) and
a check shared by the reading options' tests: a run through Ray writes what `lpr-ray eval`
reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "us_real_val"


def real_subset(dst: Path, n: int) -> Path:
    """The first n plates of us_real_val as a TAO dataset under dst (a test's tmp_path)."""
    (dst / "images").mkdir(parents=True)
    (dst / "labels").mkdir()
    for img in sorted((REAL / "images").iterdir())[:n]:
        shutil.copy(img, dst / "images" / img.name)
        shutil.copy(REAL / "labels" / (img.stem + ".txt"), dst / "labels" / (img.stem + ".txt"))
    return dst


def assert_run_matches_eval(s3, tmp_path: Path, name: str, n: int, **reading) -> dict:
    """Run the job on n real plates in S3 with `reading` (decode=..., tta=...): every row carries
    the plate and confidences `evaluate_dataset` gives with the same options. Returns the
    run's saved config."""
    from lpr_ray.inference.evaluate import evaluate_dataset
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import run_job
    from lpr_ray.results.table import read_results

    subset = real_subset(tmp_path / "tao", n)
    s3.upload_dir(str(subset), f"s3://{s3.bucket}/{name}-in")
    output = f"s3://{s3.bucket}/{name}-out"
    summary = run_job(RunConfig(input=f"s3://{s3.bucket}/{name}-in", output=output, **reading))
    rows = {r["uri"].rsplit("/", 1)[1]: r for r in read_results(output).to_pylist()}
    ev = evaluate_dataset(str(subset), threads=1, **reading)
    assert len(rows) == n == len(ev.reads)
    for uri, read in zip(ev.uris, ev.reads, strict=True):
        row = rows[uri.rsplit("/", 1)[1]]
        assert row["plate"] == read.plate
        assert row["confidence"] == pytest.approx(read.confidence, rel=1e-4, abs=1e-6)
        assert row["char_confidences"] == pytest.approx(list(read.char_confidences), rel=1e-4, abs=1e-6)
    return json.loads(s3.get(f"{output}/_runs/{summary.run_id}/config.json"))
