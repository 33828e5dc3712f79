"""Commits (docs/LAYOUT.md): how a run's files become visible, exactly once, as a Delta Lake
table's transaction log.

Committing = creating ROOT/_delta_log/<version:020d>.json for the next version with a
create-only write: S3 `PutObject` with `If-None-Match: *` (AWS S3, SeaweedFS >= 3.x and MinIO
honour it: a second create of the same key fails with 412 PreconditionFailed); local files: the
entry is written to a temp file and hard-linked to its name (link() fails if the name exists,
and the entry is whole the moment it is visible, unlike O_CREAT|O_EXCL + write). This is how
Delta's own writers commit on such stores; the entry holds Delta's actions (lpr_ray.results.delta_log)
and the run's record (seq, run id, ledger, counts) in its commitInfo.

Entries are created in order (a writer takes the next version after listing), so the writer
of version k has read every entry < k. An incremental run checks its objects against the
ledgers of the records committed since it planned, drops those already covered (rewriting its
files without them), and only then tries: no object is committed twice. A root written before
the log (records in _commits/) is converted by its next writer: version 0 adds every file its
records name and carries the records; the writer's own commit follows.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem, is_local, join, normalize_uri
from lpr_ray.results.delta_log import (
    DELTA_LOG,
    PROTOCOL,
    add_action,
    entry,
    log_name,
    metadata_action,
)
from lpr_ray.results.ledger import read_ledger
from lpr_ray.results.ledger_refs import Compaction, latest, ledgers_of
from lpr_ray.results.table import RUN_DATE, SCHEMA, commit_records, legacy_records, read_log

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 100


def create_exclusive(uri: str, data: bytes) -> bool:
    """Create `uri` holding `data` unless it exists: True if created, False if it existed."""
    if is_local(uri):
        path = normalize_uri(uri)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)
    if uri.startswith("s3://"):
        bucket, key = uri[len("s3://") :].split("/", 1)
        _check_conditional_writes(bucket, key.rsplit("/", 1)[0] if "/" in key else "")
        return _s3_create(bucket, key, data, uri)
    raise LprRayError(
        f"committing results under {uri} needs s3:// or a local path (a create-only write); "
        "other stores are not supported yet"
    )


_PROBED: set[tuple[str, str]] = set()


def _check_conditional_writes(bucket: str, prefix: str) -> None:
    """Refuse stores that silently ignore If-None-Match (a second create would overwrite a
    record): create a probe object twice, once per bucket and process."""
    if (bucket, prefix) in _PROBED:
        return
    import boto3

    key = f"{prefix}/.probe-{uuid.uuid4().hex}" if prefix else f".probe-{uuid.uuid4().hex}"
    uri = f"s3://{bucket}/{key}"
    try:
        first = _s3_create(bucket, key, b"probe", uri)
        second = _s3_create(bucket, key, b"probe", uri)
    finally:
        boto3.session.Session().client("s3").delete_object(Bucket=bucket, Key=key)
    if not first or second:
        raise LprRayError(
            f"the S3 store of s3://{bucket} ignores If-None-Match on PutObject: commits would not be "
            "safe against concurrent runs; use a store with conditional writes (AWS S3, SeaweedFS, MinIO)"
        )
    _PROBED.add((bucket, prefix))


def _s3_create(bucket: str, key: str, data: bytes, uri: str) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    # boto3 honours AWS_ENDPOINT_URL and the other AWS_* settings itself. A new session each
    # time: boto3's default one keeps the first credentials it found for the whole process.
    client = boto3.session.Session().client("s3")
    try:
        client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", ContentType="application/json")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
            return False
        if status == 501 or code == "NotImplemented":
            raise LprRayError(
                f"the S3 store refused a conditional write (If-None-Match) for {uri}: commits "
                "need a store with conditional writes (AWS S3, SeaweedFS, MinIO)"
            ) from exc
        raise
    return True


@dataclass
class Candidate:
    """What a run wants to commit; `drop` rewrites it without already-committed objects."""

    files: list[str]  # relative to ROOT
    keys: pa.Table  # uri, version of the objects in `files`
    fields: dict  # the rest of the record (run_id, model, rows, by_status, ledger, ...)
    drop: Callable[[pa.Table], Candidate] | None = None  # covered (uri, version) -> new candidate


def covered_keys(root: str, records: list[dict], keys: pa.Table, model: str,
                 compaction: Compaction | None = None) -> pa.Table:
    """Rows of `keys` already in the ledgers of `records` (for `model`). A record that
    COMPACTION covers is read from its file: vacuum may have deleted the record's own."""
    done = read_ledger(root, ledgers_of(records, compaction), model)
    if done.num_rows == 0 or keys.num_rows == 0:
        return keys.slice(0, 0)
    done = done.append_column("_c", pa.array([True] * done.num_rows))
    return keys.join(done, keys=["uri", "version"], join_type="left semi").select(["uri", "version"])


