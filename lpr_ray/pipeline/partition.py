"""Hive partition values of each row: the run date, and groups parsed from the object key.

`--partition-pattern` is a regex with named groups (e.g. site, camera, date) searched in the
object's key (the URI without scheme and bucket; the absolute path for local files). A key
that does not match, or a group that matched nothing, gets `__unknown__`: rows are never
dropped for an odd key. A value whose folder name would be long (file systems refuse names
over 255 bytes, and percent-encoding grows a CJK character to 9) keeps its first characters
and a hash of the whole value, so two long values never share a folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

import pyarrow as pa

from lpr_ray.core.errors import LprRayError

UNKNOWN = "__unknown__"
RUN_DATE = "run_date"
# Partition names must not shadow row columns (readers would see two columns of one name).
_RESERVED = {
    "uri", "plate", "confidence", "char_confidences", "status", "error", "label", "correct",
    "width", "height", "model", "backend", "run_id", "processed_at", RUN_DATE,
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
# Encoded bytes of a partition value at most: with "name=" (at most 32) well under 255.
MAX_VALUE_BYTES = 120


def bounded_value(value: str) -> str:
    """`value`, or when its percent-encoded form is over MAX_VALUE_BYTES, its longest prefix
    that fits 100 encoded bytes + "~" + 16 hex digits of its SHA-256."""
    if len(quote(value, safe="")) <= MAX_VALUE_BYTES:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    prefix = ""
    for ch in value:
        if len(quote(prefix + ch, safe="")) > 100:
            break
        prefix += ch
    return f"{prefix}~{digest}"


@dataclass(frozen=True)
class PartitionSpec:
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.pattern is None:
            return
        try:
            rx = re.compile(self.pattern)
        except re.error as exc:
            raise LprRayError(f"--partition-pattern {self.pattern!r} is not a valid regex: {exc}") from exc
        names = list(rx.groupindex)
        if not names:
            raise LprRayError(
                f"--partition-pattern {self.pattern!r} has no named groups; expected e.g. "
                r"'(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/'"
            )
        bad = [n for n in names if n in _RESERVED or not _NAME.match(n)]
        if bad:
            raise LprRayError(
                f"--partition-pattern group names {bad} are not allowed: expected lower-case "
                f"identifiers other than {sorted(_RESERVED)}"
            )

    @property
    def columns(self) -> list[str]:
        """Partition columns in directory order: run_date first, then the pattern's groups."""
        if self.pattern is None:
            return [RUN_DATE]
        return [RUN_DATE, *re.compile(self.pattern).groupindex]

    def values(self, uris: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {c: [] for c in self.columns[1:]}
        if self.pattern is None:
            return out
        rx = re.compile(self.pattern)
        for uri in uris:
            m = rx.search(object_key(uri))
            for name in out:
                value = m.group(name) if m else None
                out[name].append(bounded_value(value) if value else UNKNOWN)
        return out

    def add_columns(self, table: pa.Table, run_date: str) -> pa.Table:
        """Append run_date and the pattern's groups (strings) to a table of rows with `uri`."""
        table = table.append_column(RUN_DATE, pa.array([run_date] * table.num_rows, pa.string()))
        for name, vals in self.values(table.column("uri").to_pylist()).items():
            table = table.append_column(name, pa.array(vals, pa.string()))
        return table


def object_key(uri: str) -> str:
    """s3://bucket/a/b.jpg -> a/b.jpg; a local path stays whole."""
    if "://" not in uri:
        return uri
    rest = uri.split("://", 1)[1]
    return rest.split("/", 1)[1] if "/" in rest else ""
