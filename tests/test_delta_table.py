"""The results root is a Delta Lake table (issue 23): the job's commits are Delta log entries
that delta-rs, Polars and DuckDB read to the same rows as lpr-ray; a root written before the
log converts on its next run without losing a row; vacuum removes only what no commit names."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from test_commit import _fake_run, _rows
from test_query import sample_runs, write_results_root

from lpr_ray.cli.main import main as cli_main
from lpr_ray.core.errors import LprRayError
from lpr_ray.results.table import commit_records, read_results
from lpr_ray.results.vacuum import vacuum

deltalake = pytest.importorskip("deltalake", reason="the dev extra installs deltalake")


def storage_options(s3) -> dict[str, str]:
    """What delta-rs needs to reach the local S3 server (users pass their own store's)."""
    env = s3.env()
    return {"AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"], "AWS_REGION": env["AWS_REGION"],
            "AWS_ALLOW_HTTP": "true"}


def engines_agree(root: str, options: dict | None = None) -> int:
    """Rows by lpr-ray, delta-rs, Polars and DuckDB (over delta-rs's Arrow dataset): the same."""
    ours = read_results(root)
    dt = deltalake.DeltaTable(root, storage_options=options)
    theirs = dt.to_pyarrow_table()
    assert sorted(theirs.column("uri").to_pylist()) == sorted(ours.column("uri").to_pylist())
    assert sorted(theirs.column("run_date").to_pylist()) == sorted(ours.column("run_date").to_pylist())
    con = duckdb.connect()
    con.register("delta", dt.to_pyarrow_dataset())
    assert con.execute("SELECT count(*) FROM delta").fetchone()[0] == ours.num_rows
    polars = pytest.importorskip("polars")
    assert polars.read_delta(root, storage_options=options).height == ours.num_rows
    return ours.num_rows


@pytest.mark.parametrize("store", ["local", "s3"])
def test_concurrent_writers_make_one_delta_table(tmp_path, request, store):
    options = None
    if store == "s3":
        s3 = request.getfixturevalue("s3")
        root, options = f"s3://{s3.bucket}/delta-{os.urandom(3).hex()}", storage_options(s3)
    else:
        root = str(tmp_path / "res")
    uris = [f"s3://b/k/{i}.jpg" for i in range(30)]
    runs = {f"run{i}": uris[i * 5 : i * 5 + 20] for i in range(4)}
    barrier = threading.Barrier(len(runs))

    def go(item):
        barrier.wait()
        return _fake_run(root, item[0], item[1], 0, [])

    with ThreadPoolExecutor(len(runs)) as pool:
        done = [r for r in pool.map(go, runs.items()) if r is not None]
    assert engines_agree(root, options) == 30  # every object once, whoever won each race
    dt = deltalake.DeltaTable(root, storage_options=options)
    assert dt.version() == len(done) - 1
    assert dt.metadata().partition_columns == ["run_date"]
    history = [h.get("lprRay", {}).get("run_id") for h in dt.history()]
    assert sorted(history) == sorted(r["run_id"] for r in done)


def test_a_root_of_the_previous_layout_converts_on_its_next_run(tmp_path):
    root = str(tmp_path / "old")
    runs, orphans = sample_runs()
    runs = runs[:1]  # one partitioning: run_date only
    write_results_root(root, runs, orphans=orphans)  # _commits/ records, as the previous code wrote
    before = read_results(root)
    assert not os.path.exists(f"{root}/_delta_log")
    assert _fake_run(root, "new", ["x/1.jpg", "x/2.jpg"], commit_records(root)[-1]["seq"], [])["version"] == 1
    after = read_results(root)
    assert after.num_rows == before.num_rows + 2
    assert sorted(after.column("uri").to_pylist()) == sorted(before.column("uri").to_pylist() + ["x/1.jpg", "x/2.jpg"])
    assert engines_agree(root) == after.num_rows  # the crashed run's orphan stays out for every engine
    assert [r["run_id"] for r in commit_records(root)] == ["run-a", "new"]


def test_vacuum_deletes_only_old_unreferenced_files(tmp_path, capsys):
    root = str(tmp_path / "res")
    _fake_run(root, "a", ["x/1.jpg", "x/2.jpg"], 0, [])
    crashed = f"{root}/data/run_date=2026-01-01/crashed_0.parquet"
    pq.write_table(_rows(["x/3.jpg"], "crashed"), crashed)
    os.makedirs(f"{root}/_ledger", exist_ok=True)
    pq.write_table(_rows(["x/3.jpg"], "crashed"), f"{root}/_ledger/crashed.parquet")
    fresh = f"{root}/data/run_date=2026-01-01/running_0.parquet"  # a run still writing
    old = time.time() - 3 * 3600
    for path in (crashed, f"{root}/_ledger/crashed.parquet"):
        os.utime(path, (old, old))
    pq.write_table(_rows(["x/4.jpg"], "running"), fresh)

    assert cli_main(["vacuum", "--results", root, "--retention-hours", "1", "--dry-run"]) == 0
    assert "would delete 2 unreferenced files" in capsys.readouterr().out and os.path.exists(crashed)
    summary = vacuum(root, retention_hours=1)
    assert summary.deleted == ["_ledger/crashed.parquet", "data/run_date=2026-01-01/crashed_0.parquet"]
    assert summary.kept_recent == 1 and os.path.exists(fresh)
    assert sorted(read_results(root).column("uri").to_pylist()) == ["x/1.jpg", "x/2.jpg"]
    assert engines_agree(root) == 2
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "vacuum", "--results", str(tmp_path / "none")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    # A folder that is not a results root: every file would look unreferenced; nothing is deleted.
    stranger = tmp_path / "stranger" / "data"
    stranger.mkdir(parents=True)
    (stranger / "notes.parquet").write_bytes(b"x")
    with pytest.raises(LprRayError, match="holds no lpr-ray commits"):
        vacuum(str(tmp_path / "stranger"), retention_hours=0)
    assert (stranger / "notes.parquet").exists()


@pytest.mark.slow
def test_a_job_on_s3_is_a_delta_table_with_its_partitions(s3, ray_cluster, model_dir):
    """Ray's real file names and Hive folders whose values pyarrow percent-encodes (spaces,
    '%', CJK) read back the same through Delta's URI-encoded paths; two runs, two versions."""
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import run_job

    sites = ["lot 7", "100%", "停车场"]
    for i, site in enumerate(sites):
        for cam in ("c1", "c2"):
            img = np.full((30, 90, 3), 200 + i, np.uint8)
            s3.put(f"s3://{s3.bucket}/deltajob/in/{site}/{cam}/2026-03-0{i + 1}/x.png", cv2.imencode(".png", img)[1].tobytes())
    source, output = f"s3://{s3.bucket}/deltajob/in", f"s3://{s3.bucket}/deltajob/out"
    pattern = r"/in/(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    for _ in range(2):
        run_job(RunConfig(input=source, output=output, model=str(model_dir), partition_pattern=pattern))
    options = storage_options(s3)
    assert engines_agree(output, options) == 12
    dt = deltalake.DeltaTable(output, storage_options=options)
    assert dt.version() == 1 and dt.metadata().partition_columns == ["run_date", "site", "camera", "date"]
    rows = dt.to_pyarrow_table(columns=["uri", "site", "camera", "date"]).to_pylist()
    assert {(r["uri"].split("/")[-4], r["site"], r["date"]) for r in rows} == {
        (s, s, f"2026-03-0{i + 1}") for i, s in enumerate(sites)}
