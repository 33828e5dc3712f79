"""Ledger compaction (`lpr-ray vacuum`): many per-run ledger files become one, through the log.

Every committed run names its own ledger file, and every incremental run reads all of them: a
run scheduled hourly adds 8,760 a year, and listing and opening them comes to dominate a run
that finds little new. Compaction streams the union of the ledger files committed so far into
one Parquet file under ROOT/_ledger/ and commits a log entry that names it with the highest run
seq it covers. From then on the committed ledger is that file plus the ledger files of runs
with a higher seq (`lpr_ray.results.ledger_refs`). A compacted file is always written under
ROOT/_ledger/, also when runs wrote theirs elsewhere (--ledger).

Safe beside running jobs without a lock: run seqs grow with log versions, so every run record
with a seq at or below the one covered was in the log the compactor read, and a run that
commits meanwhile has a higher seq and keeps counting by its own file. The entry carries no
data actions, so Delta readers see an empty append. Files it supersedes stay until `lpr-ray
vacuum` finds the compaction older than the retention period, so a run that planned with them
can still read them, and a run that commits later checks the objects of the runs the
compaction covers in its file.
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
from lpr_ray.results.ledger_refs import COMPACTION, Compaction, latest, ledgers_of
from lpr_ray.results.table import commit_records, read_log

LEDGER_DIR = "_ledger"
ROW_GROUP = 1_000_000  # rows per row group of the compacted file: few, large, fast to scan


@dataclass(frozen=True)
class CompactSummary:
    compacted: Compaction | None  # None: nothing done (see `reason`)
    files_before: int
    reason: str = ""


def compact_ledger(root: str, *, min_new: int = 24) -> CompactSummary:
    """Stream the committed ledger into one file and commit it, when at least MIN_NEW run
    ledger files are not in a compacted file yet (each compaction rewrites the whole ledger:
    at 100M objects ~5 GB, so not for every new run)."""
    log = read_log(root)
    if not log:  # the old layout (_commits/): its next run converts it to the log first
        return CompactSummary(None, 0, "the root has no Delta log yet: its next run converts it")
    records = commit_records(root, log=log)
    last = latest(log)
    refs = [ref for ref in ledgers_of(records, last) if ref]
    new = len(refs) - (last is not None and bool(refs) and refs[0] == last.file)
    if new < max(min_new, 1) or len(refs) < 2:
        return CompactSummary(None, len(refs), f"{new} run ledger file(s) not compacted yet, fewer than {min_new}")
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
            # Each write_table ends a row group and the run files are small: gather to ROW_GROUP.
            pending: list[pa.RecordBatch] = []
            for ds in ledger_datasets(root, refs):
                for batch in ds.to_batches(batch_size=256_000):
                    pending.append(batch)
                    rows += batch.num_rows
                    if sum(b.num_rows for b in pending) >= ROW_GROUP:
                        writer.write_table(pa.Table.from_batches(pending, schema=LEDGER_SCHEMA), ROW_GROUP)
                        pending = []
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema=LEDGER_SCHEMA), ROW_GROUP)
        if tmp != path:
            fs.move(tmp, path)
    except (OSError, pa.ArrowException) as exc:
        try:  # the name is this call's own (a fresh uuid), so nothing else can be lost
            fs.delete_file(tmp)
        except OSError:
            pass
        raise LprRayError(storage_error("cannot write the compacted ledger", uri, exc)) from exc
    return rows


def age_hours(c: Compaction, now: float | None = None) -> float:
    committed = datetime.strptime(c.committed_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return ((time.time() if now is None else now) - committed.timestamp()) / 3600
