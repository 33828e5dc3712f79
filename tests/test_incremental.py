"""Incremental runs, exactly-once commits and crashes, on SeaweedFS and a local Ray cluster.

The crash tests run the real CLI in a subprocess against the session cluster and kill it
with SIGKILL at chosen points (LPR_RAY_CRASH_AT, fault injection in lpr_ray/pipeline/job.py),
at a moment chosen from outside, or kill a recogniser actor; then they run it again and check
that every object is in the committed results exactly once and that nothing uncommitted is
visible to the reader (lpr_ray.results.table).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pyarrow.dataset as pads
import pytest
from contract_models import write_contract_model
from pyarrow.fs import FileSelector

from lpr_ray.core.charset import US
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem
from lpr_ray.pipeline import job as job_module
from lpr_ray.pipeline import lock as cluster_lock
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.job import run_job
from lpr_ray.pipeline.summary import run_files
from lpr_ray.results.table import commit_records, committed_files, read_results

pytestmark = pytest.mark.slow

PATTERN = r"(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"


def png(i: int) -> bytes:
    rng = np.random.default_rng(i)
    return cv2.imencode(".png", rng.integers(0, 256, size=(24, 80, 3), dtype=np.uint8))[1].tobytes()


def put_objects(s3, prefix: str, start: int, n: int) -> list[str]:
    uris = []
    for i in range(start, start + n):
        uri = f"s3://{s3.bucket}/{prefix}/lot{i % 2}/cam{i % 3}/2026-05-0{1 + i % 4}/{i:04d}.png"
        s3.put(uri, png(i))
        uris.append(uri)
    return uris


def assert_exactly_once(root: str, expected: list[str]) -> None:
    counts = Counter(read_results(root, columns=["uri"]).column("uri").to_pylist())
    assert set(counts) == set(expected), (len(counts), len(expected))
    assert max(counts.values()) == 1, [u for u, c in counts.items() if c > 1][:5]


def cli(ray_cluster, args: list[str], crash_at: str | None = None, wait: bool = True):
    env = {**os.environ, **ray_cluster.env()}
    env.pop("LPR_RAY_CRASH_AT", None)
    if crash_at:
        env["LPR_RAY_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "lpr_ray.cli.main", "run", "--incremental", "--json", *args]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def summary_of(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{"):])


def test_incremental_skips_done_and_redoes_changed_or_new_model(s3, ray_cluster, model_dir, tmp_path):
    uris = put_objects(s3, "inc-a", 0, 40)
    s3.put(f"s3://{s3.bucket}/inc-a/stray.png", b"not an image")  # does not match the pattern
    out = f"s3://{s3.bucket}/inc-a-out"
    cfg = dict(input=f"s3://{s3.bucket}/inc-a/", output=out, model=str(model_dir), incremental=True,
               partition_pattern=PATTERN)
    first = run_job(RunConfig(**cfg))
    assert (first.rows, first.skipped, first.commit_seq) == (41, 0, 1)
    table = read_results(out)
    assert table.num_rows == 41 and set(table.column("run_id").to_pylist()) == {first.run_id}
    stray = table.filter(pads.field("uri") == f"s3://{s3.bucket}/inc-a/stray.png").to_pylist()[0]
    assert (stray["site"], stray["camera"], stray["date"]) == ("__unknown__",) * 3
    row = table.filter(pads.field("uri") == uris[5]).to_pylist()[0]
    assert (row["site"], row["camera"], row["date"]) == ("lot1", "cam2", "2026-05-02")
    with pytest.raises(LprRayError, match="already used"):
        run_job(RunConfig(**cfg, run_id=first.run_id))
    # Nothing new: nothing processed, nothing committed.
    again = run_job(RunConfig(**cfg))
    assert (again.rows, again.skipped, again.commit_seq) == (0, 41, None)
    assert again.backend is None and "backend none (nothing was processed)" in again.format()
    assert "by status: no rows" in again.format() and "nothing new to read" in again.format()
    # ...and answered without Ray: a scheduled run pointed at a cluster that is down still says so.
    env = {**os.environ, **s3.env(), "RAY_ADDRESS": "127.0.0.1:9"}  # nothing listens on port 9
    args = ["run", "--input", cfg["input"], "--output", out, "--model", str(model_dir), "--incremental",
            "--partition-pattern", PATTERN, "--json"]
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    quick = json.loads(proc.stdout)
    assert (quick["rows"], quick["skipped"], quick["commit_seq"]) == (0, 41, None)
    # One object changed, two added: exactly those three.
    s3.put(uris[0], png(999))
    added = put_objects(s3, "inc-a", 100, 2)
    third = run_job(RunConfig(**cfg))
    assert (third.rows, third.skipped) == (3, 40)
    rows = read_results(out, columns=["uri", "run_id"], filter=pads.field("run_id") == third.run_id)
    assert sorted(rows.column("uri").to_pylist()) == sorted([uris[0], *added])
    # Other weights: everything again (the ledger key includes the weights hash).
    other = tmp_path / "other-model"
    write_contract_model(other, list(US.characters), seed=6)
    fourth = run_job(RunConfig(**{**cfg, "model": str(other)}))
    assert (fourth.rows, fourth.skipped) == (43, 0)
    summary = json.loads(s3.get(f"{out}/_runs/{fourth.run_id}/summary.json"))
    assert summary["commit_seq"] == 3 and summary["timings"]["total"] > 0 and summary["plates_per_second"] > 0
    # No other run held the cluster: starting the lock is not reported as a wait for one.
    assert summary["timings"]["lock_wait"] == 0
    # The first model's weights deployed under another folder name: the same model, nothing again.
    renamed = tmp_path / "deployed-copy"
    shutil.copytree(model_dir, renamed)
    fifth = run_job(RunConfig(**{**cfg, "model": str(renamed)}))
    assert (fifth.rows, fifth.skipped) == (0, 43)


def test_manifest_without_versions_is_headed_then_skipped(s3, ray_cluster, model_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    uris = put_objects(s3, "inc-m", 0, 20) + [f"s3://{s3.bucket}/inc-m/missing.png"]
    # Listed twice: read and committed once (a dropped or doubled object failed the run).
    listed = uris[:5] + [uris[2]] + uris[5:] + [uris[0]]
    pq.write_table(pa.table({"uri": listed}), tmp_path / "m.parquet")
    s3.put(f"s3://{s3.bucket}/inc-m-manifest/m.parquet", (tmp_path / "m.parquet").read_bytes())
    out = f"s3://{s3.bucket}/inc-m-out"
    cfg = RunConfig(input=f"s3://{s3.bucket}/inc-m-manifest/m.parquet", output=out, model=str(model_dir),
                    incremental=True)
    assert run_job(cfg).rows == 21
    ledger = pq.read_table(s3.filesystem().open_input_file(f"{out}/_ledger/{cfg.run_id}.parquet"[5:]))
    versions = dict(zip(ledger.column("uri").to_pylist(), ledger.column("version").to_pylist(), strict=True))
    assert versions[uris[-1]] == "absent" and all(versions[u] and versions[u] != "absent" for u in uris[:-1])
    second = run_job(RunConfig(**{**cfg.__dict__, "run_id": "second"}))
    assert (second.rows, second.skipped) == (0, 21)
    assert_exactly_once(out, uris)


def test_loser_of_a_commit_race_drops_what_the_winner_committed(s3, ray_cluster, model_dir, monkeypatch):
    """B plans and processes 30 objects; A (another cluster) commits 12 of them first; B must
    commit only 18."""
    uris = put_objects(s3, "inc-r", 0, 30)
    out = f"s3://{s3.bucket}/inc-r-out"
    real_commit = job_module.commit
    done = []

    class NoLock:  # A stands for a run on another Ray cluster: B's lock does not cover it
        waited_s = 0.0

        def release(self):
            pass

    def a_commits_first(root, cand, **kw):
        if not done:
            done.append(1)
            monkeypatch.setattr(cluster_lock, "acquire", lambda *a, **k: NoLock())
            a_input = uris[0].rsplit("/", 1)[0] + "/"  # the objects of one folder
            run_job(RunConfig(input=a_input, output=out, model=str(model_dir), incremental=True,
                              partition_pattern=PATTERN, run_id="A"))
        return real_commit(root, cand, **kw)

    monkeypatch.setattr(job_module, "commit", a_commits_first)
    b = run_job(RunConfig(input=f"s3://{s3.bucket}/inc-r/", output=out, model=str(model_dir), incremental=True,
                          partition_pattern=PATTERN, run_id="B"))
    a_rows = read_results(out, filter=pads.field("run_id") == "A").num_rows
    assert a_rows > 0 and b.dropped == a_rows and b.rows == 30 - a_rows and b.commit_seq == 2
    assert_exactly_once(out, uris)
    record = commit_records(out)[-1]
    assert record["run_id"] == "B" and all("B_r1-" in f for f in record["files"])
    assert all("B_r1-" in p for p in run_files(out, "B"))  # the first attempt's files are gone


def test_kill_the_driver_at_any_point_then_rerun(s3, ray_cluster, model_dir):
    out = f"s3://{s3.bucket}/crash-out"
    uris = put_objects(s3, "crash-in", 0, 60)
    base = ["--input", f"s3://{s3.bucket}/crash-in/", "--output", out, "--model", str(model_dir),
            "--partition-pattern", PATTERN]
    # 1. Killed after writing its data files, before ledger and record: nothing visible.
    p = cli(ray_cluster, [*base, "--run-id", "c1"], crash_at="after_write")
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    assert run_files(out, "c1") and commit_records(out) == [] and read_results(out).num_rows == 0
    # 2. Killed right after its commit record, before its summary: all committed, once.
    p = cli(ray_cluster, [*base, "--run-id", "c2"], crash_at="after_commit")
    assert p.returncode == -signal.SIGKILL
    assert_exactly_once(out, uris)
    assert not s3.filesystem().get_file_info(f"{out[5:]}/_runs/c2/summary.json").is_file
    # 3. New objects; killed with its ledger written but before its record.
    uris += put_objects(s3, "crash-in", 60, 20)
    p = cli(ray_cluster, [*base, "--run-id", "c3"], crash_at="before_commit")
    assert p.returncode == -signal.SIGKILL
    assert_exactly_once(out, uris[:60])
    # 4. Killed from outside while its files are being written.
    uris += put_objects(s3, "crash-in", 80, 20)
    p = cli(ray_cluster, [*base, "--run-id", "c4"], wait=False)
    deadline = time.time() + 120
    while not run_files(out, "c4") and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    assert_exactly_once(out, uris[:60])
    # 5. The re-run commits exactly what is missing; uncommitted files stay invisible.
    s = summary_of(cli(ray_cluster, [*base, "--run-id", "c5"]))
    assert (s["rows"], s["skipped"]) == (40, 60)
    assert_exactly_once(out, uris)
    fs, root = arrow_filesystem(out)
    all_files = {i.path for i in fs.get_file_info(FileSelector(f"{root}/data", recursive=True)) if i.is_file}
    visible = {f[5:] for f in committed_files(out)}
    assert visible < all_files  # crashed runs' files exist but no reader sees them


def _recogniser_pids(cluster) -> list[int]:
    """Recogniser actor processes of this test's own cluster (found by its RAY_TMPDIR)."""
    mine = f"RAY_TMPDIR={cluster.temp_dir}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if b"MapWorker" in (entry / "cmdline").read_bytes() and mine in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_kill_a_recogniser_actor_then_rerun(s3, ray_cluster, model_dir):
    out = f"s3://{s3.bucket}/actor-kill-out"
    uris = put_objects(s3, "actor-kill-in", 0, 200)
    base = ["--input", f"s3://{s3.bucket}/actor-kill-in/", "--output", out, "--model", str(model_dir),
            "--batch-size", "16", "--run-id", "k1"]
    p = cli(ray_cluster, base, wait=False)
    deadline, killed = time.time() + 120, []
    while not killed and p.poll() is None and time.time() < deadline:
        for pid in _recogniser_pids(ray_cluster):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.05)
    stdout, stderr = p.communicate(timeout=300)
    assert killed, "no recogniser actor was found to kill"
    print(f"killed recogniser pid(s) {killed}; the run exited with {p.returncode}")
    # Ray Data may restart the actor and finish, or fail the run: either way, once.
    if p.returncode != 0:
        assert commit_records(out) == []
        summary_of(cli(ray_cluster, [*base[:-1], "k2"]))
    assert_exactly_once(out, uris)


