"""Ledger compaction (`lpr-ray vacuum`): many per-run ledger files become one through the
table's log, incremental runs skip exactly what they skipped before, a run that commits while
the compaction runs keeps counting, and the replaced files go after the retention period."""

from __future__ import annotations

import os
import subprocess
import sys

from test_delta_table import engines_agree, storage_options
from test_incremental import PATTERN, assert_exactly_once, png, put_objects

from lpr_ray.cli.main import main as cli_main
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.job import run_job
from lpr_ray.results import ledger_compact
from lpr_ray.results.ledger_compact import committed_ledgers, compact_ledger, latest
from lpr_ray.results.table import commit_records, read_log


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

    monkeypatch.setattr(ledger_compact, "create_exclusive", create_after_a_run)
    done = compact_ledger(out)
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
    for i in range(3):
        (src / f"lot{i}").mkdir(parents=True)
        (src / f"lot{i}" / "a.png").write_bytes(png(i))
        assert run_job(RunConfig(**cfg)).rows == 1
    before = sorted(p.name for p in (out / "_ledger").iterdir())
    assert len(before) == 3

    assert cli_main(["vacuum", "--results", str(out), "--dry-run"]) == 0  # compacts nothing
    assert latest(read_log(str(out))) is None
    assert cli_main(["vacuum", "--results", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "compacted 3 ledger files (3 rows) into _ledger/compact-" in printed
    # Within the retention period the replaced files stay: a run may have planned with them.
    assert set(before) < {p.name for p in (out / "_ledger").iterdir()}
    assert cli_main(["vacuum", "--results", str(out), "--retention-hours", "0"]) == 0
    assert sorted(p.name for p in (out / "_ledger").iterdir()) == [latest(read_log(str(out))).file.split("/")[-1]]
    assert "compacted" not in capsys.readouterr().out  # one file is left: nothing to compact

    # An incremental run with nothing new answers from the one file, without starting Ray.
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:9"}  # nothing listens on port 9
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", str(src), "--output",
                           str(out), "--model", str(model_dir), "--incremental", "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"skipped": 3' in proc.stdout and '"rows": 0' in proc.stdout

