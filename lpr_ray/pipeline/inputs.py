"""What to read: a folder or prefix, a glob, a TAO dataset, or a manifest of URIs.

Folders, prefixes and globs are listed on the driver. A manifest (Parquet or CSV with a
`uri` column and an optional `label` column) is read by Ray tasks instead, so an archive of
millions of keys needs no listing on the driver.

Every listed entry that is not a folder is an input, and gets a row: markers such as
`_SUCCESS` and `.DS_Store`, symlinks, FIFOs and S3 keys ending in "/" that hold bytes too (the
fetch stage says what each one is). Only the run's own output and ledger, and empty "folder/"
keys, are left out.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.core.charset import Charset
from lpr_ray.core.dataset import is_tao_dataset, list_tao
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import (
    full_uri,
    is_local,
    is_storage_library_error,
    normalize_uri,
    storage_error,
    url_to_fs,
)

MANIFEST_SUFFIXES = (".parquet", ".csv", ".csv.gz")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inputs:
    kind: str  # "tao" | "prefix" | "glob" | "manifest"
    uri: str
    table: pa.Table | None = None  # uri, label, etag, size, mtime, version: for listed kinds
    manifest_format: str | None = None  # "parquet" | "csv"
    # Resolved local folders the job may read files from: the input's own folder (a local
    # manifest's folder); none for remote inputs. Widened with --local-root.
    local_roots: tuple[str, ...] = ()

    @property
    def count(self) -> int | None:
        return None if self.table is None else self.table.num_rows


def _table(uris: list[str], labels: list[str | None] | None = None, infos: list[dict] | None = None) -> pa.Table:
    """uri, label and the version fields the ledger keys on (docs/LAYOUT.md)."""
    from lpr_ray.results.ledger import stat_uris, versions_table

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


def _open_fs(uri: str):
    try:
        return url_to_fs(uri)
    except (ValueError, ImportError) as exc:  # fsspec: "Protocol not known", or its library missing
        raise LprRayError(
            f"input {uri}: cannot open its storage ({exc}); expected a local path, s3://bucket/prefix "
            "or another fsspec URL whose library is installed"
        ) from exc


def _manifest_header(fs, path: str, uri: str, fmt: str) -> tuple[list[str], bool]:
    """(column names, has rows) of a manifest, read on the driver from its first bytes only."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            with fs.open(path, "rb") as f:
                meta = pq.read_metadata(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise LprRayError(
                f"manifest {uri} is not a readable Parquet file ({exc}); expected Parquet with a 'uri' column"
            ) from exc
        return meta.schema.to_arrow_schema().names, meta.num_rows > 0
    import codecs
    import csv
    import io

    with fs.open(path, "rb", compression="infer") as f:
        head = f.read(1 << 16)
    try:
        # Incremental: a character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise LprRayError(
            f"manifest {uri} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected a UTF-8 CSV "
            "with a 'uri' column"
        ) from exc
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(rows, [])
    has_rows = any(any(cell.strip() for cell in row) for row in rows)
    return [h.strip() for h in header], has_rows


def _under(uri: str, roots: tuple[str, ...]) -> bool:
    return any(uri == r or uri.startswith(r + "/") for r in roots)


def _resolved(uri: str) -> str:
    """Local paths with their symlinks resolved (an output reached through a link inside the
    input is still the output); other URIs as they are."""
    return os.path.realpath(normalize_uri(uri)) if is_local(uri) else normalize_uri(uri)


def _listed(fs, uri: str, found: dict, exclude: tuple[str, ...]) -> tuple[list[str], list[dict], int]:
    """Entries of a listing, in order, but folders and the run's own output: (uris, infos,
    how many were under an excluded root)."""
    roots = tuple(_resolved(e).rstrip("/") for e in exclude if e)
    # realpath walks every component of a path: resolve each folder once, and a file itself
    # only when the listing says it is a link (a million objects share a few thousand folders).
    folder = functools.lru_cache(maxsize=65536)(_resolved)

    def resolved(full: str, info: dict) -> str:
        if not is_local(full) or info.get("islink"):
            return _resolved(full)
        head, _, name = full.rpartition("/")
        return os.path.join(folder(head or "/"), name)

    uris, infos, excluded = [], [], 0
    for p in sorted(found):
        info = found[p]
        # An empty key ending in "/" is a folder (what S3 consoles and pyarrow's create_dir
        # make), not an object; one that holds bytes is an object, and gets its row.
        if info.get("type") == "directory" or (p.endswith("/") and not info.get("size")):
            continue
        full = full_uri(fs, p, uri)
        if _under(resolved(full, info), roots):
            excluded += 1
            continue
        uris.append(full)
        infos.append(info)
    return uris, infos, excluded