def test_two_runs_started_at_once_go_one_after_the_other(s3, ray_cluster, model_dir):
    # Unserialised, two runs' actors can take every CPU of a small cluster and starve each
    # other's fetch tasks: both hang (seen in CI). With the cluster lock the second waits,
    # then finds everything committed by the first.
    out = f"s3://{s3.bucket}/twin-out"
    uris = put_objects(s3, "twin-in", 0, 60)
    base = ["--input", f"s3://{s3.bucket}/twin-in/", "--output", out, "--model", str(model_dir)]
    procs = [cli(ray_cluster, [*base, "--run-id", f"t{i}"], wait=False) for i in range(2)]
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            assert p.returncode == 0, stderr[-3000:]
            results.append(json.loads(stdout[stdout.index("{"):]))
    finally:
        for p in procs:
            p.kill()  # a hung run must not hold the session cluster for the tests after it
    print("twin runs:", [(r["run_id"], r["rows"], r["dropped"], r["skipped"], r["commit_seq"]) for r in results])
    assert_exactly_once(out, uris)
    assert sorted((r["rows"], r["skipped"], r["dropped"]) for r in results) == [(0, 60, 0), (60, 0, 0)]
    assert len(commit_records(out)) == 1


def test_a_run_waits_for_the_cluster_lock_and_gives_up_after_lock_timeout(s3, ray_cluster, model_dir):
    import ray

    out = f"s3://{s3.bucket}/lock-out"
    uris = put_objects(s3, "lock-in", 0, 5)
    base = ["--input", f"s3://{s3.bucket}/lock-in/", "--output", out, "--model", str(model_dir)]
    held = cluster_lock.acquire(ray, "holder-run", "s3://somewhere/else")
    try:
        refused = cli(ray_cluster, [*base, "--run-id", "l1", "--lock-timeout", "3"])
    finally:
        held.release()
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "holder-run" in refused.stderr and "s3://somewhere/else" in refused.stderr
    assert commit_records(out) == []
    # It read and wrote nothing, so its run id is free again (a scheduled job may reuse it).
    with pytest.raises(FileNotFoundError):
        s3.get(f"{out}/_runs/l1/config.json")
    # A run that waits goes on once the lock is free, and reports its wait apart.
    held = cluster_lock.acquire(ray, "holder-run", "s3://somewhere/else")
    waiter = cli(ray_cluster, [*base, "--run-id", "l2", "--lock-timeout", "120"], wait=False)
    try:
        for line in waiter.stderr:
            if "waiting for another lpr-ray run" in line:
                break
        time.sleep(2)
    finally:
        held.release()
    stdout, stderr = waiter.communicate(timeout=300)
    summary = summary_of(subprocess.CompletedProcess(waiter.args, waiter.returncode, stdout, stderr))
    assert summary["rows"] == 5 and summary["timings"]["lock_wait"] >= 2
    t = summary["timings"]
    assert summary["seconds"] - (t["plan"] + t["process"] + t["commit"]) < t["lock_wait"]  # wait not in it
    assert_exactly_once(out, uris)


