"""`ray job submit` of jobs/recognize.py to a real Ray head with its dashboard."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from contract_models import write_contract_model
from ray_cluster import LocalRayCluster, ray_executable
from realdata import REAL

from lpr_ray.core.charset import US
from lpr_ray.results.table import read_results

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_ray_job_submit_recognize(s3, tmp_path):
    model = tmp_path / "model"
    write_contract_model(model, list(US.characters))
    s3.upload_dir(str(REAL), f"s3://{s3.bucket}/jobs-in")
    output = f"s3://{s3.bucket}/jobs-out"
    # The head gets the S3 credentials in its environment, as cluster nodes would from
    # their instance role; the job's metadata must not carry them.
    with LocalRayCluster(num_cpus=2, dashboard=True, env=s3.env()) as cluster:
        env = {**os.environ, **cluster.env()}
        for key in s3.env():
            env.pop(key, None)  # the client side has no credentials at all
        proc = subprocess.run(
            [ray_executable(), "job", "submit", "--address", cluster.dashboard_url, "--working-dir", str(REPO),
             "--no-wait", "--", sys.executable, "jobs/recognize.py",
             "--input", f"s3://{s3.bucket}/jobs-in", "--output", output, "--model", str(model)],
            capture_output=True, text=True, env=env, timeout=300, cwd=REPO,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        client = cluster.job_client()
        job_id = next(j.submission_id for j in client.list_jobs() if j.submission_id)
        deadline = time.time() + 300
        while (status := str(client.get_job_status(job_id))) not in ("SUCCEEDED", "FAILED", "STOPPED"):
            assert time.time() < deadline, "job did not finish in 5 minutes"
            time.sleep(2)
        logs = client.get_job_logs(job_id)
        assert status.endswith("SUCCEEDED"), logs[-3000:]
        assert "222 rows written" in logs
        info = client.get_job_info(job_id)
        metadata = repr(info)
        assert s3.secret_key not in logs and s3.secret_key not in metadata
    table = read_results(output)  # committed rows only (docs/LAYOUT.md)
    assert table.num_rows == 222
    assert table.column("label").null_count == 0
