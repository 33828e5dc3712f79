"""Read committed results (docs/LAYOUT.md): the core that `lpr-ray query` / `report` build on.

Rows are visible only through commit records: this module lists ROOT/_commits/, reads every
record and returns exactly the data files they name. Files under data/ that no record names
(a crashed or losing run) are never read. pyarrow (+ lpr_ray.storage) only, no Ray.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from pyarrow.fs import FileSelector, FileType

from lpr_ray.errors import LprRayError
from lpr_ray.storage import arrow_filesystem, join

# One row per input object (docs/RUNNING.md, "Output rows"): written by the job, read here.
SCHEMA = pa.schema(
    [
        ("uri", pa.string()),
        ("plate", pa.string()),
        ("confidence", pa.float32()),
        ("char_confidences", pa.list_(pa.float32())),
        ("status", pa.string()),
        ("error", pa.string()),
        ("label", pa.string()),
        ("correct", pa.bool_()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("model", pa.string()),
        ("backend", pa.string()),
        ("run_id", pa.string()),
        ("processed_at", pa.timestamp("us", tz="UTC")),
    ]
)

COMMITS_DIR = "_commits"
DATA_DIR = "data"
RECORD_NAME = re.compile(r"^(\d{12})\.json$")
# Hive partition columns a run may write (docs/LAYOUT.md); always strings when read back.
PARTITION_COLUMNS = ("run_date", "site", "camera", "date")
RUN_DATE = PARTITION_COLUMNS[0]


def _base(root: str) -> tuple[Any, str]:
    fs, base = arrow_filesystem(root)
    return fs, base.rstrip("/")


def commit_records(root: str) -> list[dict]:
    """Every commit record under ROOT/_commits/, in seq order ([] when there is none)."""
    fs, base = _base(root)
    infos = fs.get_file_info(FileSelector(f"{base}/{COMMITS_DIR}", allow_not_found=True))
    records = []
    for info in infos:
        m = RECORD_NAME.match(info.base_name)
        if info.type != FileType.File or not m:
            continue  # temp files of a local create, anything foreign
        with fs.open_input_stream(info.path) as f:
            raw = f.read()
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            # Records are created whole (S3 PUT, local link()): a bad one is not ours to skip.
            raise LprRayError(f"commit record {root}/{COMMITS_DIR}/{info.base_name} is not JSON: {exc}") from exc
        if not isinstance(rec, dict) or rec.get("seq") != int(m.group(1)) or not isinstance(rec.get("files"), list):
            raise LprRayError(
                f"commit record {root}/{COMMITS_DIR}/{info.base_name} is malformed: expected an object "
                f"with seq={int(m.group(1))} and a 'files' list"
            )
        records.append(rec)
    return sorted(records, key=lambda r: r["seq"])


def committed_files(root: str) -> list[str]:
    """URIs (ROOT joined with each record's relative path) of every committed data file."""
    return [join(root, rel) for rec in commit_records(root) for rel in rec["files"]]


def empty_results() -> pa.Table:
    """The rows of a root with nothing committed yet: the row schema and run_date."""

    return pa.schema([*SCHEMA, *_partition_schema([])]).empty_table()


def _partition_schema(rel_paths: list[str]) -> pa.Schema:
    """run_date (every run writes it, so it is there even before the first commit), then the
    keys of the runs' --partition-pattern groups in the order first seen."""
    keys: list[str] = [RUN_DATE]
    for rel in rel_paths:
        for part in rel.split("/")[1:-1]:  # between data/ and the file name
            key = part.split("=", 1)[0]
            if "=" in part and key not in keys:
                keys.append(key)
    return pa.schema([(k, pa.string()) for k in keys])


def read_results(root: str, columns: list[str] | None = None, filter=None) -> pa.Table:  # noqa: A002
    """All committed rows, with the Hive partition columns (run_date, site, ...) as strings.

    A partition column absent from a run's paths (e.g. no --partition-pattern) reads as null.
    `filter` is an optional pyarrow.dataset expression, pushed down to the files.
    """
    fs, base = _base(root)
    rels = [rel for rec in commit_records(root) for rel in rec["files"]]
    part_schema = _partition_schema(rels)
    if not rels:
        empty = empty_results()
        return empty.select(columns) if columns is not None else empty
    dataset = pads.dataset(
        [f"{base}/{rel}" for rel in rels],
        filesystem=fs,
        format="parquet",
        partitioning=pads.partitioning(part_schema, flavor="hive"),
        partition_base_dir=f"{base}/{DATA_DIR}",
    )
    return dataset.to_table(columns=columns, filter=filter)
