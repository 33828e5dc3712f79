"""Ledger compaction: many per-run ledger files become one, through the table's log.

Every committed run names its own ledger file, and every incremental run reads all of them: a
run scheduled hourly adds 8,760 a year, and listing and opening them comes to dominate a run
that finds little new. Compaction streams the union of the ledger files committed so far into
one Parquet file under ROOT/_ledger/ and commits a log entry that names it with the highest run
seq it covers. From then on the committed ledger is that file plus the ledger files of runs
with a higher seq (`committed_ledgers`).

Safe beside running jobs without a lock: run seqs grow with log versions, so every run record
with a seq at or below the one covered was in the log the compactor read, and a run that
commits meanwhile has a higher seq and keeps counting by its own file. The entry carries no
data actions, so Delta readers see an empty append. Files it supersedes stay until `lpr-ray
vacuum` finds the compaction older than the retention period, so a run that planned with them
can still read them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem, is_local, join, storage_error
from lpr_ray.results.commit import MAX_ATTEMPTS, create_exclusive
from lpr_ray.results.delta_log import DELTA_LOG, entry, log_name
from lpr_ray.results.ledger import LEDGER_SCHEMA, ledger_datasets
from lpr_ray.results.table import commit_records, read_log

COMPACTION = "lprRayLedger"  # the commitInfo key of a compaction entry (not a run record)
LEDGER_DIR = "_ledger"


@dataclass(frozen=True)
class Compaction:
    file: str  # relative to ROOT
    covers_through: int  # every run record with seq <= this is in `file`
    version: int
    committed_at: str
    sources: int
    rows: int


def compactions(log: list[tuple[int, list[dict]]]) -> list[Compaction]:
    out = []
    for version, actions in log:
        info: dict = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        c = info.get(COMPACTION)
        if isinstance(c, dict):
            out.append(Compaction(c["file"], int(c["covers_through"]), version, c["committed_at"],
                                  int(c["sources"]), int(c["rows"])))
    return out


def latest(log: list[tuple[int, list[dict]]]) -> Compaction | None:
    found = compactions(log)
    return max(found, key=lambda c: (c.covers_through, c.version)) if found else None


def committed_ledgers(root: str, log: list[tuple[int, list[dict]]] | None = None) -> list[str | None]:
    """The files that make up the committed ledger (None: a record without one)."""
    log = read_log(root) if log is None else log
    records = commit_records(root, log=log)
    last = latest(log)
    if last is None:
        return [r.get("ledger") for r in records]
    return [last.file] + [r.get("ledger") for r in records if r["seq"] > last.covers_through]


def superseded_ledgers(root: str, log: list[tuple[int, list[dict]]]) -> tuple[set[str], Compaction | None]:
    """(ledger files the latest compaction replaced, that compaction): what vacuum may delete
    once the compaction is older than the retention period."""
    last = latest(log)
    if last is None:
        return set(), None
    old = {r["ledger"] for r in commit_records(root, log=log)
           if r["seq"] <= last.covers_through and isinstance(r.get("ledger"), str)}
    old |= {c.file for c in compactions(log) if c.file != last.file}
    return old, last


@dataclass(frozen=True)
class CompactSummary:
    compacted: Compaction | None  # None: fewer than `min_files` files, nothing done
    files_before: int


def compact_ledger(root: str, *, min_files: int = 2) -> CompactSummary:
    """Stream the committed ledger into one file and commit it (when it has >= min_files files)."""
    log = read_log(root)
    records = commit_records(root, log=log)
    refs = [ref for ref in committed_ledgers(root, log) if ref]
    # A root still in the old layout (_commits/, no log) is converted by its next run first.
    if len(refs) < max(min_files, 1) or not records or not log:
        return CompactSummary(None, len(refs))
    covers = records[-1]["seq"]
    rel = f"{LEDGER_DIR}/compact-{covers:010d}-{uuid.uuid4().hex[:8]}.parquet"
    rows = _write_union(root, refs, join(root, rel))
    info = {"file": rel, "covers_through": covers, "sources": len(refs), "rows": rows,
            "committed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    for _ in range(MAX_ATTEMPTS):
        version = len(log)
        data = entry({}, [], operation="LEDGER COMPACTION", extra={COMPACTION: info})
        if create_exclusive(join(root, DELTA_LOG, log_name(version)), data):
            return CompactSummary(Compaction(rel, covers, version, info["committed_at"], len(refs), rows), len(refs))
        log = read_log(root)  # a run committed meanwhile: its seq is higher, so the file still holds
    raise LprRayError(f"could not commit the ledger compaction after {MAX_ATTEMPTS} attempts on {root}")


def _write_union(root: str, refs: list[str], uri: str) -> int:
    """Batch by batch, so memory stays bounded whatever the ledger's size; written whole or not
    at all (local: temp file + rename; S3: the multipart upload completes at close)."""
    fs, path = arrow_filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = path + ".tmp" if is_local(uri) else path
    rows = 0
    try:
        with fs.open_output_stream(tmp) as f, pq.ParquetWriter(f, LEDGER_SCHEMA) as writer:
            for ds in ledger_datasets(root, refs):
                for batch in ds.to_batches(batch_size=256_000):
                    writer.write_table(pa.Table.from_batches([batch], schema=LEDGER_SCHEMA))
                    rows += batch.num_rows
        if tmp != path:
            fs.move(tmp, path)
    except (OSError, pa.ArrowException) as exc:
        try:  # the name is this call's own (a fresh uuid), so nothing else can be lost
            fs.delete_file(tmp)
        except OSError:
            pass
        raise LprRayError(storage_error("cannot write the compacted ledger", uri, exc)) from exc
    return rows


def age_hours(c: Compaction) -> float:
    committed = datetime.strptime(c.committed_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (time.time() - committed.timestamp()) / 3600
