"""The local servers are real, private, and usable through the environment alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


# -- S3 ---------------------------------------------------------------------------------------


def test_s3_clients_work_from_env_vars_only(s3, tmp_path):
    """boto3, s3fs and pyarrow's from_uri, all built with no arguments, reach the server."""
    import boto3
    import pyarrow.fs as pafs
    import s3fs

    prefix = f"s3://{s3.bucket}/env-only"
    s3.put(f"{prefix}/a.bin", b"alpha")

    client = boto3.client("s3")
    client.put_object(Bucket=s3.bucket, Key="env-only/b.bin", Body=b"bravo")
    assert client.get_object(Bucket=s3.bucket, Key="env-only/a.bin")["Body"].read() == b"alpha"

    fs = s3fs.S3FileSystem()
    fs.invalidate_cache()
    assert sorted(fs.ls(f"{s3.bucket}/env-only")) == [
        f"{s3.bucket}/env-only/a.bin",
        f"{s3.bucket}/env-only/b.bin",
    ]
    fs.pipe(f"{s3.bucket}/env-only/c.bin", b"charlie")

    pa_fs, path = pafs.FileSystem.from_uri(f"{prefix}/c.bin")
    with pa_fs.open_input_stream(path) as f:
        assert f.read() == b"charlie"
    infos = pa_fs.get_file_info(pafs.FileSelector(f"{s3.bucket}/env-only"))
    assert sorted(i.base_name for i in infos) == ["a.bin", "b.bin", "c.bin"]


def test_upload_dir_many_small_files(s3, tmp_path):
    src = tmp_path / "crops"
    for i in range(300):
        p = src / f"d{i % 7}" / f"{i:04d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(100 + i))
    (src / "odd name #1 ü.png").write_bytes(b"x")
    t0 = time.monotonic()
    uris = s3.upload_dir(src, f"s3://{s3.bucket}/many")
    elapsed = time.monotonic() - t0
    assert len(uris) == 301
    assert elapsed < 30  # ~0.3 s on 2 idle cores; generous for a busy machine

    import boto3

    client = boto3.client("s3")
    listed = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix="many/"):
        listed.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    expected = {
        f"many/{p.relative_to(src).as_posix()}": p.stat().st_size
        for p in src.rglob("*")
        if p.is_file()
    }
    assert listed == expected
    body = client.get_object(Bucket=s3.bucket, Key="many/odd name #1 ü.png")["Body"].read()
    assert body == b"x"

    # The signed-S3 path gives the same result.
    uris_s3 = s3.upload_dir(src / "d0", f"s3://{s3.bucket}/many-s3", via="s3")
    assert len(uris_s3) == len(list((src / "d0").iterdir()))
    assert s3.get(uris_s3[0]) == (src / "d0" / Path(uris_s3[0]).name).read_bytes()


def test_s3_refuses_anonymous_and_wrong_credentials(s3):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3.put(f"s3://{s3.bucket}/private.txt", b"secret")
    bad = {
        "anonymous": boto3.client("s3", config=Config(signature_version=UNSIGNED)),
        "wrong secret": boto3.client(
            "s3", aws_access_key_id=s3.access_key, aws_secret_access_key="x" * 40
        ),
        "unknown key": boto3.client(
            "s3", aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="y" * 40
        ),
    }
    for label, client in bad.items():
        for call in (
            lambda c=client: c.get_object(Bucket=s3.bucket, Key="private.txt"),
            lambda c=client: c.list_objects_v2(Bucket=s3.bucket),
            lambda c=client: c.put_object(Bucket=s3.bucket, Key="intruder.txt", Body=b"x"),
        ):
            with pytest.raises(ClientError) as err:
                call()
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, label
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{s3.endpoint_url}/{s3.bucket}/private.txt", timeout=5)
    assert err.value.code == 403


def _listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of the TCP sockets process `pid` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    out = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
                addr = ":".join(b.hex() for b in words)
            else:
                addr = ".".join(str(b) for b in raw[::-1])
            out.append((addr, int(port_hex, 16)))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_s3_listens_on_loopback_only(s3):
    sockets = _listening_sockets(s3._proc.pid)
    assert sockets, "found no listening sockets for weed"
    assert {addr for addr, _ in sockets} == {"127.0.0.1"}, sockets
    # Exactly the ports we gave it: no WebDAV, Iceberg, Lance or default ports.
    assert {port for _, port in sockets} == set(s3.ports.values())


