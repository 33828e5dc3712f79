"""The ledger of processed objects (docs/LAYOUT.md): which (uri, version, model) are done.

An object's `version` is its ETag when the store gives one (S3 listings, HEAD), else
"<size>:<mtime in µs>" (local files, stores without ETags). A changed object gets a new
version, other weights another `model` hash: both are processed again. A model is known
by its weights' hash (the part of `model` after the "@"), not its folder name, so the same
model deployed under another name does not reprocess the archive. The committed ledger is
the union of the ledger files named by commit records; a run's own file is written before
its commit record and means nothing until that record exists.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import (
    arrow_filesystem,
    arrow_object_fs,
    is_local,
    join,
    normalize_uri,
    storage_error,
    url_to_fs,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

VERSION_COLUMNS = ("etag", "size", "mtime")
ABSENT = "absent"  # version of an object that did not exist when it was stat'ed
LEDGER_SCHEMA = pa.schema(
    [
        ("uri", pa.string()),
        ("version", pa.string()),
        ("etag", pa.string()),
        ("size", pa.int64()),
        ("mtime", pa.timestamp("us", tz="UTC")),
        ("model", pa.string()),
        ("run_id", pa.string()),
    ]
)


def _mtime(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):  # local fsspec: seconds since the epoch
        return datetime.fromtimestamp(float(value), UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def version_fields(info: dict) -> tuple[str | None, int | None, datetime | None]:
    """(etag, size, mtime) from an fsspec info dict (s3fs: ETag/LastModified; local: mtime)."""
    etag = info.get("ETag") or info.get("etag")
    etag = str(etag).strip('"') if etag else None
    size = info.get("size")
    mtime = _mtime(info.get("LastModified") or info.get("mtime") or info.get("updated"))
    return etag, (int(size) if size is not None else None), mtime


def add_version(table: pa.Table) -> pa.Table:
    """Add `version` = etag, else "size:mtime_us" (null when neither is known)."""
    etag = table.column("etag") if "etag" in table.column_names else pa.nulls(table.num_rows, pa.string())
    size = table.column("size").cast(pa.int64()) if "size" in table.column_names else None
    mtime = table.column("mtime") if "mtime" in table.column_names else None
    fallback = pa.nulls(table.num_rows, pa.string())
    if size is not None and mtime is not None:
        us = pc.cast(pc.cast(mtime, pa.timestamp("us", tz="UTC")), pa.int64())
        fallback = pc.binary_join_element_wise(pc.cast(size, pa.string()), pc.cast(us, pa.string()), ":")
    version = pc.coalesce(pc.cast(etag, pa.string()), fallback)
    if "version" in table.column_names:
        table = table.drop_columns(["version"])
    return table.append_column("version", version)


def versions_table(infos: list[tuple[str, dict]]) -> pa.Table:
    """(uri, fsspec info) pairs -> uri, etag, size, mtime, version."""
    fields = [version_fields(i) for _, i in infos]
    table = pa.table(
        {
            "uri": pa.array([u for u, _ in infos], pa.string()),
            "etag": pa.array([f[0] for f in fields], pa.string()),
            "size": pa.array([f[1] for f in fields], pa.int64()),
            "mtime": pa.array([f[2] for f in fields], pa.timestamp("us", tz="UTC")),
        }
    )
    return add_version(table)


def stat_uris(uris: list[str], threads: int = 16) -> pa.Table:
    """HEAD (or stat) each object: for inputs that were not listed (TAO, manifests).

    A missing object gets version "absent": it is processed once (a `not_found` row) and
    again once it exists. An object that could not be stat'ed gets a null version: it is
    processed on every run until it can.
    """
    if not uris:
        return versions_table([])
    # A manifest may mix schemes (s3://, https://, local paths): one filesystem per scheme.
    filesystems: dict[str, AbstractFileSystem] = {}

    def one(uri: str) -> tuple[str, dict]:
        local = is_local(uri)
        scheme = "file" if local else uri.split("://", 1)[0]
        fs = filesystems.get(scheme) or filesystems.setdefault(scheme, url_to_fs(uri)[0])
        path = normalize_uri(uri) if local else fs._strip_protocol(uri)
        try:
            return uri, fs.info(path)
        except FileNotFoundError:
            return uri, {ABSENT: True}
        except OSError:  # PermissionError included
            return uri, {}

    # Threads for remote HEADs only: a local stat takes microseconds, less than handing it
    # to a thread (1 s per 20,000 files went to the pool's overhead).
    remote = [i for i, u in enumerate(uris) if not is_local(u)]
    infos: list = [None] * len(uris)
    if remote:
        with ThreadPoolExecutor(max_workers=max(1, min(threads, len(remote)))) as pool:
            for i, info in zip(remote, pool.map(one, [uris[i] for i in remote]), strict=True):
                infos[i] = info
    infos = [info if info is not None else one(uris[i]) for i, info in enumerate(infos)]
    table = versions_table(infos)
    absent = pa.array([ABSENT in i for _, i in infos], pa.bool_())
    version = pc.if_else(absent, pa.scalar(ABSENT), table.column("version"))
    return table.set_column(table.column_names.index("version"), "version", version)


def stat_batch(batch: pa.Table, threads: int = 16) -> pa.Table:
    """Ray Data map_batches function: add etag, size, mtime, version to a batch with `uri`."""
    stats = stat_uris([str(u) for u in batch.column("uri").to_pylist()], threads)
    keep = [c for c in batch.column_names if c not in (*VERSION_COLUMNS, "version")]
    out = batch.select(keep)
    for name in (*VERSION_COLUMNS, "version"):
        out = out.append_column(name, stats.column(name))
    return out


def _ledger_file(root: str, ref: str):
    """(pyarrow filesystem, path) of a record's `ledger`: relative to ROOT, or a full URI or
    absolute path when --ledger pointed outside ROOT, on a store that may not be ROOT's."""
    uri = ref if "://" in ref or ref.startswith("/") else join(root, ref)
    return arrow_object_fs(uri) or arrow_filesystem(uri)


