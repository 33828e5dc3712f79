"""Ledger compaction (`lpr-ray vacuum`): many per-run ledger files become one through the
table's log, incremental runs skip exactly what they skipped before, a run that commits while
the compaction runs keeps counting, and the replaced files go after the retention period."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from test_delta_table import engines_agree, storage_options
from test_incremental import PATTERN, assert_exactly_once, png, put_objects

from lpr_ray.cli.main import main as cli_main
from lpr_ray.pipeline import job as job_module
from lpr_ray.pipeline import lock as cluster_lock
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.job import run_job
from lpr_ray.results import ledger_compact
from lpr_ray.results.ledger_compact import compact_ledger
from lpr_ray.results.ledger_refs import committed_ledgers, latest, replaced_ledgers
from lpr_ray.results.table import commit_records, read_log
from lpr_ray.results.vacuum import vacuum


def test_compacted_ledger_skips_the_same_objects_and_keeps_later_runs(s3, ray_cluster, model_dir, monkeypatch):
    prefix = "compact-a"
    out = f"s3://{s3.bucket}/{prefix}-out"
    cfg = dict(input=f"s3://{s3.bucket}/{prefix}/", output=out, model=str(model_dir), incremental=True,
               partition_pattern=PATTERN)
    uris = []
    for start in (0, 10, 20):  # three runs, three ledger files
        uris += put_objects(s3, prefix, start, 10)
        assert run_job(RunConfig(**cfg)).rows == 10
    assert len(committed_ledgers(out)) == 3

    # Another run commits while the compaction streams the files: its entry takes the version
    # the compactor was about to create, so the compactor reads the log again and retries.
    late = put_objects(s3, prefix, 30, 5)
    create = ledger_compact.create_exclusive
    raced = []

    def create_after_a_run(uri, data):
        if not raced:
            raced.append(run_job(RunConfig(**cfg)))
        return create(uri, data)

    assert compact_ledger(out).compacted is None  # 3 files: fewer than the default 24
    monkeypatch.setattr(ledger_compact, "create_exclusive", create_after_a_run)
    done = compact_ledger(out, min_new=3)
    monkeypatch.undo()
    c = done.compacted
    assert raced[0].rows == 5 and c is not None
    assert (c.sources, c.rows, c.covers_through) == (3, 30, 3)  # not the racing run's seq 4
    log = read_log(out)
    assert latest(log).version == len(log) - 1  # after the racing run's entry
    # The committed ledger: the compacted file, then the racing run's own file.
    racing_ledger = next(r["ledger"] for r in commit_records(out) if r["run_id"] == raced[0].run_id)
    assert committed_ledgers(out) == [c.file, racing_ledger]

    # Runs see the same ledger: nothing new is nothing, a new object is exactly that one.
    again = run_job(RunConfig(**cfg))
    assert (again.rows, again.skipped) == (0, 35)
    new = put_objects(s3, prefix, 40, 1)
    once = run_job(RunConfig(**cfg))
    assert (once.rows, once.skipped) == (1, 35)
    assert_exactly_once(out, uris + late + new)
    # Delta readers (delta-rs, Polars, DuckDB) see the compaction as an empty commit.
    assert engines_agree(out, storage_options(s3)) == 36


def test_vacuum_compacts_then_deletes_the_replaced_files_after_the_retention(s3, ray_cluster, model_dir, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    cfg = dict(input=str(src), output=str(out), model=str(model_dir), incremental=True)

    def add_and_run(i: int) -> None:
        (src / f"lot{i}").mkdir(parents=True)
        (src / f"lot{i}" / "a.png").write_bytes(png(i))
        assert run_job(RunConfig(**cfg)).rows == 1

    for i in range(3):
        add_and_run(i)
    first_three = sorted(p.name for p in (out / "_ledger").iterdir())
    assert len(first_three) == 3

    args = ["vacuum", "--results", str(out), "--compact-after", "3"]
    assert cli_main([*args, "--dry-run"]) == 0  # compacts nothing
    assert latest(read_log(str(out))) is None
    assert cli_main(args) == 0
    assert "compacted 3 ledger files (3 rows) into _ledger/compact-" in capsys.readouterr().out
    first = latest(read_log(str(out)))
    # Even with no retention the replaced files stay an hour: a run may have planned with them.
    assert cli_main([*args, "--retention-hours", "0"]) == 0
    assert "ledger not compacted: 0 run ledger file(s)" in capsys.readouterr().out
    assert set(first_three) < {p.name for p in (out / "_ledger").iterdir()}

    # Runs go on; a second compaction replaces the first. Each replaced file is dated by the
    # compaction that first replaced it (dating all by the latest kept them for ever on a root
    # that is vacuumed more often than its retention period).
    for i in range(3, 6):
        add_and_run(i)
    assert cli_main(args) == 0
    log = read_log(str(out))
    second = latest(log)
    assert (second.covers_through, second.sources) == (6, 4)  # the first compacted file + 3 run files
    by = replaced_ledgers(str(out), log)
    assert {ref for ref, c in by.items() if c == first} == {f"_ledger/{n}" for n in first_three}
    assert {ref for ref, c in by.items() if c == second} == set(by) - {f"_ledger/{n}" for n in first_three}
    assert by[first.file] == second and len(by) == 7
    # Two hours on, with a one-hour retention, everything replaced goes and the second file stays.
    gone = vacuum(str(out), retention_hours=1, now=time.time() + 2 * 3600).deleted
    assert sorted(gone) == sorted(by)
    assert [p.name for p in (out / "_ledger").iterdir()] == [second.file.split("/")[-1]]
    assert committed_ledgers(str(out)) == [second.file]

    # An incremental run with nothing new answers from the one file, without starting Ray.
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:9"}  # nothing listens on port 9
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", str(src), "--output",
                           str(out), "--model", str(model_dir), "--incremental", "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"skipped": 6' in proc.stdout and '"rows": 0' in proc.stdout


def test_a_run_that_commits_after_its_peers_ledger_files_were_vacuumed(s3, ray_cluster, model_dir, tmp_path, monkeypatch):
    """B plans at seq 1 and reads y and z; peer A (another cluster) commits y as seq 2; a
    compaction covers seqs 1-2 and their own ledger files are deleted. B's commit check must
    find y in the compacted file (it read A's file by name, now gone) and commit z only."""
    src, out = tmp_path / "in", tmp_path / "out"
    for folder, name, i in (("a", "x", 1), ("b", "y", 2), ("c", "z", 3)):
        (src / folder).mkdir(parents=True)
        (src / folder / f"{name}.png").write_bytes(png(i))
    cfg = dict(output=str(out), model=str(model_dir), incremental=True)
    assert run_job(RunConfig(input=str(src / "a"), **cfg)).rows == 1
    real_commit = job_module.commit

    class NoLock:  # A stands for a run on another Ray cluster: B's lock does not cover it
        waited_s = 0.0

        def release(self):
            pass

    def a_commits_and_vacuum_runs_first(root, cand, **kw):
        monkeypatch.setattr(job_module, "commit", real_commit)
        monkeypatch.setattr(cluster_lock, "acquire", lambda *a, **k: NoLock())
        assert run_job(RunConfig(input=str(src / "b"), run_id="A", **cfg)).rows == 1
        assert compact_ledger(str(out), min_new=2).compacted.covers_through == 2
        for ref in replaced_ledgers(str(out), read_log(str(out))):  # what vacuum deletes an hour on
            (out / ref).unlink()
        return real_commit(root, cand, **kw)

    monkeypatch.setattr(job_module, "commit", a_commits_and_vacuum_runs_first)
    b = run_job(RunConfig(input=str(src), run_id="B", **cfg))
    assert (b.rows, b.dropped, b.commit_seq) == (1, 1, 3)
    assert_exactly_once(str(out), [str(src / f) for f in ("a/x.png", "b/y.png", "c/z.png")])
