"""Read committed results (docs/LAYOUT.md): the core that `lpr-ray query` / `report` build on.

Rows are visible only through the root's Delta Lake log (lpr_ray.results.delta_log): this module reads
ROOT/_delta_log/ and returns exactly the data files it adds (and no other engine's removed
ones), with each lpr-ray commit's run record. Roots written before the log keep records in
ROOT/_commits/, read the same way until a new run converts them. Files under data/ that no
commit names (a crashed or losing run) are never read. pyarrow (+ lpr_ray.core.storage) only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from pyarrow.fs import FileSelector, FileType

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem, join
from lpr_ray.results.delta_log import DELTA_LOG, LOG_NAME, parse_entry, path_of

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


def named_files(root: str, folder: str, name: re.Pattern, skip: Container[str] = ()) -> Iterator[tuple[re.Match, bytes]]:
    """(name match, content) of each file directly in ROOT/FOLDER whose name matches NAME and
    is not in SKIP; other names (temp files of a local create, probes, checkpoints, anything
    foreign) are left alone."""
    fs, base = _base(root)
    for info in fs.get_file_info(FileSelector(f"{base}/{folder}", allow_not_found=True)):
        m = name.match(info.base_name)
        if info.type == FileType.File and m and info.base_name not in skip:
            with fs.open_input_stream(info.path) as f:
                yield m, f.read()


def read_log(root: str) -> list[tuple[int, list[dict]]]:
    """(version, actions) of every entry of ROOT/_delta_log/, oldest first ([] without a log)."""
    entries = [(int(m.group(1)), parse_entry(raw, f"{root}/{DELTA_LOG}/{m.group(0)}"))
               for m, raw in named_files(root, DELTA_LOG, LOG_NAME)]
    entries.sort(key=lambda e: e[0])
    if entries and [v for v, _ in entries] != list(range(len(entries))):
        raise LprRayError(f"the Delta log of {root} has gaps (versions {[v for v, _ in entries][:10]}...): "
                          "expected 0, 1, 2, ...; log checkpoints and cleaned logs are not read yet")
    return entries


def commit_records(root: str, log: list[tuple[int, list[dict]]] | None = None) -> list[dict]:
    """Every lpr-ray run record of ROOT, in seq order ([] when there is none): from the Delta
    log (LOG: read_log(root), when the caller has it), or from ROOT/_commits/ for a root not
    converted yet."""
    log = read_log(root) if log is None else log
    if not log:
        return legacy_records(root)
    records = []
    for version, actions in log:
        info: dict = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        lpr = info.get("lprRay")
        if not isinstance(lpr, dict):
            continue  # another engine's commit: its files count (committed_files), it has no ledger
        if "migrated" in lpr:  # version 0 of a converted root: the records of _commits/
            records.extend(lpr["migrated"])
        else:
            records.append({**lpr, "version": version,
                            "files": [path_of(a["add"]) for a in actions if "add" in a]})
    return sorted(records, key=lambda r: r["seq"])


def legacy_records(root: str) -> list[dict]:
    """Every commit record under ROOT/_commits/ (roots written before the Delta log), in seq order."""
    records = []
    for m, raw in named_files(root, COMMITS_DIR, RECORD_NAME):
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            # Records are created whole (S3 PUT, local link()): a bad one is not ours to skip.
            raise LprRayError(f"commit record {root}/{COMMITS_DIR}/{m.group(0)} is not JSON: {exc}") from exc
        if not isinstance(rec, dict) or rec.get("seq") != int(m.group(1)) or not isinstance(rec.get("files"), list):
            raise LprRayError(
                f"commit record {root}/{COMMITS_DIR}/{m.group(0)} is malformed: expected an object "
                f"with seq={int(m.group(1))} and a 'files' list"
            )
        records.append(rec)
    return sorted(records, key=lambda r: r["seq"])


def committed_rel_files(root: str) -> list[str]:
    """Paths relative to ROOT of the table's current files: every add of the log not removed
    since (another engine may compact or delete), or every file _commits/ names."""
    log = read_log(root)
    if not log:
        return [rel for rec in legacy_records(root) for rel in rec["files"]]
    active: dict[str, None] = {}
    for _, actions in log:
        for a in actions:
            if "add" in a:
                active[path_of(a["add"])] = None
            elif "remove" in a:
                active.pop(path_of(a["remove"]), None)
    return list(active)


def committed_files(root: str) -> list[str]:
    """URIs (ROOT joined with each relative path) of every committed data file."""
    return [join(root, rel) for rel in committed_rel_files(root)]


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
    rels = committed_rel_files(root)
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
