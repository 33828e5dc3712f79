"""The results root as a Delta Lake table (docs/LAYOUT.md): the transaction log lpr-ray writes
and reads, so that Spark, Trino, Athena, Databricks, delta-rs, Polars and DuckDB read exactly the
committed rows.

A commit is the file `_delta_log/<version:020d>.json`, created with a create-only write
(lpr_ray.results.commit), which is how Delta's own writers commit on object stores with
conditional writes. lpr-ray writes the log itself rather than through delta-rs because an
incremental run must drop the objects another run committed meanwhile before it retries
(exactly once per object, not just per file), which a blind Delta append would not do; the
entries are plain Delta (protocol 1/2, `add` actions, `commitInfo`), and every reader is free.
Each lpr-ray commit carries its run record (run id, ledger, counts) in `commitInfo.lprRay`.

Roots written before the log existed keep their records in `_commits/`: the first commit of a
new writer copies them into version 0 (lpr_ray.results.commit), and until then they are read
from there.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid

from lpr_ray.core.errors import LprRayError

DELTA_LOG = "_delta_log"
LOG_NAME = re.compile(r"^(\d{20})\.json$")
PROTOCOL = {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}
# The row schema (lpr_ray.results.table.SCHEMA) in Delta's types.
DELTA_TYPES = {"string": "string", "float": "float", "int32": "integer", "bool": "boolean",
               "list<item: float>": "array<float>", "timestamp[us, tz=UTC]": "timestamp"}


def log_name(version: int) -> str:
    return f"{version:020d}.json"


def _field(name: str, arrow_type: str) -> dict:
    simple = DELTA_TYPES.get(arrow_type)
    if simple is None:
        raise LprRayError(f"column {name} has type {arrow_type}, which the Delta log does not map")
    t: str | dict = simple
    if simple == "array<float>":
        t = {"type": "array", "elementType": "float", "containsNull": True}
    return {"name": name, "type": t, "nullable": True, "metadata": {}}


def metadata_action(schema, partition_columns: list[str]) -> dict:
    """metaData: the row schema plus the partition columns (strings), which the files do not hold."""
    fields = [_field(f.name, str(f.type)) for f in schema] + [_field(c, "string") for c in partition_columns]
    return {"metaData": {"id": str(uuid.uuid4()), "format": {"provider": "parquet", "options": {}},
                         "schemaString": json.dumps({"type": "struct", "fields": fields}),
                         "partitionColumns": list(partition_columns), "configuration": {},
                         "createdTime": int(time.time() * 1000)}}


def partition_values(rel: str) -> dict[str, str]:
    """The Hive values of a data file's path (data/k=v/.../file.parquet), decoded as pyarrow
    encoded them."""
    out = {}
    for seg in rel.split("/")[1:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            out[k] = urllib.parse.unquote(v)
    return out


def add_action(rel: str, size: int, mtime_ms: int, partition_columns: list[str]) -> dict:
    """A data file (path relative to the root) as Delta adds it; a partition column its path
    lacks (roots partitioned differently before lpr-ray refused it) is null."""
    values = partition_values(rel)
    # Delta paths are URIs: the file's own "%" (pyarrow's Hive encoding) is encoded again.
    return {"add": {"path": urllib.parse.quote(rel, safe="/="),
                    "partitionValues": {c: values.get(c) for c in partition_columns},
                    "size": int(size), "modificationTime": int(mtime_ms), "dataChange": True}}


def entry(record: dict, adds: list[dict], *, first: list[dict] | None = None, operation: str = "WRITE",
          extra: dict | None = None) -> bytes:
    """One log file: commitInfo (with the lpr-ray run record, or EXTRA's keys for an entry
    that is not a run's), FIRST's actions (protocol and metaData at version 0), then the adds.
    JSON lines, as Delta specifies."""
    info = {"commitInfo": {"timestamp": int(time.time() * 1000), "operation": operation,
                           "operationParameters": {"mode": "Append"}, "engineInfo": "lpr-ray",
                           **({"lprRay": record} if record else {}), **(extra or {})}}
    actions = [info, *(first or []), *adds]
    return ("\n".join(json.dumps(a, sort_keys=True, ensure_ascii=False) for a in actions) + "\n").encode("utf-8")


def parse_entry(raw: bytes, where: str) -> list[dict]:
    try:
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, ValueError) as exc:
        raise LprRayError(f"Delta log entry {where} is not JSON lines: {exc}") from exc


def path_of(action: dict) -> str:
    return urllib.parse.unquote(action["path"])
