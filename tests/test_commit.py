"""The commit protocol, the ledger and the reader, without Ray (docs/LAYOUT.md)."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem
from lpr_ray.pipeline.partition import UNKNOWN, PartitionSpec
from lpr_ray.results.commit import Candidate, commit, create_exclusive
from lpr_ray.results.incremental import new_objects
from lpr_ray.results.ledger import add_version, ledger_rows, read_ledger, write_ledger
from lpr_ray.results.table import SCHEMA, commit_records, committed_files, read_results

PATTERN = r"(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"


def _race(uri: str, n: int = 16) -> int:
    barrier = threading.Barrier(n)

    def one(i: int) -> bool:
        barrier.wait()
        return create_exclusive(uri, json.dumps({"writer": i}).encode())

    with ThreadPoolExecutor(n) as pool:
        return sum(pool.map(one, range(n)))


def test_local_create_is_exclusive_and_whole(tmp_path):
    uri = str(tmp_path / "_delta_log" / "00000000000000000001.json")
    assert _race(uri) == 1
    assert "writer" in json.loads(open(uri).read())  # complete, never a half-written entry
    assert [p for p in os.listdir(tmp_path / "_delta_log") if p.startswith(".tmp")] == []


@pytest.mark.slow
def test_seaweedfs_honours_if_none_match(s3):
    """SeaweedFS answers 412 to a second PutObject with If-None-Match: * (and under a race);
    the probe that refuses stores ignoring it passes and leaves nothing behind."""
    for i in range(3):
        assert _race(f"s3://{s3.bucket}/cond/{i}.json") == 1
    fs = s3.filesystem()
    from pyarrow.fs import FileSelector

    names = [i.base_name for i in fs.get_file_info(FileSelector(f"{s3.bucket}/cond"))]
    assert sorted(names) == ["0.json", "1.json", "2.json"]


def _rows(uris: list[str], run_id: str) -> pa.Table:
    n = len(uris)
    cols = {f.name: pa.nulls(n, f.type) for f in SCHEMA}
    cols.update(uri=pa.array(uris), status=pa.array(["ok"] * n), run_id=pa.array([run_id] * n),
                model=pa.array(["m@1"] * n))
    return pa.table(cols, schema=SCHEMA)


def _fake_run(root: str, run_id: str, uris: list[str], planned_seq: int, log: list) -> dict | None:
    """A run that processed `uris`: writes its file and ledger, then commits (check=True)."""
    fs, base = arrow_filesystem(root)
    fs.create_dir(f"{base}/data/run_date=2026-01-01", recursive=True)
    state = {"uris": list(uris), "n": 0}

    def cand() -> Candidate:
        rel = f"data/run_date=2026-01-01/{run_id}_r{state['n']}-0.parquet"
        with fs.open_output_stream(f"{base}/{rel}") as f:
            pq.write_table(_rows(state["uris"], run_id), f)
        keys = pa.table({"uri": state["uris"], "version": ["v1"] * len(state["uris"])})
        write_ledger(f"{root}/_ledger", f"{run_id}_r{state['n']}", ledger_rows(keys, "m@1", run_id))
        fields = {"run_id": run_id, "model": "m@1", "ledger": f"_ledger/{run_id}_r{state['n']}.parquet",
                  "rows": len(state["uris"])}
        return Candidate(files=[rel] if state["uris"] else [], keys=keys, fields=fields, drop=drop)

    def drop(covered: pa.Table) -> Candidate:
        log.append((run_id, covered.num_rows))
        gone = set(covered.column("uri").to_pylist())
        state["uris"] = [u for u in state["uris"] if u not in gone]
        state["n"] += 1
        return cand()

    return commit(root, cand(), planned_seq=planned_seq, check=True, model="m@1")


@pytest.mark.parametrize("store", ["local", "s3"])
def test_concurrent_commits_cover_each_object_once(tmp_path, request, store):
    if store == "s3":
        s3 = request.getfixturevalue("s3")
        root = f"s3://{s3.bucket}/concurrent-commit"
    else:
        root = str(tmp_path / "res")
    uris = [f"s3://b/k/{i}.jpg" for i in range(30)]
    runs = {f"run{i}": uris[i * 5 : i * 5 + 20] for i in range(4)}  # overlapping slices
    log: list = []
    barrier = threading.Barrier(len(runs))

    def go(item):
        barrier.wait()
        return _fake_run(root, item[0], item[1], 0, log)

    with ThreadPoolExecutor(len(runs)) as pool:
        results = list(pool.map(go, runs.items()))
    table = read_results(root)
    seen = table.column("uri").to_pylist()
    assert len(seen) == len(set(seen)) == len(set().union(*runs.values()))
    ledger = read_ledger(root, [r["ledger"] for r in commit_records(root)], "m@1")
    assert sorted(ledger.column("uri").to_pylist()) == sorted(seen)
    assert [r["seq"] for r in commit_records(root)] == list(range(1, 1 + sum(r is not None for r in results)))
    assert log, "overlapping runs must have dropped something"


def test_reader_sees_committed_files_only(tmp_path):
    root = str(tmp_path / "res")
    log: list = []
    assert _fake_run(root, "a", ["x/1.jpg", "x/2.jpg"], 0, log)["seq"] == 1
    # A crashed run: data and ledger written, no record.
    pq.write_table(_rows(["x/3.jpg"], "crashed"), f"{root}/data/run_date=2026-01-01/crashed_0.parquet")
    assert committed_files(root) == [f"{root}/data/run_date=2026-01-01/a_r0-0.parquet"]
    t = read_results(root, columns=["uri", "run_date"])
    assert sorted(t.column("uri").to_pylist()) == ["x/1.jpg", "x/2.jpg"]
    assert set(t.column("run_date").to_pylist()) == {"2026-01-01"}
    # A record that covers everything again is refused by the check: nothing committed.
    assert _fake_run(root, "b", ["x/1.jpg"], 0, log) is None
    assert read_results(str(tmp_path / "nothing")).num_rows == 0
    with open(f"{root}/_delta_log/00000000000000000002.json", "w") as f:
        f.write('{"commitInfo": {}}\n')
    with pytest.raises(LprRayError, match="has gaps"):  # version 1 is missing
        read_results(root)
    os.remove(f"{root}/_delta_log/00000000000000000002.json")
    with open(f"{root}/_delta_log/00000000000000000001.json", "w") as f:
        f.write("{not json")
    with pytest.raises(LprRayError, match="not JSON"):
        read_results(root)


def test_unsupported_store_is_a_clear_error():
    with pytest.raises(LprRayError, match="needs s3:// or a local path"):
        create_exclusive("memory://x/_commits/1.json", b"{}")


def test_ledger_versions_and_new_objects(tmp_path):
    t = add_version(pa.table({
        "uri": ["a", "b", "c"],
        "etag": ["e1", None, None],
        "size": [1, 2, None],
        "mtime": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")),
    }))
    assert t.column("version").to_pylist() == ["e1", "2:1767225600000000", None]
    done = pa.table({"uri": ["a", "b", "c"], "version": ["e1", "2:0", None]})
    write_ledger(str(tmp_path / "_ledger"), "r1", ledger_rows(done, "small@1", "r1"))
    refs = ["_ledger/r1.parquet", None]  # a record without a ledger names none
    # a: same version, skipped; b: changed (other mtime), again; c: unknown version, again.
    assert new_objects(str(tmp_path), refs, "small@1", t).column("uri").to_pylist() == ["b", "c"]
    # The same weights under another name are the same model; other weights read everything.
    assert new_objects(str(tmp_path), refs, "renamed@1", t).column("uri").to_pylist() == ["b", "c"]
    assert new_objects(str(tmp_path), refs, "small@2", t).equals(t)
    assert new_objects(str(tmp_path), [None], "small@1", t).equals(t)
    with pytest.raises(LprRayError, match="cannot compare the listing with the ledger"):
        new_objects(str(tmp_path), ["_ledger/gone.parquet"], "small@1", t)


def test_new_objects_past_the_memory_limit_spill_and_keep_order_and_columns(tmp_path):
    """The ledger join spills to disk instead of holding the ledger in memory: a limit far
    below the ledger's size gives the same answer, with the listing's own columns and order."""
    n = 600_000
    uris = pa.array([f"s3://lot/site{i % 50:02d}/cam{i % 8}/{i:010d}.jpg" for i in range(n)])
    versions = pa.array([f"{i * 7:032d}" for i in range(n)])
    refs = [write_ledger(str(tmp_path / "_ledger"), f"r{k}", ledger_rows(
        pa.table({"uri": uris[k * n // 3:(k + 1) * n // 3], "version": versions[k * n // 3:(k + 1) * n // 3]}),
        "m@ab", f"r{k}")) for k in range(3)]
    changed = pa.array(["changed" if i % 1000 == 0 else None for i in range(n)])
    listing = pa.table({
        "uri": pa.concat_arrays([pa.array(["s3://lot/new/0.jpg"]), uris]),
        "version": pa.concat_arrays([pa.array(["1"]), pc.coalesce(changed, versions)]),
        "size": pa.array(np.arange(n + 1), pa.int64()),
    })
    for limit in ("1GB", "48MB"):  # the ledger alone is ~90 MB of Arrow data
        spill = tmp_path / f"spill-{limit}"
        spill.mkdir()
        spilled, stop = [0], threading.Event()

        def watch(spill=spill, spilled=spilled, stop=stop):  # DuckDB removes its files at the end
            while not stop.is_set():
                spilled[0] = max(spilled[0], sum(f.stat().st_size for f in spill.rglob("*") if f.is_file()))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            new = new_objects(str(tmp_path), refs, "m@ab", listing, memory_limit=limit, spill_dir=str(spill))
        finally:
            stop.set()
            watcher.join()
        assert new.schema == listing.schema
        assert new.column("uri").to_pylist() == ["s3://lot/new/0.jpg", *(uris[i].as_py() for i in range(0, n, 1000))]
        if limit == "48MB":
            assert spilled[0] > 10e6, spilled  # the join went to disk instead of failing
        assert not any(spill.iterdir())  # and nothing is left there


def test_partition_values_and_validation():
    spec = PartitionSpec(PATTERN)
    assert spec.columns == ["run_date", "site", "camera", "date"]
    vals = spec.values(["s3://bkt/lot1/cam2/2026-03-04/x.jpg", "s3://bkt/odd.jpg", "/data/lot1/c/2026-01-01/y.png"])
    assert vals == {"site": ["lot1", UNKNOWN, "lot1"], "camera": ["cam2", UNKNOWN, "c"],
                    "date": ["2026-03-04", UNKNOWN, "2026-01-01"]}
    with pytest.raises(LprRayError, match="not a valid regex"):
        PartitionSpec("(?P<site>")
    with pytest.raises(LprRayError, match="no named groups"):
        PartitionSpec("[a-z]+/")
    with pytest.raises(LprRayError, match="not allowed"):
        PartitionSpec("(?P<status>[^/]+)/")


@pytest.mark.slow
def test_store_ignoring_if_none_match_is_refused(s3, monkeypatch):
    from lpr_ray.results import commit as commit_module

    monkeypatch.setattr(commit_module, "_s3_create", lambda *a: True)  # every create "succeeds"
    monkeypatch.setattr(commit_module, "_PROBED", set())
    with pytest.raises(LprRayError, match="ignores If-None-Match"):
        create_exclusive(f"s3://{s3.bucket}/probe-test/_commits/000000000001.json", b"{}")


@pytest.mark.slow
def test_ledgers_outside_the_root_are_read_from_their_own_store(s3, tmp_path):
    """--ledger outside OUTPUT: records name the ledger by full URI (or absolute path), which
    must be read with that URI's filesystem, not OUTPUT's; covered_keys goes the same way."""
    from lpr_ray.results.commit import covered_keys

    root = f"s3://{s3.bucket}/ledger-root"
    model = "m@1"
    refs = [
        write_ledger(f"{root}/_ledger", "inside", ledger_rows(pa.table({"uri": ["a"], "version": ["1"]}), model, "r1")),
        write_ledger(f"s3://{s3.bucket}/elsewhere/ledger", "s3", ledger_rows(
            pa.table({"uri": ["b"], "version": ["2"]}), model, "r2")),
        write_ledger(str(tmp_path / "local-ledger"), "local", ledger_rows(
            pa.table({"uri": ["c"], "version": ["3"]}), model, "r3")),
    ]
    refs[0] = "_ledger/inside.parquet"  # as a record names a ledger under ROOT
    assert refs[1].startswith("s3://") and refs[2].startswith("/")
    done = read_ledger(root, refs, model)
    assert sorted(zip(done.column("uri").to_pylist(), done.column("version").to_pylist(), strict=True)) == [
        ("a", "1"), ("b", "2"), ("c", "3")]
    assert read_ledger(root, refs, "other@2").num_rows == 0
    listing = pa.table({"uri": ["a", "b", "c", "d"], "version": ["1", "2", "x", "4"]})
    assert new_objects(root, refs, model, listing).column("uri").to_pylist() == ["c", "d"]
    keys = pa.table({"uri": ["a", "b", "c", "d"], "version": ["1", "2", "x", "4"]})
    records = [{"ledger": r} for r in refs]
    assert sorted(covered_keys(root, records, keys, model).column("uri").to_pylist()) == ["a", "b"]


def test_a_failed_run_removes_only_its_uncommitted_files(tmp_path):
    """pipeline/written.discard_run_files: files of the same run id that a commit names stay."""
    from lpr_ray.pipeline.written import discard_run_files

    root = str(tmp_path / "res")
    assert _fake_run(root, "nightly", ["s3://b/1.jpg"], 0, []) is not None  # commits nightly_r0-0
    extra = tmp_path / "res" / "data" / "run_date=2026-01-01" / f"nightly_{'a' * 32}_000000-0.parquet"
    pq.write_table(_rows(["s3://b/2.jpg"], "nightly"), extra)  # as a second, failing try would leave
    other = tmp_path / "res" / "data" / "run_date=2026-01-01" / f"nightly2_{'b' * 32}_000000-0.parquet"
    pq.write_table(_rows(["s3://b/3.jpg"], "nightly2"), other)  # another run's: not ours
    assert discard_run_files(root, "nightly") == 1
    assert not extra.exists() and other.exists()
    assert read_results(root).column("uri").to_pylist() == ["s3://b/1.jpg"]
