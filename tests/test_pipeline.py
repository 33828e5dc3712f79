"""The Ray Data job end to end, against a real S3 server and a real local Ray cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from hostile import make_hostile_objects
from realdata import REAL

from lpr_ray.core.charset import US
from lpr_ray.core.storage import arrow_filesystem
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.job import run_job
from lpr_ray.results.table import read_results

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def read_rows(output: str, run_id: str) -> pa.Table:
    """The run's committed rows, as a reader sees them (docs/LAYOUT.md)."""
    return read_results(output, filter=pads.field("run_id") == run_id)


def good_png(i: int) -> bytes:
    rng = np.random.default_rng(i)
    img = rng.integers(0, 256, size=(int(rng.integers(17, 120)), int(rng.integers(35, 300)), 3), dtype=np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def test_hostile_objects_each_get_one_row(s3, ray_cluster, model_dir):
    """>= 200 hostile objects mixed with good ones through the real pipeline, every count checked."""
    hostile = make_hostile_objects(seed=11)
    assert len(hostile) >= 200
    expected = {}
    for name, data, status in hostile:
        uri = f"s3://{s3.bucket}/hostile/{name}"
        s3.put(uri, data)
        expected[uri] = status
    for i in range(100):
        uri = f"s3://{s3.bucket}/hostile/good/{i:03d}.png"
        s3.put(uri, good_png(i))
        expected[uri] = "ok"
    output = f"s3://{s3.bucket}/hostile-out"
    summary = run_job(RunConfig(input=f"s3://{s3.bucket}/hostile/", output=output, model=str(model_dir)))
    rows = read_rows(output, summary.run_id).to_pylist()
    assert summary.rows == len(rows) == len(expected)
    assert Counter(r["uri"] for r in rows) == Counter(list(expected))  # each object exactly once
    for r in rows:
        want = expected[r["uri"]]
        if want == "ok":  # a readable image: recognised, the read may be short
            assert r["status"] in ("ok", "too_short"), r
            assert r["plate"] is not None and r["width"] and r["height"]
            assert (r["error"] is None) == (r["status"] == "ok"), r
        else:
            assert r["status"] == want, r
            assert r["plate"] is None and r["error"], r
    by_status = Counter(r["status"] for r in rows)
    assert summary.by_status == dict(by_status)


def test_tao_dataset_from_s3_carries_labels(s3, ray_cluster, model_dir):
    s3.upload_dir(str(REAL), f"s3://{s3.bucket}/real")
    output = f"s3://{s3.bucket}/real-out"
    summary = run_job(RunConfig(input=f"s3://{s3.bucket}/real", output=output, model=str(model_dir)))
    table = read_rows(output, summary.run_id)
    assert table.num_rows == 222 == summary.labelled
    labels = {p.stem: p.read_text().strip() for p in (REAL / "labels").iterdir()}
    for r in table.to_pylist():
        stem = r["uri"].rsplit("/", 1)[1].rsplit(".", 1)[0]
        assert r["label"] == US.normalize_label(labels[stem])
        assert r["correct"] == (r["plate"] == r["label"])
        assert r["model"].startswith(model_dir.name + "@")
    assert table.schema.field("processed_at").type == pa.timestamp("us", tz="UTC")
    record = json.loads(s3.get(f"{output}/_runs/{summary.run_id}/config.json"))
    assert record["input"] == f"s3://{s3.bucket}/real" and record["run_id"] == summary.run_id


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_manifest_input_with_missing_object(s3, ray_cluster, model_dir, tmp_path, fmt):
    uris = []
    for i in range(20):
        uri = f"s3://{s3.bucket}/manifest-{fmt}/{i}.png"
        s3.put(uri, good_png(100 + i))
        uris.append(uri)
    uris.append(f"s3://{s3.bucket}/manifest-{fmt}/deleted.png")
    table = pa.table({"uri": uris, "camera": ["c1"] * len(uris)})
    local = tmp_path / f"m.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, local)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, local)
    s3.put(f"s3://{s3.bucket}/manifests/m.{fmt}", local.read_bytes())
    output = f"s3://{s3.bucket}/manifest-out-{fmt}"
    summary = run_job(RunConfig(input=f"s3://{s3.bucket}/manifests/m.{fmt}", output=output, model=str(model_dir)))
    rows = {r["uri"]: r for r in read_rows(output, summary.run_id).to_pylist()}
    assert set(rows) == set(uris) and summary.inputs == 21
    assert rows[uris[-1]]["status"] == "not_found"
    assert [(r["label"], r["correct"]) for r in rows.values() if r["label"] is not None or r["correct"] is not None] == []


def test_cli_local_folder_exit_code_and_no_credentials_leak(s3, ray_cluster, model_dir, tmp_path):
    src = tmp_path / "crops"
    src.mkdir()
    for i in range(10):
        (src / f"{i}.png").write_bytes(good_png(200 + i))
    (src / "notes.txt").write_text("not an image")
    out = f"s3://{s3.bucket}/cli-out"
    env = {**os.environ, **ray_cluster.env()}
    proc = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", str(src), "--output", out,
         "--model", str(model_dir), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["rows"] == 11 and summary["by_status"]["not_an_image"] == 1
    # The secret must appear nowhere: not in logs, not in any output object.
    assert s3.secret_key not in proc.stdout + proc.stderr
    fs, base = arrow_filesystem(out)
    from pyarrow.fs import FileSelector

    for info in fs.get_file_info(FileSelector(base, recursive=True)):
        if info.is_file:
            with fs.open_input_stream(info.path) as f:
                assert s3.secret_key.encode() not in f.read()


def test_cli_s3_run_prints_json_progress_and_no_chatter(s3, ray_cluster, model_dir):
    """`run --json` from S3: stdout is the JSON alone; stderr has a progress line with the
    total, and neither botocore's INFO lines about where credentials were found (five a run
    before) nor Ray Data's progress blocks and false warnings."""
    for i in range(5):
        s3.put(f"s3://{s3.bucket}/chatter/{i}.png", good_png(300 + i))
    env = {**os.environ, **ray_cluster.env()}
    proc = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", f"s3://{s3.bucket}/chatter/",
         "--output", f"s3://{s3.bucket}/chatter-out", "--model", str(model_dir), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["rows"] == 5
    assert "Found credentials" not in proc.stderr and "botocore" not in proc.stderr, proc.stderr[-3000:]
    # One progress line with the known total instead of Ray Data's blocks and false alarms.
    assert ": 5 / 5 objects (100%)" in proc.stderr, proc.stderr[-3000:]
    for noise in ("Total Progress", "does not have any available CPUs", "Progress bars disabled",
                  "Starting execution of Dataset", "Execution plan of Dataset", "Data sink Parquet finished",
                  "has constructor arguments in the object store"):  # the driver's C++ core worker
        assert noise not in proc.stderr, noise


def test_bad_input_is_a_clear_error(s3, ray_cluster, model_dir):
    from lpr_ray.core.errors import LprRayError

    with pytest.raises(LprRayError, match="does not exist"):
        run_job(RunConfig(input=f"s3://{s3.bucket}/no-such-prefix/", output=f"s3://{s3.bucket}/x", model=str(model_dir)))
    with pytest.raises(LprRayError, match="model file .* does not exist"):
        run_job(RunConfig(input=str(REAL), output=f"s3://{s3.bucket}/x", model="/nonexistent/model.onnx"))
