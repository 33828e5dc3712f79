"""The job's data path (issue 25): the stand-in recogniser, manifests read on the driver or
streamed, the input table's blocks, reads of mixed local and S3 objects, and the per-stage
times a run records. Speed itself is measured in benchmarks/bench_pipeline.py, not here."""

from __future__ import annotations

import json
import pickle

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from lpr_ray.backends import load_backend
from lpr_ray.core.decode import ctc_greedy_decode
from lpr_ray.core.model import resolve_model
from lpr_ray.pipeline import job as job_module
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.fetch import fetch_and_decode
from lpr_ray.pipeline.job import run_job
from lpr_ray.results.table import read_results


def png(i: int) -> bytes:
    rng = np.random.default_rng(i)
    img = rng.integers(0, 256, size=(int(rng.integers(20, 60)), int(rng.integers(60, 160)), 3), dtype=np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


# --- the stand-in recogniser ----------------------------------------------------------------


def test_standin_honours_the_contract_and_reads_a_fixed_plate(model_dir):
    spec = resolve_model(str(model_dir))
    backend = load_backend("standin", spec)
    best, prob = backend.infer(np.zeros((5, 48, 96, 3), np.uint8))
    assert best.shape == prob.shape == (5, 24) and best.dtype == np.int32 and prob.dtype == np.float32
    reads = ctc_greedy_decode(best, prob, spec.charset.characters)
    assert {r.plate for r in reads} == {"".join(spec.charset.characters[:7])}
    assert all(len(r.char_confidences) == 7 for r in reads)


def test_standin_refuses_images_of_the_wrong_shape(model_dir):
    backend = load_backend("standin", resolve_model(str(model_dir)))
    with pytest.raises(Exception, match=r"expected uint8 \[N, 48, 96, 3\].*float32 \[2, 48, 96, 3\]"):
        backend.infer(np.zeros((2, 48, 96, 3), np.float32))


def test_auto_never_picks_the_standin():
    from lpr_ray.backends.base import resolve_backend_name

    assert resolve_backend_name("auto") != "standin"


# --- reads: local files in the task's thread, remote ones in threads, order kept ------------


def test_mixed_local_and_s3_objects_keep_their_rows_in_order(s3, tmp_path):
    uris = []
    for i in range(12):
        if i % 3 == 0:
            path = tmp_path / f"{i}.png"
            path.write_bytes(png(i))
            uris.append(str(path))
        else:
            uri = f"s3://{s3.bucket}/mixed/{i}.png"
            s3.put(uri, png(i))
            uris.append(uri)
    uris.append(str(tmp_path / "missing.png"))
    uris.append(f"s3://{s3.bucket}/mixed/missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    uris.append(str(tmp_path / "junk.png"))
    out = fetch_and_decode({"uri": np.array(uris, dtype=object)}, threads=4, local_roots=(str(tmp_path),))
    assert list(out["uri"]) == uris
    assert list(out["status"]) == ["ok"] * 12 + ["not_found", "not_found", "not_an_image"]
    for i in range(12):  # each row holds its own object's pixels, not a neighbour's
        bgr = cv2.imdecode(np.frombuffer(png(i), np.uint8), cv2.IMREAD_COLOR)
        want = cv2.cvtColor(cv2.resize(bgr, (96, 48), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(out["image"][i], want)
        assert (out["width"][i], out["height"][i]) == (bgr.shape[1], bgr.shape[0])


# --- the input table's blocks ---------------------------------------------------------------


def test_table_source_blocks_carry_only_their_own_rows():
    pytest.importorskip("ray")
    from lpr_ray.pipeline.source import TableSource

    table = pa.table({"uri": [f"s3://bucket/some/long/prefix/{i:08d}.jpg" for i in range(1000)]})
    tasks = TableSource(table, 256).get_read_tasks(parallelism=7)
    assert [t.metadata.num_rows for t in tasks] == [256, 256, 256, 232]
    blocks = [b for t in tasks for b in t()]
    assert pa.concat_tables(blocks).column("uri").to_pylist() == table.column("uri").to_pylist()
    # A task is shipped to a worker: it must not drag the whole table along.
    assert len(pickle.dumps(tasks[0])) < len(pickle.dumps(table)) / 2


# --- manifests: small ones read on the driver, large ones streamed; the same rows -----------


def _manifest(s3, tmp_path, fmt: str, name: str) -> tuple[str, list[str], list[str]]:
    uris, labels = [], []
    for i in range(30):
        uri = f"s3://{s3.bucket}/{name}/{i}.png"
        s3.put(uri, png(300 + i))
        uris.append(uri)
        labels.append(f"{1000 + i}")  # digits only: a plate, not a number
    table = pa.table({"uri": uris, "label": labels, "site": ["north"] * 30})
    local = tmp_path / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, local, row_group_size=1000)
    else:
        pacsv.write_csv(table, local)
    s3.put(f"s3://{s3.bucket}/manifests/{name}.{fmt}", local.read_bytes())
    return f"s3://{s3.bucket}/manifests/{name}.{fmt}", uris, labels


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_small_and_streamed_manifests_give_the_same_rows(s3, ray_cluster, model_dir, tmp_path, monkeypatch, fmt):
    manifest, uris, labels = _manifest(s3, tmp_path, fmt, f"both-{fmt}")
    small = run_job(RunConfig(input=manifest, output=f"s3://{s3.bucket}/both-small-{fmt}", model=str(model_dir)))
    monkeypatch.setattr(job_module, "DRIVER_MANIFEST_MAX_BYTES", 0)  # stream it through Ray Data
    monkeypatch.setattr(job_module, "DRIVER_MANIFEST_MAX_ROWS", 0)
    streamed = run_job(RunConfig(input=manifest, output=f"s3://{s3.bucket}/both-streamed-{fmt}", model=str(model_dir)))
    # Ray Data names a stage after the operators it fused (ReadInputTable->SplitBlocks(4)).
    assert any("ReadInputTable" in k for k in small.stages), small.stages
    assert not any("ReadInputTable" in k for k in streamed.stages), streamed.stages

    def rows(summary):
        table = read_results(summary.output, filter=pads.field("run_id") == summary.run_id)
        return sorted((r["uri"], r["status"], r["plate"], r["label"]) for r in table.to_pylist())

    got = rows(small)
    assert got == rows(streamed)
    assert [u for u, *_ in got] == sorted(uris) and small.inputs == streamed.inputs == 30
    # Labels of digits only stay labels both ways (a CSV reader left alone makes them numbers).
    assert sorted(lab for *_, lab in got) == sorted(labels)


def test_csv_headers_with_spaces_keep_keys_and_labels_as_text(tmp_path):
    (tmp_path / "0012.png").write_bytes(png(1))
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"uri , label \n{tmp_path}/0012.png,0123\n")
    from lpr_ray.pipeline.inputs import Inputs

    table = job_module._manifest_on_driver(Inputs(kind="manifest", uri=str(manifest), manifest_format="csv"))
    assert table.to_pylist() == [{"uri": f"{tmp_path}/0012.png", "label": "0123"}]


def test_a_malformed_csv_manifest_is_one_error_line(tmp_path):
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.pipeline.inputs import Inputs

    manifest = tmp_path / "m.csv"
    manifest.write_text("uri,label\na.png,AB1\nb.png,AB2,extra\n")
    with pytest.raises(LprRayError, match=r"manifest .*m.csv cannot be read .*Expected 2 columns, got 3"):
        job_module._manifest_on_driver(Inputs(kind="manifest", uri=str(manifest), manifest_format="csv"))


# --- where a run's time went ----------------------------------------------------------------


@pytest.mark.slow
def test_a_run_records_its_per_stage_times(s3, ray_cluster, model_dir, tmp_path):
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i}.png").write_bytes(png(500 + i))
    summary = run_job(RunConfig(input=str(folder), output=str(tmp_path / "out"), model=str(model_dir),
                                backend="standin", fetch_batch_size=16))
    assert summary.rows == 40 and summary.backend == "standin"
    fetch, recognise = summary.stages["MapBatches(fetch_and_decode)"], summary.stages["MapBatches(Recognizer)"]
    assert fetch["tasks"] == 3 and fetch["rows"] == recognise["rows"] == 40
    assert 0 < fetch["udf_s"] <= fetch["task_s"] <= fetch["span_s"] + 1e-3
    saved = json.loads((tmp_path / "out" / "_runs" / summary.run_id / "summary.json").read_text())
    assert saved["stages"]["MapBatches(Recognizer)"]["rows"] == 40
    rows = read_results(str(tmp_path / "out")).to_pylist()
    assert {r["backend"] for r in rows} == {"standin"} and {r["status"] for r in rows} == {"ok"}
    # Its fixed reads never pass for the model's: their own tag, so no ledger or view mixes them.
    assert {r["model"] for r in rows} == {resolve_model(str(model_dir)).tag + "+standin"}
