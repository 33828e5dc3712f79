"""A head and two worker nodes on this machine run the archive job, then a scheduled run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from contract_models import write_contract_model
from ray_cluster import LocalRayCluster
from test_incremental import PATTERN, assert_exactly_once, put_objects

from lpr_ray.core.charset import US
from lpr_ray.results.table import commit_records, read_results

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(script: str, args: list[str], env: dict) -> dict:
    proc = subprocess.run([sys.executable, script, "--json", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def test_job_and_scheduled_run_on_three_nodes(s3, tmp_path):
    model = tmp_path / "model"
    write_contract_model(model, list(US.characters))
    uris = put_objects(s3, "multi-in", 0, 60)
    out = f"s3://{s3.bucket}/multi-out"
    args = ["--input", f"s3://{s3.bucket}/multi-in/", "--output", out, "--model", str(model),
            "--partition-pattern", PATTERN, "--num-actors", "2"]
    # 1-CPU nodes: an actor must fit on one node (plan_actors caps its reservation).
    with LocalRayCluster(num_cpus=1, env=s3.env()) as cluster:
        cluster.add_worker_node(num_cpus=1)
        cluster.add_worker_node(num_cpus=1)
        env = {**os.environ, **cluster.env()}
        env.pop("LPR_RAY_CRASH_AT", None)
        first = _run("jobs/recognize.py", args, env)
        assert first["cluster"]["nodes"] == 3 and first["cluster"]["cpus"] == 3
        assert first["rows"] == 60 and first["commit_seq"] == 1
        added = put_objects(s3, "multi-in", 60, 15)
        second = _run("jobs/scheduled_archive.py", args, env)
    assert (second["rows"], second["skipped"], second["commit_seq"]) == (15, 60, 2)
    assert_exactly_once(out, uris + added)
    assert [r["incremental"] for r in commit_records(out)] == [False, True]
    table = read_results(out, columns=["uri", "run_id", "site"])
    assert set(table.column("site").to_pylist()) == {"lot0", "lot1"}
