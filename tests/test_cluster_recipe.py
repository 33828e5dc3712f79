"""docs/RUNNING.md's hand-started cluster, run as written (issue 22): the head block and the
client block are read from the document, their placeholders filled as a reader would, and
run by bash. Token authentication holds end to end: the job runs with the head's token, and
the dashboard refuses a client without it or with a wrong one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ray_cluster import _kill_processes_mentioning
from realdata import REAL

from lpr_ray.local import port_open
from lpr_ray.results.table import read_results

REPO = Path(__file__).resolve().parents[1]
RUNNING = REPO / "docs" / "RUNNING.md"

pytestmark = pytest.mark.slow


def block(containing: str) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", RUNNING.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"docs/RUNNING.md should have one bash block with {containing!r}"
    return found[0]


def fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        assert placeholder in text, f"docs/RUNNING.md no longer says {placeholder!r}: update this test"
        text = text.replace(placeholder, value)
    return text


def bash(script: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def test_the_documented_head_and_client_run_a_job_with_token_auth(s3, tmp_path):
    busy = [p for p in (6379, 8265) if port_open(p)]
    if busy:  # the documented head takes Ray's default ports
        pytest.skip(f"ports {busy} are in use by another server: the recipe's head needs them")
    s3.upload_dir(str(REAL), f"s3://{s3.bucket}/recipe-in")
    output = f"s3://{s3.bucket}/recipe-out/"
    home = tmp_path / "home"  # ~/.ray/auth_token is the head's token: a private HOME
    home.mkdir()
    ray_tmp = tempfile.mkdtemp(prefix="lprrecipe-", dir="/tmp")  # Ray's sockets need a short path
    # A clean environment: none of this session's Ray settings; the head alone has storage
    # credentials, as a cluster node would from its instance role.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AWS_"))}
    head_env = {**clean, "HOME": str(home), "RAY_TMPDIR": ray_tmp,
                "AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key,
                "AWS_EC2_METADATA_DISABLED": "true"}  # loopback only: never the metadata service
    head = fill(block("ray start --head"), {
        "source .venv/bin/activate": f"source {Path(sys.executable).parent}/activate",
        "AWS_ENDPOINT_URL=... AWS_REGION=...": f"AWS_ENDPOINT_URL={s3.endpoint_url} AWS_REGION={s3.region}",
    })
    try:
        started = bash(head, head_env, REPO)
        assert started.returncode == 0, started.stderr[-3000:]
        token = started.stdout.strip().splitlines()[-1]  # `ray get-auth-token`, the block's last line
        assert re.fullmatch(r"[0-9a-f]{32,}", token), started.stdout[-500:]
        assert oct((home / ".ray" / "auth_token").stat().st_mode & 0o777) == "0o600"

        client = fill(block("RAY_AUTH_TOKEN=<the head's token>"), {
            "<the head's token>": token,
            "http://HEAD:8265": "http://127.0.0.1:8265",
            "s3://lot-archive/2026/": f"s3://{s3.bucket}/recipe-in/",
            "s3://lot-results/plates/": output,
        })
        client_env = {**clean, "HOME": str(tmp_path / "client-home"),
                      "PATH": f"{Path(sys.executable).parent}:{clean.get('PATH', '')}"}
        submitted = bash(client, client_env, REPO, timeout=600)
        assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
        assert "222 rows written" in submitted.stdout, submitted.stdout[-3000:]
        assert read_results(output).num_rows == 222

        # The same client command without the token, and with a wrong one, is refused.
        for auth in ("", f"export RAY_AUTH_MODE=token RAY_AUTH_TOKEN={'0' * len(token)}\n"):
            refused = bash(auth + "ray job list --address http://127.0.0.1:8265", client_env, REPO, timeout=120)
            assert refused.returncode != 0 and "Authentication" in refused.stdout + refused.stderr, (
                refused.stdout[-1500:] + refused.stderr[-1500:])
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen("http://127.0.0.1:8265/api/jobs/", timeout=30)
        assert denied.value.code == 401
    finally:
        _kill_processes_mentioning(ray_tmp)  # never `ray stop`: it stops every Ray on the machine
        shutil.rmtree(ray_tmp, ignore_errors=True)