def weights_digest(model: str) -> str:
    """The weights hash of a model tag ("name@hash")."""
    _, sep, digest = model.rpartition("@")
    if not sep or not digest:
        raise ValueError(f"model tag must be 'name@hash', got {model!r}")
    return digest


def same_weights(model: str) -> pc.Expression:
    """Ledger rows of any model tag ("name@hash") with the weights hash of `model`."""
    return pc.ends_with(pc.field("model"), pattern=f"@{weights_digest(model)}")


def ledger_datasets(root: str, ledger_files: Sequence[str | None]) -> list[pads.Dataset]:
    """The committed ledger files (None: a record without one), one lazy dataset per store."""
    groups: dict[int, tuple] = {}
    for ref in ledger_files:
        if ref:
            fs, path = _ledger_file(root, ref)
            groups.setdefault(id(fs), (fs, []))[1].append(path)
    return [pads.dataset(paths, filesystem=fs, format="parquet", schema=LEDGER_SCHEMA)
            for fs, paths in groups.values()]


def read_ledger(root: str, ledger_files: Sequence[str | None], model: str | None = None) -> pa.Table:
    """uri, version of every committed ledger file (None: a record without one), optionally only for the weights of `model`
    (a "name@hash" tag: any name with the same hash matches)."""
    flt = same_weights(model) if model is not None else None
    tables = [ds.to_table(columns=["uri", "version"], filter=flt) for ds in ledger_datasets(root, ledger_files)]
    if not tables:
        return pa.table({"uri": pa.array([], pa.string()), "version": pa.array([], pa.string())})
    return pa.concat_tables(tables)


def ledger_rows(pending: pa.Table, model: str, run_id: str) -> pa.Table:
    n = pending.num_rows

    def col(name: str, typ: pa.DataType) -> pa.Array:
        if name in pending.column_names:
            return pending.column(name).cast(typ)
        return pa.nulls(n, typ)

    return pa.table(
        {
            "uri": col("uri", pa.string()),
            "version": col("version", pa.string()),
            "etag": col("etag", pa.string()),
            "size": col("size", pa.int64()),
            "mtime": col("mtime", pa.timestamp("us", tz="UTC")),
            "model": pa.array([model] * n, pa.string()),
            "run_id": pa.array([run_id] * n, pa.string()),
        },
        schema=LEDGER_SCHEMA,
    )


def write_ledger(ledger_uri: str, name: str, table: pa.Table) -> str:
    """Write LEDGER/<name>.parquet whole (S3 PUT is atomic; local: temp file + rename)."""
    uri = join(ledger_uri, f"{name}.parquet")
    fs, path = arrow_filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = path + ".tmp" if is_local(uri) else path
    try:
        with fs.open_output_stream(tmp) as f:
            pq.write_table(table, f)
        if tmp != path:
            fs.move(tmp, path)
    except OSError as exc:  # a full disk, a revoked permission: no half file left behind
        if tmp != path:
            try:
                fs.delete_file(tmp)
            except OSError:
                pass
        raise LprRayError(storage_error("cannot write the ledger file", uri, exc)) from exc
    return uri
