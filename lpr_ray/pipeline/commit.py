"""Commit records (docs/LAYOUT.md): how a run's files become visible, exactly once.

Committing = creating ROOT/_commits/<seq:012d>.json for the next free seq with a create-only
write: S3 `PutObject` with `If-None-Match: *` (AWS S3, SeaweedFS >= 3.x and MinIO honour
it: a second create of the same key fails with 412 PreconditionFailed); local files: the
record is written to a temp file and hard-linked to its name (link() fails if the name
exists, and the record is whole the moment it is visible, unlike O_CREAT|O_EXCL + write).

Records are created in seq order (a writer takes max(seq)+1 after listing), so the writer
of seq k has read every record < k. An incremental run checks its objects against the
ledgers of the records committed since it planned, drops those already covered (rewriting
its files without them), and only then tries seq k: no object is committed twice.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.errors import LprRayError
from lpr_ray.pipeline.ledger import read_ledger
from lpr_ray.results import COMMITS_DIR, commit_records
from lpr_ray.storage import is_local, join, normalize_uri

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 100


def record_name(seq: int) -> str:
    return f"{seq:012d}.json"


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
        boto3.client("s3").delete_object(Bucket=bucket, Key=key)
    if not first or second:
        raise LprRayError(
            f"the S3 store of s3://{bucket} ignores If-None-Match on PutObject: commits would not be "
            "safe against concurrent runs; use a store with conditional writes (AWS S3, SeaweedFS, MinIO)"
        )
    _PROBED.add((bucket, prefix))


def _s3_create(bucket: str, key: str, data: bytes, uri: str) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    # boto3 honours AWS_ENDPOINT_URL and the other AWS_* settings itself.
    client = boto3.client("s3")
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


def covered_keys(root: str, records: list[dict], keys: pa.Table, model: str) -> pa.Table:
    """Rows of `keys` already in the ledgers of `records` (for `model`)."""
    done = read_ledger(root, [r.get("ledger") for r in records], model)
    if done.num_rows == 0 or keys.num_rows == 0:
        return keys.slice(0, 0)
    done = done.append_column("_c", pa.array([True] * done.num_rows))
    return keys.join(done, keys=["uri", "version"], join_type="left semi").select(["uri", "version"])


def commit(root: str, cand: Candidate, *, planned_seq: int, check: bool, model: str) -> dict | None:
    """Create the next commit record for `cand`; None when every object was already committed.

    planned_seq: the highest seq whose ledger the run already excluded when it planned.
    check: drop objects committed by records after planned_seq (incremental runs).
    """
    from datetime import UTC, datetime

    checked = planned_seq
    for _ in range(MAX_ATTEMPTS):
        records = commit_records(root)
        newer = [r for r in records if r["seq"] > checked]
        if check and newer:
            covered = covered_keys(root, newer, cand.keys, model)
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
            "files": cand.files,
        }
        data = json.dumps(record, indent=1, sort_keys=True).encode()
        if create_exclusive(join(root, COMMITS_DIR, record_name(seq)), data):
            return record
        log.info("seq %d was taken by another run: re-reading the commit records", seq)
    raise LprRayError(f"could not commit after {MAX_ATTEMPTS} attempts: too many concurrent runs on {root}")
