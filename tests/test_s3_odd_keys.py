"""S3 keys that SeaweedFS (the other tests' server) normalises away, on moto's S3 server, which
stores them as real S3 does: `a//b` (two slashes) and a key ending in "/" that holds bytes.
Each is an object and must get its row (issue 21); an empty key ending in "/" is a folder.
s3fs lists both as they are; pyarrow's S3 client cannot address `a//b`, so it is read through
s3fs (core/objects.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import cv2
import numpy as np
import pytest

from lpr_ray.local import free_ports, port_open
from lpr_ray.results.table import read_results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory):
    port = free_ports(1)[0]
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
               "AWS_ACCESS_KEY_ID": "moto", "AWS_SECRET_ACCESS_KEY": "moto-secret", "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def jpeg(i: int) -> bytes:
    rng = np.random.default_rng(i)
    return cv2.imencode(".jpg", rng.integers(0, 256, (40, 120, 3), dtype=np.uint8))[1].tobytes()


def test_double_slash_keys_and_keys_ending_in_a_slash_get_rows(moto_s3, model_dir, tmp_path):
    client = boto3.client("s3", endpoint_url=moto_s3["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="moto", aws_secret_access_key="moto-secret")
    client.create_bucket(Bucket="lot")
    keys = {"in/plain.jpg": jpeg(1), "in/a//b.jpg": jpeg(2), "in/cam//2026/c.jpg": jpeg(3),
            "in/x/": jpeg(4), "in/folder/": b""}
    for key, body in keys.items():
        client.put_object(Bucket="lot", Key=key, Body=body)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AWS_"))} | moto_s3
    done = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", "s3://lot/in/",
                           "--output", str(out), "--model", str(model_dir), "--json"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["rows"] == 4
    rows = {r["uri"]: r for r in read_results(str(out)).to_pylist()}
    assert sorted(rows) == ["s3://lot/in/a//b.jpg", "s3://lot/in/cam//2026/c.jpg", "s3://lot/in/plain.jpg",
                            "s3://lot/in/x/"]
    # Keys with "//" are read under their own key.
    read = [rows[u] for u in sorted(rows) if not u.endswith("/")]
    assert all(r["status"] in ("ok", "too_short") and (r["width"], r["height"]) == (120, 40) for r in read), read
    # A key ending in "/" is what consoles make for folders: its row says so and what to do.
    assert rows["s3://lot/in/x/"]["status"] == "not_a_file" and "rename it" in rows["s3://lot/in/x/"]["error"]