def _adds(root: str, rels: list[str], partition_columns: list[str]) -> list[dict]:
    """Delta add actions of files a run wrote (their size and time, as the store reports them)."""
    from pyarrow.fs import FileType

    if not rels:
        return []
    fs, base = arrow_filesystem(root)
    infos = fs.get_file_info([f"{base.rstrip('/')}/{rel}" for rel in rels])
    adds = []
    for rel, info in zip(rels, infos, strict=True):
        if info.type != FileType.File:
            raise LprRayError(f"cannot commit {root}/{rel}: the file is missing")
        mtime = info.mtime_ns // 1_000_000 if info.mtime_ns is not None else int(time.time() * 1000)
        adds.append(add_action(rel, info.size, mtime, partition_columns))
    return adds


def _convert(root: str, legacy: list[dict]) -> bool:
    """Create version 0 of the log from the records of _commits/: False if another writer did."""
    columns = [RUN_DATE]
    for rec in legacy:
        for col in rec.get("partition_columns") or []:
            if col not in columns:
                columns.append(col)
    adds = _adds(root, [rel for rec in legacy for rel in rec["files"]], columns)
    data = entry({"migrated": legacy}, adds, first=[PROTOCOL, metadata_action(SCHEMA, columns)])
    made = create_exclusive(join(root, DELTA_LOG, log_name(0)), data)
    if made:
        log.info("converted %s to a Delta table: %d records of _commits/, %d files", root, len(legacy), len(adds))
    return made


def commit(root: str, cand: Candidate, *, planned_seq: int, check: bool, model: str) -> dict | None:
    """Create the next log entry for `cand`; None when every object was already committed.

    planned_seq: the highest seq whose ledger the run already excluded when it planned.
    check: drop objects committed by records after planned_seq (incremental runs).
    """
    from datetime import UTC, datetime

    checked = planned_seq
    for _ in range(MAX_ATTEMPTS):
        entries = read_log(root)
        if not entries:
            legacy = legacy_records(root)
            if legacy:
                _convert(root, legacy)  # whoever wins, the log exists now: read it again
                continue
        records = commit_records(root, log=entries)
        newer = [r for r in records if r["seq"] > checked]
        if check and newer:
            covered = covered_keys(root, newer, cand.keys, model, latest(entries))
            if covered.num_rows:
                log.warning(
                    "%d of %d objects were committed meanwhile by run(s) %s: dropping them",
                    covered.num_rows, cand.keys.num_rows, sorted({r["run_id"] for r in newer}),
                )
                if cand.drop is None:
                    raise LprRayError("objects were committed by another run and this run cannot drop them")
                cand = cand.drop(covered)
            checked = records[-1]["seq"]
        if cand.keys.num_rows == 0 and check:
            return None
        seq = (records[-1]["seq"] + 1) if records else 1
        record = {
            "seq": seq,
            **cand.fields,
            "committed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        columns = cand.fields.get("partition_columns") or [RUN_DATE]
        version = len(entries)
        first = [PROTOCOL, metadata_action(SCHEMA, columns)] if version == 0 else None
        data = entry(record, _adds(root, cand.files, columns), first=first)
        if create_exclusive(join(root, DELTA_LOG, log_name(version)), data):
            return {**record, "version": version, "files": cand.files}
        log.info("version %d was taken by another run: reading the log again", version)
    raise LprRayError(f"could not commit after {MAX_ATTEMPTS} attempts: too many concurrent runs on {root}")