def test_s3_server_dies_with_its_parent(tmp_path):
    """A Python that started LocalS3 and is SIGKILLed takes weed with it (PDEATHSIG)."""
    code = textwrap.dedent(
        """
        import sys, time
        from lpr_ray.local.s3server import LocalS3
        s3 = LocalS3().start()
        print(s3._proc.pid, s3.root, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        weed_pid, root = parent.stdout.readline().split()
        weed_pid = int(weed_pid)
        os.kill(weed_pid, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(weed_pid, 0)
            stat = Path(f"/proc/{weed_pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.1)
    else:
        os.kill(weed_pid, signal.SIGKILL)
        pytest.fail("weed outlived the Python process that started it")
    import shutil

    shutil.rmtree(root, ignore_errors=True)  # the dead parent could not clean up


# -- Ray --------------------------------------------------------------------------------------


def test_ray_driver_runs_tasks_and_reads_s3(s3, ray_cluster):
    import ray

    @ray.remote
    def whoami(x):
        return x * 2, os.environ.get("AWS_ENDPOINT_URL")

    assert ray.get(whoami.remote(21)) == (42, s3.endpoint_url)  # workers inherit the S3 env
    assert ray.cluster_resources()["CPU"] == 2

    total = ray.data.range(1000).map_batches(lambda b: {"id": b["id"] * 2}).sum("id")
    assert total == 999000

    for i in range(3):
        s3.put(f"s3://{s3.bucket}/ray-read/{i}.bin", bytes([i]) * (i + 1))
    rows = ray.data.read_binary_files(f"s3://{s3.bucket}/ray-read/").take_all()
    assert sorted(r["bytes"] for r in rows) == [b"\x00", b"\x01\x01", b"\x02\x02\x02"]


def test_job_submission_fake_gpu_and_second_node(s3):
    """Jobs API (SDK and CLI), a declared GPU on a CPU machine, an extra node; clean stop."""
    from ray.job_submission import JobStatus
    from ray_cluster import LocalRayCluster

    cluster = LocalRayCluster(
        num_cpus=1,
        num_gpus=1,
        resources={"accel_slot": 2},
        dashboard=True,
        env=s3.env(),
        workers=[{"num_cpus": 1, "resources": {"second_node": 1}}],
    )
    with cluster:
        temp_dir = cluster.temp_dir

        def promised(ports):  # every port a node was told to use, its worker range included
            single = {v for k, v in ports.items() if k not in ("min_worker", "max_worker")}
            return single | set(range(ports["min_worker"], ports["max_worker"] + 1))

        assert promised(cluster.head.ports).isdisjoint(promised(cluster.worker_nodes[0].ports))
        probe = (
            "import json, os, ray; ray.init(); "
            "print('JOB-RESULT', json.dumps({'res': ray.cluster_resources(), "
            "'nodes': len([n for n in ray.nodes() if n['Alive']]), "
            "'s3': os.environ.get('AWS_ENDPOINT_URL')}))"
        )
        client = cluster.job_client()
        job_id = client.submit_job(entrypoint=f'{sys.executable} -c "{probe}"')
        deadline = time.monotonic() + 180
        while not (status := client.get_job_status(job_id)).is_terminal():
            assert time.monotonic() < deadline, "job did not finish"
            time.sleep(0.5)
        logs = client.get_job_logs(job_id)
        assert status == JobStatus.SUCCEEDED, logs
        line = next(x for x in logs.splitlines() if x.startswith("JOB-RESULT "))
        result = json.loads(line[len("JOB-RESULT ") :])
        assert result["res"]["GPU"] == 1
        assert result["res"]["accel_slot"] == 2
        assert result["res"]["second_node"] == 1
        assert result["res"]["CPU"] == 2
        assert result["nodes"] == 2
        assert result["s3"] == s3.endpoint_url

        # The `ray job submit` CLI, with nothing but cluster.env() for address and token.
        ray_cli = str(Path(sys.executable).parent / "ray")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(cluster.env())
        proc = subprocess.run(
            [ray_cli, "job", "submit", "--", sys.executable, "-c", "print('CLI-JOB-OK')"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "CLI-JOB-OK" in proc.stdout + proc.stderr

        # Without the token the Jobs API refuses.
        req = urllib.request.Request(f"{cluster.dashboard_url}/api/jobs/")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code in (401, 403)

    assert not temp_dir.exists()
    leftovers = [
        p.name for p in Path("/proc").glob("[0-9]*") if _cmdline_mentions(p, str(temp_dir) + "/")
    ]
    assert leftovers == []


def _cmdline_mentions(proc_dir: Path, needle: str) -> bool:
    try:
        cmdline = (proc_dir / "cmdline").read_bytes()
    except OSError:
        return False
    # A zombie keeps no command line; a live one naming our dir is a leak.
    return needle.encode() in cmdline


def test_port_choices_never_overlap_ports_already_promised():
    """Every port Ray is told to use is free only until it binds it: a node's worker-port
    range that covered a port chosen for the same node made `ray start` refuse to start
    (seen in CI). Ports handed out are kept apart from those already promised."""
    from lpr_ray.local import free_port_range, free_ports

    promised = set(free_ports(9))
    for _ in range(50):
        assert promised.isdisjoint(free_ports(9, avoid=promised))
    # A range is never placed over a promised port, even when most of the space is promised.
    promised |= set(range(20000, 58000))
    base = free_port_range(64, avoid=promised)
    assert promised.isdisjoint(range(base, base + 64))