def _local_roots(uri: str, kind: str) -> tuple[str, ...]:
    """The folders a local input's files must resolve into: the folder it names, a glob's
    folder before its first wildcard, a file's (or a manifest's) own folder."""
    if not is_local(uri):
        return ()
    path = normalize_uri(uri)
    if kind == "glob":
        parts = path.split("/")
        fixed = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
        return (os.path.realpath("/".join(parts[:fixed]) or "/"),)
    if kind == "manifest" or not os.path.isdir(path):
        return (os.path.realpath(os.path.dirname(path)),)
    return (os.path.realpath(path),)


def _nothing_left(uri: str, excluded: int, exclude: tuple[str, ...], what: str) -> LprRayError:
    if excluded:
        return LprRayError(
            f"input {uri} holds only the run's own output ({excluded} objects under "
            f"{' or '.join(e for e in exclude if e)}); expected archive objects outside OUTPUT and the ledger"
        )
    return LprRayError(f"{what}")


def resolve_inputs(uri: str, charset: Charset | None = None, exclude: tuple[str, ...] = ()) -> Inputs:
    """exclude: roots (OUTPUT, the ledger folder) whose objects are never inputs. When OUTPUT
    lies inside the input prefix, each run would otherwise read the previous runs' Parquet,
    JSON and ledger files as images (not_an_image rows, more every run)."""
    try:
        inputs = _resolve(normalize_uri(uri), charset, exclude)
    except LprRayError:
        raise
    except Exception as exc:  # refused credentials, an unreachable store: one line, not a traceback
        if not is_storage_library_error(exc):
            raise
        raise LprRayError(storage_error("cannot read the input", uri, exc)) from exc
    return dataclasses.replace(inputs, local_roots=_local_roots(inputs.uri, inputs.kind))


def _resolve(uri: str, charset: Charset | None, exclude: tuple[str, ...]) -> Inputs:
    fs, path = _open_fs(uri)
    lower = path.lower()
    if lower.endswith(MANIFEST_SUFFIXES) and fs.isfile(path):
        fmt = "parquet" if lower.endswith(".parquet") else "csv"
        names, has_rows = _manifest_header(fs, path, uri, fmt)
        if not has_rows and not names:
            raise LprRayError(f"manifest {uri} is empty; expected a header with a 'uri' column")
        _check_manifest_columns(names, uri)
        if not has_rows:
            # Zero inputs, known now: Ray's CSV reader gives a header-only file no columns.
            return Inputs(kind="manifest", uri=uri, table=_table([]), manifest_format=fmt)
        return Inputs(kind="manifest", uri=uri, manifest_format=fmt)
    if any(ch in path for ch in "*?["):
        found = fs.glob(path, detail=True)
        uris, infos, excluded = _listed(fs, uri, found, exclude)
        if not uris:
            raise _nothing_left(uri, excluded, exclude, f"the pattern {uri} matches no objects")
        return Inputs(kind="glob", uri=uri, table=_table(uris, infos=infos))
    if not fs.exists(path):
        raise LprRayError(f"input {uri} does not exist (expected a folder, prefix, TAO dataset, glob or manifest)")
    if fs.isfile(path):
        return Inputs(kind="prefix", uri=uri, table=_table([full_uri(fs, path, uri)], infos=[fs.info(path)]))
    if is_tao_dataset(uri):
        samples = list_tao(uri, charset)
        if not samples:
            raise LprRayError(f"TAO dataset {uri} has no images under images/")
        return Inputs(kind="tao", uri=uri, table=_table([s.uri for s in samples], [s.label for s in samples]))
    uris, infos, excluded = _listed(fs, uri, fs.find(path, detail=True), exclude)
    if not uris:
        raise _nothing_left(uri, excluded, exclude, f"input {uri} holds no objects")
    if excluded:
        log.info("input %s: %d objects under the run's output or ledger are not inputs", uri, excluded)
    return Inputs(kind="prefix", uri=uri, table=_table(uris, infos=infos))
