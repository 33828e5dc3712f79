"""What to read: a folder or prefix, a glob, a TAO dataset, or a manifest of URIs.

Folders, prefixes and globs are listed on the driver. A manifest (Parquet or CSV with a
`uri` column and an optional `label` column) is read by Ray tasks instead, so an archive of
millions of keys needs no listing on the driver.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.charset import Charset
from lpr_ray.dataset import is_tao_dataset, list_tao
from lpr_ray.errors import LprRayError
from lpr_ray.storage import full_uri, normalize_uri, url_to_fs

MANIFEST_SUFFIXES = (".parquet", ".csv", ".csv.gz")
# Markers and metadata that object stores and writers leave beside data.
IGNORED_NAMES = ("_SUCCESS", ".DS_Store")


@dataclass(frozen=True)
class Inputs:
    kind: str  # "tao" | "prefix" | "glob" | "manifest"
    uri: str
    table: pa.Table | None = None  # uri, label, etag, size, mtime, version: for listed kinds
    manifest_format: str | None = None  # "parquet" | "csv"

    @property
    def count(self) -> int | None:
        return None if self.table is None else self.table.num_rows


def _table(uris: list[str], labels: list[str | None] | None = None, infos: list[dict] | None = None) -> pa.Table:
    """uri, label and the version fields the ledger keys on (docs/LAYOUT.md)."""
    from lpr_ray.pipeline.ledger import stat_uris, versions_table

    labels = labels if labels is not None else [None] * len(uris)
    # Listings carry ETag/size/mtime for free; a TAO dataset's images are stat'ed instead.
    versions = versions_table(list(zip(uris, infos, strict=True))) if infos is not None else stat_uris(uris)
    table = pa.table({"uri": pa.array(uris, pa.string()), "label": pa.array(labels, pa.string())})
    for name in ("etag", "size", "mtime", "version"):
        table = table.append_column(name, versions.column(name))
    return table


def _check_manifest_columns(names: list[str], uri: str) -> None:
    if "uri" not in names:
        raise LprRayError(
            f"manifest {uri} has columns {names}; expected a 'uri' column (and optionally "
            "'label') with one object URI per row"
        )


def resolve_inputs(uri: str, charset: Charset | None = None) -> Inputs:
    uri = normalize_uri(uri)
    fs, path = url_to_fs(uri)
    lower = path.lower()
    if lower.endswith(MANIFEST_SUFFIXES) and fs.isfile(path):
        fmt = "parquet" if lower.endswith(".parquet") else "csv"
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with fs.open(path, "rb") as f:
                names = pq.read_schema(f).names
        else:
            import csv
            import io

            with fs.open(path, "rb", compression="infer") as f:
                header = next(csv.reader(io.TextIOWrapper(f, encoding="utf-8")), [])
            names = [h.strip() for h in header]
        _check_manifest_columns(names, uri)
        return Inputs(kind="manifest", uri=uri, manifest_format=fmt)
    if any(ch in path for ch in "*?["):
        found = fs.glob(path, detail=True)
        paths = sorted(p for p, i in found.items() if i.get("type") == "file")
        if not paths:
            raise LprRayError(f"the pattern {uri} matches no objects")
        return Inputs(
            kind="glob", uri=uri,
            table=_table([full_uri(fs, p, uri) for p in paths], infos=[found[p] for p in paths]),
        )
    if not fs.exists(path):
        raise LprRayError(f"input {uri} does not exist (expected a folder, prefix, TAO dataset, glob or manifest)")
    if fs.isfile(path):
        return Inputs(kind="prefix", uri=uri, table=_table([full_uri(fs, path, uri)], infos=[fs.info(path)]))
    if is_tao_dataset(uri):
        samples = list_tao(uri, charset)
        if not samples:
            raise LprRayError(f"TAO dataset {uri} has no images under images/")
        return Inputs(kind="tao", uri=uri, table=_table([s.uri for s in samples], [s.label for s in samples]))
    found = fs.find(path, detail=True)
    paths = sorted(p for p in found if posixpath.basename(p) not in IGNORED_NAMES)
    if not paths:
        raise LprRayError(f"input {uri} holds no objects")
    return Inputs(
        kind="prefix", uri=uri,
        table=_table([full_uri(fs, p, uri) for p in paths], infos=[found[p] for p in paths]),
    )