def test_a_killed_run_does_not_leave_the_cluster_locked(ray_cluster):
    import ray

    code = (
        "import sys, time, ray; from lpr_ray.pipeline import lock; ray.init(address='auto'); "
        "held = lock.acquire(ray, 'doomed', 'out'); print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **ray_cluster.env()},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()[-2000:]
        with pytest.raises(LprRayError, match="doomed"):
            cluster_lock.acquire(ray, "me", "out", timeout_s=1)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        t0 = time.monotonic()
        mine = cluster_lock.acquire(ray, "me", "out", timeout_s=60)
        print(f"lock free {time.monotonic() - t0:.1f} s after its holder was SIGKILLed")
        mine.release()
    finally:
        holder.kill()


def test_output_and_ledger_inside_the_input_and_a_run_id_that_extends_another(s3, ray_cluster, model_dir):
    """OUTPUT and --ledger inside the input prefix (their files are not inputs), the ledger
    outside OUTPUT (read back from its full URI), and a run "nightly" after "nightly_retry"
    (whose files are not "nightly"'s)."""
    prefix = f"s3://{s3.bucket}/nest"
    uris = [f"{prefix}/cam/{i}.png" for i in range(3)]
    for i, uri in enumerate(uris):
        s3.put(uri, png(i))
    out, ledger = f"{prefix}/results", f"{prefix}/ledger"
    cfg = dict(input=f"{prefix}/", output=out, ledger=ledger, model=str(model_dir), incremental=True)
    first = run_job(RunConfig(**cfg, run_id="nightly_retry"))
    assert (first.rows, first.commit_seq) == (3, 1)
    assert commit_records(out)[0]["ledger"] == f"{ledger}/nightly_retry.parquet"
    uris.append(f"{prefix}/cam/3.png")
    s3.put(uris[-1], png(3))
    second = run_job(RunConfig(**cfg, run_id="nightly"))
    assert (second.rows, second.skipped, second.commit_seq) == (1, 3, 2), second.by_status
    third = run_job(RunConfig(**cfg, run_id="nightly_2"))
    assert (third.rows, third.skipped, third.commit_seq) == (0, 4, None)
    assert_exactly_once(out, uris)


def test_failed_reads_are_retried_by_the_next_run(s3, ray_cluster, model_dir, tmp_path):
    """A not_found (or access_denied, read_error) row is committed but kept out of the ledger;
    a decode failure is in it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lpr_ray.results.ledger import read_ledger

    uris = put_objects(s3, "retry-in", 0, 3)
    junk = f"s3://{s3.bucket}/retry-in/junk.png"
    s3.put(junk, b"not an image")
    late = f"s3://{s3.bucket}/retry-in/late.png"  # in the manifest before it is uploaded
    all_uris = [*uris, junk, late]
    pq.write_table(pa.table({"uri": all_uris, "etag": [f"e{i}" for i in range(len(all_uris))]}),
                   tmp_path / "m.parquet")
    s3.put(f"s3://{s3.bucket}/retry-manifest/m.parquet", (tmp_path / "m.parquet").read_bytes())
    out = f"s3://{s3.bucket}/retry-out"
    cfg = dict(input=f"s3://{s3.bucket}/retry-manifest/m.parquet", output=out, model=str(model_dir),
               incremental=True)
    first = run_job(RunConfig(**cfg))
    assert (first.rows, first.by_status["not_found"], first.by_status["not_an_image"]) == (5, 1, 1)
    ledger = read_ledger(out, [r["ledger"] for r in commit_records(out)])
    assert sorted(ledger.column("uri").to_pylist()) == sorted([*uris, junk])
    again = run_job(RunConfig(**cfg))
    assert (again.rows, again.skipped, again.by_status) == (1, 4, {"not_found": 1})
    s3.put(late, png(7))
    fixed = run_job(RunConfig(**cfg))
    assert (fixed.rows, fixed.skipped) == (1, 4) and "not_found" not in fixed.by_status
    assert run_job(RunConfig(**cfg)).skipped == 5


def test_header_only_csv_manifest_is_zero_inputs(s3, ray_cluster, model_dir):
    s3.put(f"s3://{s3.bucket}/empty-manifest/m.csv", b"uri,label\n")
    for incremental in (False, True):
        s = run_job(RunConfig(input=f"s3://{s3.bucket}/empty-manifest/m.csv", output=f"s3://{s3.bucket}/empty-out",
                              model=str(model_dir), incremental=incremental))
        assert (s.rows, s.inputs, s.commit_seq) == (0, 0, None)


def test_another_way_of_reading_is_not_skipped_as_done(s3, ray_cluster, model_dir):
    """The ledger was keyed by the weights only: a run with --tta zoom3 (or --decode grammar)
    after a plain one skipped everything, and its rows did not say how they were read."""
    put_objects(s3, "inc-t", 0, 6)
    cfg = dict(input=f"s3://{s3.bucket}/inc-t/", output=f"s3://{s3.bucket}/inc-t-out", model=str(model_dir),
               incremental=True)
    plain = run_job(RunConfig(**cfg))
    zoom = run_job(RunConfig(**cfg, tta="zoom3"))
    assert (plain.rows, zoom.rows, zoom.skipped) == (6, 6, 0)
    models = set(read_results(cfg["output"], columns=["model"], filter=pads.field("run_id") == zoom.run_id)
                 .column("model").to_pylist())
    assert len(models) == 1 and models.pop().endswith("+zoom3")
    assert (run_job(RunConfig(**cfg, tta="zoom3")).skipped, run_job(RunConfig(**cfg)).skipped) == (6, 6)
