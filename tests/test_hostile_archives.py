"""Hostile archives through the real job (issue 21): each object gets exactly one row with a
status and an error a person can act on, and no object stops or hangs the run.

The archives mix good crops with stray-byte JPEG bombs, markers (`_SUCCESS`, `.DS_Store`),
links, FIFOs, S3 keys ending in "/" or holding "//", manifests naming files outside the
input, very long partition values, and 1,000 mutated crops (tests/hostile.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from contract_models import write_contract_model
from hostile import make_fuzzed_objects, make_hostile_objects

from lpr_ray.core.charset import US
from lpr_ray.core.errors import LprRayError
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.fetch import fetch_and_decode
from lpr_ray.pipeline.job import run_job
from lpr_ray.results.table import read_results

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parent
STATUSES = {"ok", "too_short", "empty_object", "not_an_image", "truncated_image", "image_too_small",
            "image_too_large", "not_found", "access_denied", "read_error", "refused", "not_a_file"}
STRAY_BOMBS = [(n, d) for n, d, s in make_hostile_objects(seed=3) if "_before_sof_" in n]


def good_jpeg(i: int) -> bytes:
    rng = np.random.default_rng(1000 + i)
    img = rng.integers(0, 256, size=(int(rng.integers(20, 90)), int(rng.integers(60, 250)), 3), dtype=np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


def rows_of(output: str, run_id: str) -> list[dict]:
    return read_results(output, filter=pads.field("run_id") == run_id).to_pylist()


def check_one_row_each(rows: list[dict], expected: dict[str, str | None]) -> dict[str, dict]:
    """Exactly one row per object, with a known status; where a status is expected, that one,
    and an error that says something (never a file's content)."""
    assert Counter(r["uri"] for r in rows) == Counter(list(expected))
    by_uri = {r["uri"]: r for r in rows}
    for uri, want in expected.items():
        r = by_uri[uri]
        assert r["status"] in STATUSES, r
        if want is not None:
            assert r["status"] == want, r
        if r["status"] not in ("ok", "too_short"):
            assert r["error"] and r["plate"] is None, r
            assert "root:" not in r["error"], r
    return by_uri


# --- decoding: bounded whatever the bytes --------------------------------------------------


def test_opencv_refuses_to_allocate_past_the_pixel_limit_whatever_the_header_says():
    """The second wall: with lpr_ray.core.image imported, OpenCV itself refuses a 20M-pixel image
    (our header parsers are the first wall, and a parser can be fooled)."""
    code = textwrap.dedent("""
        import cv2, numpy as np, lpr_ray.core.image
        img = np.zeros((4000, 5000), np.uint8)
        ok, buf = cv2.imencode(".png", img)
        try:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
            print("decoded", None if out is None else out.shape)
        except cv2.error as exc:
            print("refused" if "CV_IO_MAX_IMAGE_PIXELS" in str(exc) else f"other {exc}")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", (out.stdout, out.stderr[-2000:])


def test_a_thousand_mutated_crops_decode_to_a_status_in_bounded_memory():
    """1,000 crops of six formats with bytes flipped, inserted and cut in headers and data,
    and fuzzed header sizes: a status each, never an exception, and under 300 MB more memory
    than one ordinary decode needs (a 16M-pixel image is 48 MB)."""
    code = textwrap.dedent("""
        import json, resource
        from hostile import make_fuzzed_objects
        from lpr_ray.core.image import DEFAULT_MAX_PIXELS, decode_crop
        objects = make_fuzzed_objects(seed=21, count=1000)
        decode_crop(objects[0][1])  # the first decode sets up OpenCV's threads and arenas
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts, bad, jumps, peak = {}, [], [], base
        for name, data in objects:
            crop = decode_crop(data)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if rss > peak + 20:
                jumps.append((name, crop.status, crop.width, crop.height, round(rss)))
            peak = max(peak, rss)
            counts[crop.status] = counts.get(crop.status, 0) + 1
            if crop.status == "ok" and (crop.image.shape != (48, 96, 3) or crop.width * crop.height > DEFAULT_MAX_PIXELS):
                bad.append(name)
            if crop.status != "ok" and not crop.error:
                bad.append(name)
        print(json.dumps({"counts": counts, "bad": bad, "jumps": jumps, "grew_mb": peak - base}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=TESTS_DIR)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert sum(report["counts"].values()) == 1000 and not report["bad"], report
    assert set(report["counts"]) <= STATUSES and len(report["counts"]) >= 4, report
    assert report["grew_mb"] < 300, report


# --- the job on a local folder ----------------------------------------------------------------


def test_local_archive_with_bombs_markers_links_and_fifos(ray_cluster, model_dir, tmp_path):
    base = tmp_path / "site"
    src = base / "archive"
    (src / "lot").mkdir(parents=True)
    (base / "elsewhere").mkdir()
    expected: dict[str, str | None] = {}

    def put(rel: str, data: bytes, status: str | None) -> Path:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[str(path)] = status
        return path

    for i in range(200):
        put(f"lot/{i:03d}.jpg", good_jpeg(i), None)
    for name, data in STRAY_BOMBS:  # 2.4 GB each if decoded: four in one fetch batch
        put(f"lot/{Path(name).name}", data, "image_too_large")
    put("lot/_SUCCESS", b"", "empty_object")
    put("lot/.DS_Store", good_jpeg(500), None)  # a real JPEG, whatever its name
    inside = put("lot/target.jpg", good_jpeg(501), None)
    (src / "lot" / "link_inside.jpg").symlink_to(inside)
    expected[str(src / "lot" / "link_inside.jpg")] = None
    (base / "elsewhere" / "secret.jpg").write_bytes(good_jpeg(502))
    (src / "lot" / "link_outside.jpg").symlink_to(base / "elsewhere" / "secret.jpg")
    expected[str(src / "lot" / "link_outside.jpg")] = "refused"
    (src / "lot" / "link_to_folder").symlink_to(src / "lot")
    expected[str(src / "lot" / "link_to_folder")] = "not_a_file"
    os.mkfifo(src / "lot" / "fifo.jpg")  # reading it would block for ever
    expected[str(src / "lot" / "fifo.jpg")] = "not_a_file"
    # The output reached through an alias inside the input: still the output, not input.
    (src / "real").mkdir()
    (src / "alias").symlink_to(src / "real")
    expected[str(src / "alias")] = "not_a_file"  # a link to a folder: a row, not followed
    output = str(src / "alias" / "results")
    first = run_job(RunConfig(input=str(src), output=output, model=str(model_dir), run_id="hostile1"))
    by_uri = check_one_row_each(rows_of(output, first.run_id), expected)
    assert by_uri[str(src / "lot" / ".DS_Store")]["status"] in ("ok", "too_short")
    assert "--local-root" in by_uri[str(src / "lot" / "link_outside.jpg")]["error"]
    assert "FIFO" in by_uri[str(src / "lot" / "fifo.jpg")]["error"]
    assert "20000x20000" in by_uri[str(src / "lot" / STRAY_BOMBS[0][0].rsplit("/", 1)[1])]["error"]
    # A second run sees the first one's results folder through the alias: not as inputs.
    second = run_job(RunConfig(input=str(src), output=output, model=str(model_dir), run_id="hostile2",
                               local_roots=(str(base / "elsewhere"),)))
    again = check_one_row_each(rows_of(output, second.run_id), {
        **expected, str(src / "lot" / "link_outside.jpg"): None})
    assert again[str(src / "lot" / "link_outside.jpg")]["status"] in ("ok", "too_short")
    assert not list(Path(output).rglob("*.tmp"))


def test_local_manifest_may_not_name_files_outside_its_folder(ray_cluster, model_dir, tmp_path):
    (tmp_path / "crops").mkdir()
    good = tmp_path / "crops" / "a.jpg"
    good.write_bytes(good_jpeg(7))
    os.mkfifo(tmp_path / "crops" / "pipe.jpg")
    uris = [str(good), "/etc/passwd", str(tmp_path / "crops" / "pipe.jpg"), str(tmp_path / "crops" / "gone.jpg")]
    manifest = tmp_path / "m.parquet"
    pq.write_table(pa.table({"uri": uris}), manifest)
    output = str(tmp_path / "out")
    summary = run_job(RunConfig(input=str(manifest), output=output, model=str(model_dir)))
    by_uri = check_one_row_each(rows_of(output, summary.run_id), dict(zip(
        uris, [None, "refused", "not_a_file", "not_found"], strict=True)))
    assert by_uri[str(good)]["status"] in ("ok", "too_short")
    # Allowed: read like any object, and still no content echoed into the row.
    summary = run_job(RunConfig(input=str(manifest), output=output, model=str(model_dir), local_roots=("/etc",)))
    rows = {r["uri"]: r for r in rows_of(output, summary.run_id)}
    assert rows["/etc/passwd"]["status"] == "not_an_image"
    assert "root" not in rows["/etc/passwd"]["error"], rows["/etc/passwd"]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_long_partition_values_are_bounded_and_stay_distinct(where, request, ray_cluster, model_dir, tmp_path):
    """A 244-byte CJK folder name percent-encodes to 720 bytes: ENAMETOOLONG on local output
    (no row for anyone), a hang on S3."""
    long_a, long_b = "停车场" * 27 + "甲", "停车场" * 27 + "乙"  # 244 bytes: a legal folder name
    sites = (long_a, long_b, "short")
    if where == "local":
        src, output = tmp_path / "in", str(tmp_path / "out")
        for site in sites:
            (src / site).mkdir(parents=True)
            (src / site / "x.jpg").write_bytes(good_jpeg(len(site)))
        source = str(src)
    else:
        s3 = request.getfixturevalue("s3")
        for site in sites:
            s3.put(f"s3://{s3.bucket}/longparts/in/{site}/x.jpg", good_jpeg(len(site)))
        source, output = f"s3://{s3.bucket}/longparts/in", f"s3://{s3.bucket}/longparts/out"
    summary = run_job(RunConfig(input=source, output=output, model=str(model_dir),
                                partition_pattern=r"/in/(?P<site>[^/]+)/"))
    rows = rows_of(output, summary.run_id)
    by_site = {r["uri"].split("/")[-2]: r["site"] for r in rows}
    assert len(rows) == 3 and by_site["short"] == "short"
    assert by_site[long_a] != by_site[long_b] and all("~" in by_site[s] for s in (long_a, long_b))
    assert all(len(bounded.encode()) < 255 for bounded in by_site.values())


# --- the job on the local S3 server ---------------------------------------------------------


def test_s3_archive_with_markers_odd_keys_and_mutated_crops(s3, ray_cluster, model_dir):
    prefix = f"s3://{s3.bucket}/fuzzed"
    client = s3.boto3_client()
    expected: dict[str, str | None] = {}
    for name, data in make_fuzzed_objects(seed=5, count=1000):
        client.put_object(Bucket=s3.bucket, Key=f"fuzzed/{name}", Body=data)
        expected[f"{prefix}/{name}"] = None
    for name, data in STRAY_BOMBS:
        client.put_object(Bucket=s3.bucket, Key=f"fuzzed/{name}", Body=data)
        expected[f"{prefix}/{name}"] = "image_too_large"
    odd = {"fuzzed/_SUCCESS": (b"", "empty_object"), "fuzzed/x/.DS_Store": (good_jpeg(3), None)}
    client.put_object(Bucket=s3.bucket, Key="fuzzed/empty-folder/", Body=b"")  # a folder: no row
    for key, (data, status) in odd.items():
        client.put_object(Bucket=s3.bucket, Key=key, Body=data)
        expected[f"s3://{s3.bucket}/{key}"] = status
    output = f"s3://{s3.bucket}/fuzzed-out"
    summary = run_job(RunConfig(input=prefix, output=output, model=str(model_dir)))
    check_one_row_each(rows_of(output, summary.run_id), expected)
    assert summary.rows == len(expected)


def test_s3_keys_pyarrow_cannot_address_are_rows_not_fatal(s3):
    """A key with '//' made pyarrow raise ArrowInvalid, which failed the whole fetch batch:
    now s3fs reads it. (SeaweedFS stores "a//b" as "a/b", so this proves the batch survives,
    not that real S3's "//" keys are listed: s3fs's listing drops the empty component too.)
    A key ending in "/" is never opened: its row says what it is."""
    client = s3.boto3_client()
    client.put_object(Bucket=s3.bucket, Key="odd/double//slash.jpg", Body=good_jpeg(4))
    uris = [f"s3://{s3.bucket}/odd/double//slash.jpg", f"s3://{s3.bucket}/odd/missing//x.jpg",
            f"s3://{s3.bucket}/odd/folder/", f"s3://{s3.bucket}/odd/../escape.jpg"]
    out = fetch_and_decode({"uri": np.array(uris, dtype=object)})
    # A ".." key is refused by the server as a bad request: not "access denied".
    assert list(out["status"]) == ["ok", "not_found", "not_a_file", "read_error"], list(out["error"])
    assert "ends in '/'" in out["error"][2]


def test_read_only_credentials_and_bad_output_paths_fail_before_ray(s3, tmp_path, monkeypatch):
    crops = tmp_path / "crops"
    crops.mkdir()
    (crops / "a.jpg").write_bytes(good_jpeg(1))
    model = tmp_path / "model"
    model.mkdir()
    write_contract_model(model, list(US.characters), seed=5)
    monkeypatch.setattr("lpr_ray.pipeline.job.connect_ray", lambda: pytest.fail("Ray started"))
    with pytest.raises(LprRayError, match=r"empty path component"):
        run_job(RunConfig(input=str(crops), output=f"s3://{s3.bucket}/nest//out", model=str(model)))
    for key, value in s3.read_only_env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(LprRayError, match=r"cannot write to --output s3://.*access denied") as err:
        run_job(RunConfig(input=str(crops), output=f"s3://{s3.bucket}/readonly-out", model=str(model)))
    assert "\n" not in str(err.value) and s3.reader_secret not in str(err.value)


def test_run_json_stdout_holds_only_the_json_whatever_ray_prints(tmp_path):
    """Ray forwards workers' prints to the driver's stdout ('(task pid=...) ...'); with --json
    they go to stderr, from Python and from file descriptor 1 alike."""
    code = textwrap.dedent("""
        import os, time, ray
        from lpr_ray.cli.run import _stdout_to_stderr
        with _stdout_to_stderr() as stdout:
            ray.init(address="local", include_dashboard=False, num_cpus=1)
            @ray.remote
            def noisy():
                print("noise from a worker", flush=True)
                return 1
            ray.get(noisy.remote())
            time.sleep(2)  # the log monitor forwards worker lines about once a second
            print("noise from python")
            os.write(1, b"noise on fd 1\\n")
            ray.shutdown()
        with stdout:
            stdout.write('{"rows": 1}\\n')
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == '{"rows": 1}\n', done.stdout
    assert "noise from a worker" in done.stderr and "noise on fd 1" in done.stderr


def _cli_run(*args: str, env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`lpr-ray run` in its own process with its own local Ray, whose workers inherit env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "run", *args], capture_output=True,
                          text=True, timeout=600, env=env, cwd=cwd)


def test_a_local_ray_that_cannot_start_is_one_line_not_a_traceback(model_dir, tmp_path):
    """Ray keeps its session on disk: a full or unusable disk there used to end in Ray's
    traceback after the run had begun. Here its folder lies under a file."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(good_jpeg(1))
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "out"
    done = _cli_run("--input", str(src), "--output", str(out), "--model", str(model_dir),
                    env_extra={"RAY_TMPDIR": str(tmp_path / "a-file" / "ray")}, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "cannot start a local Ray" in done.stderr and "disk full or read-only" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "_delta_log").exists()  # nothing committed


def test_a_ray_cluster_that_is_down_fails_in_seconds(model_dir, tmp_path):
    """Ray itself retried an unreachable RAY_ADDRESS for minutes before giving up."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(good_jpeg(2))
    t = time.monotonic()
    done = _cli_run("--input", str(src), "--output", str(tmp_path / "out"), "--model", str(model_dir),
                    env_extra={"RAY_ADDRESS": "127.0.0.1:9"}, cwd=tmp_path)  # nothing listens on port 9
    assert done.returncode == 2, done.stderr[-3000:]
    assert "cannot reach the Ray cluster at RAY_ADDRESS=127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - t < 60


def test_a_worker_killed_on_every_try_costs_its_object_a_row_not_the_run(model_dir, tmp_path):
    """One object whose fetch worker dies on every try (SIGKILL, as the memory killer does):
    Ray Data used to retry it for ever. Now three tries, then its batch is read again one object
    per task, and only the culprit gets a batch_lost row, read again by the next run."""
    import json

    src = tmp_path / "in"
    src.mkdir()
    for i in range(300):
        (src / f"{i:03d}.jpg").write_bytes(good_jpeg(i))
    (src / "poison.jpg").write_bytes(good_jpeg(999))
    out = tmp_path / "out"
    args = ["--input", str(src), "--output", str(out), "--model", str(model_dir), "--incremental", "--json"]
    first = _cli_run(*args, env_extra={"LPR_RAY_KILL_FETCH_ON": "poison"}, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout)
    rows = {r["uri"]: r for r in rows_of(str(out), summary["run_id"])}
    assert len(rows) == 301 and summary["rows"] == 301
    poison = rows[str(src / "poison.jpg")]
    assert poison["status"] == "batch_lost" and "--incremental" in poison["error"], poison
    assert sum(r["status"] in ("ok", "too_short") for r in rows.values()) == 300
    second = _cli_run(*args, env_extra={}, cwd=tmp_path)  # the cause is gone
    assert second.returncode == 0, second.stderr[-3000:]
    # A private local Ray keeps token auth on without saying so on every run (issue 22).
    assert "Token authentication is enabled" not in first.stderr + second.stderr
    summary = json.loads(second.stdout)
    again = rows_of(str(out), summary["run_id"])
    assert [r["uri"] for r in again] == [str(src / "poison.jpg")] and again[0]["status"] in ("ok", "too_short")


def test_lost_batches_beyond_the_limit_fail_the_run_in_one_line(model_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        (src / f"poison{i}.jpg").write_bytes(good_jpeg(i))
    done = _cli_run("--input", str(src), "--output", str(tmp_path / "out"), "--model", str(model_dir),
                    "--max-lost-batches", "0", env_extra={"LPR_RAY_KILL_FETCH_ON": "poison"}, cwd=tmp_path)
    assert done.returncode != 0
    # Ray logs the worker's death (with a traceback) and its shutdown; lpr-ray's word is one line.
    ours = [line for line in done.stderr.splitlines() if line.startswith("lpr-ray run: error:")]
    assert len(ours) == 1 and "was NOT committed" in ours[0] and "--max-lost-batches" in ours[0], done.stderr[-3000:]
    assert not list((tmp_path / "out").glob("_delta_log/*")) and not list((tmp_path / "out").glob("_commits/*"))


def test_an_unreachable_store_is_a_read_error_or_one_line_not_not_found(monkeypatch, tmp_path):
    """A refused connection read as 'not_found' (HTTP) or a traceback (listing S3)."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = fetch_and_decode({"uri": np.array([f"http://127.0.0.1:{port}/a.jpg"], dtype=object)})
    assert out["status"][0] == "read_error" and "cannot reach the server" in out["error"][0]
    for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    import s3fs

    from lpr_ray.pipeline.inputs import resolve_inputs

    s3fs.S3FileSystem.clear_instance_cache()  # fsspec keeps one per process, made with the old env
    try:
        with pytest.raises(LprRayError, match=r"cannot read the input s3://bkt/x/: .*connect") as err:
            resolve_inputs("s3://bkt/x/")
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    assert "\n" not in str(err.value)


def test_a_second_partitioning_in_one_root_is_refused_before_ray(ray_cluster, model_dir, tmp_path, monkeypatch):
    """Runs partitioned two ways in one root made a plain Hive read fail ("Hive partition
    mismatch"); the second run is now refused, naming both."""
    src = tmp_path / "in" / "lot1"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(good_jpeg(1))
    output = str(tmp_path / "out")
    first = run_job(RunConfig(input=str(tmp_path / "in"), output=output, model=str(model_dir),
                              partition_pattern=r"/in/(?P<site>[^/]+)/"))
    monkeypatch.setattr("lpr_ray.pipeline.job.connect_ray", lambda: pytest.fail("Ray started"))
    with pytest.raises(LprRayError, match=r"partitioned by \['run_date', 'site'\]; this run's --partition-pattern "
                                          r"gives \['run_date'\]") as err:
        run_job(RunConfig(input=str(tmp_path / "in"), output=output, model=str(model_dir)))
    assert first.run_id in str(err.value)


def _private_tmpfs_works() -> bool:
    """`unshare -rm` gives this test its own mount namespace (no root needed where user
    namespaces are allowed), in which a tiny tmpfs is a real full disk for the run alone."""
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _private_tmpfs_works(), reason="needs `unshare -rm` and tmpfs mounts for a private full disk")
def test_a_full_disk_is_one_line_and_leaves_no_data_files(model_dir, tmp_path):
    """The output on a 20 KiB tmpfs: Ray Data takes the Write task's ENOSPC for an errored block
    and leaves a Parquet file cut short. The run must end in one line naming the full disk,
    commit nothing, and remove what it wrote."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(300):
        (src / f"{i:03d}.jpg").write_bytes(good_jpeg(i))
    full = tmp_path / "full"
    full.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    script = (f"mount -t tmpfs -o size=20k tmpfs {full} && "
              f"{sys.executable} -m lpr_ray.cli.main run --input {src} --output {full}/out --model {model_dir}; "
              f"echo exit=$?; find {full} -type f -printf 'left:%P\\n'")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp_path)
    said = [line for line in done.stderr.splitlines() if line.startswith("lpr-ray run: error:")]
    assert len(said) == 1, done.stderr[-3000:]
    assert "No space left on device" in done.stderr and "the disk holding it is full" in said[0], said
    assert "NOT committed" in said[0] and "exit=2" in done.stdout
    # Ray's log of the failed Write task has its own traceback; none runs through lpr_ray.
    assert not re.search(r'File "[^"]*/lpr_ray/', done.stderr), done.stderr[-3000:]
    left = [line[5:] for line in done.stdout.splitlines() if line.startswith("left:")]
    assert not [p for p in left if p.startswith("out/data/") or p.startswith("out/_delta_log/")
                or p.endswith(".tmp")], left


def test_a_gpu_backend_on_a_cpu_cluster_fails_in_one_line_and_leaves_no_trace(ray_cluster, model_dir, tmp_path):
    """The run failed after its id was claimed and left `_runs/<id>/config.json` behind."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(good_jpeg(1))
    output = tmp_path / "out"
    cfg = RunConfig(input=str(src), output=str(output), model=str(model_dir), backend="tensorrt", run_id="gpu-asked")
    with pytest.raises(LprRayError, match="declares no GPUs: on CPUs use --backend onnxruntime"):
        run_job(cfg)
    assert not (output / "_runs" / "gpu-asked").exists()
    # The id is free again, and the same input reads on the CPU.
    summary = run_job(RunConfig(input=str(src), output=str(output), model=str(model_dir), run_id="gpu-asked"))
    assert summary.rows == 1
