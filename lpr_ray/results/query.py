"""Query committed results with DuckDB: plates (exact, wildcard, fuzzy), review lists, statistics.

    from lpr_ray.results import query
    query.find_plates("s3://lot-results/plates", "7AB*12")             # pyarrow.Table
    query.find_plates("results/", "7ABC123", mode="fuzzy", as_pandas=True)
    query.review("results/", threshold=0.5, limit=100)                   # lowest confidence first
    query.stats_per_run("results/")
    query.stats_per_partition("results/", by=["run_date", "site"])

Only rows that commit records name are visible (docs/LAYOUT.md): the committed data files are
opened as one pyarrow dataset (hive partitions `run_date=`, `site=`, ... become columns) and
registered as the DuckDB view `results`. That works for local folders, s3:// (pyarrow's S3
client: no DuckDB httpfs extension needed) and any fsspec URL. DuckDB pushes column projection
and simple filters down into the pyarrow scan.

Every function takes either a results URI or an open `Results` (to run several queries without
listing the commit records again). User input reaches SQL only as bound parameters; column names
are checked against the view's schema.
"""

from __future__ import annotations

import csv
import posixpath
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.charset import CN, plate_text
from lpr_ray.core.errors import LprRayError

MODES = ("exact", "wildcard", "fuzzy")

# OCR confusions: every character of a class maps to its canonical digit.
CONFUSIONS = {"0": "0DQO", "8": "8B", "1": "1I", "5": "5S", "2": "2Z"}
_FROM = "".join(chars[1:] for chars in CONFUSIONS.values())
_TO = "".join(canon * (len(chars) - 1) for canon, chars in CONFUSIONS.items())
_TRANSLATE = str.maketrans(_FROM, _TO)
# Chinese plates: the province character is the one most often misread, and the shipped
# models' province misreads spread over many pairs (浙/湘, 冀/贵, 粤/鄂, 贵/鲁, 川/陕, ... in
# docs/model-log.md), so a leading province matches any province rather than a few classes.
PROVINCES = CN.characters[:31]

# The UTC date of processed_at by arithmetic: 3-4x faster than CAST(... AS DATE) of a
# TIMESTAMPTZ, which goes through ICU time zones.
UTC_DAY = "(DATE '1970-01-01' + CAST(epoch_us(processed_at) // 86400000000 AS INTEGER))"
# Columns shown by default (char_confidences and error stay out of plate listings).
LISTING = ["plate", "confidence", "status", "source", "reviewer", "uri", "label", "correct", "run_id", "processed_at"]
# Columns Results can filter every view by.
FILTERS = ("site", "camera", "date", "model")
# What the current view adds to a row (Results).
CURRENT_COLUMNS = ("model_plate", "source", "review", "reviewer", "reviewed_at")


def canonical(text: str) -> str:
    """The plate with every confusable character replaced by its class's canonical digit
    (and a leading Chinese province by the first province)."""
    text = text.upper().translate(_TRANSLATE)
    return PROVINCES[0] + text[1:] if text[:1] in PROVINCES else text


def class_regex(text: str) -> str:
    """A regex matching TEXT and every string equal to it up to the OCR confusions."""
    out = []
    for i, ch in enumerate(text.upper()):
        if i == 0 and ch in PROVINCES:
            out.append(f"[{''.join(PROVINCES)}]")
            continue
        cls = next((chars for chars in CONFUSIONS.values() if ch in chars), None)
        out.append(f"[{cls}]" if cls else re.escape(ch))
    return "".join(out)


def wildcard_to_like(pattern: str) -> str:
    """`*` and `?` (and SQL's own `%` and `_`) to a LIKE pattern, upper-cased."""
    return pattern.strip().upper().replace("*", "%").replace("?", "_")


# --------------------------------------------------------------------------- committed files


def _resolve(root: str):
    from lpr_ray.core.storage import arrow_filesystem

    fs, base = arrow_filesystem(root)
    return fs, base.rstrip("/") or base


def _check_root(root: str) -> None:
    """A root with no commits yet is an empty result; a root that does not exist is a typo."""
    from pyarrow.fs import FileSelector, FileType

    from lpr_ray.results.delta_log import DELTA_LOG
    from lpr_ray.results.table import COMMITS_DIR, DATA_DIR

    fs, base = _resolve(root)
    kind = fs.get_file_info(base).type
    if kind == FileType.NotFound:
        raise LprRayError(f"results root {root} does not exist: expected the --output of an `lpr-ray run`")
    if kind == FileType.File:
        raise LprRayError(f"results root {root} is a file: expected the --output folder of an `lpr-ray run`")
    names = {i.base_name for i in fs.get_file_info(FileSelector(base, allow_not_found=True))}
    if names and not names & {DELTA_LOG, COMMITS_DIR, DATA_DIR, "_runs", "_ledger"}:
        # An input folder, a typo for a sibling: 0 rows would read as "nothing recognised yet".
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise LprRayError(
            f"results root {root} holds no lpr-ray results (no _delta_log/, _runs/ or data/; it has "
            f"{shown}): expected the --output of an `lpr-ray run`"
        )


def committed_files(root: str) -> list[str]:
    """Committed data files of ROOT (lpr_ray.results.table), as paths on `arrow_filesystem(root)`."""
    from lpr_ray.results.table import committed_files as committed_uris

    _, base = _resolve(root)
    out = []
    for f in committed_uris(root):
        f = str(f)
        if "://" in f:  # a full URI: drop the scheme, keep bucket/key
            f = f.split("://", 1)[1]
        elif not f.startswith("/") and not f.startswith(base + "/"):
            f = posixpath.join(base, f)
        out.append(f)
    return out


# --------------------------------------------------------------------------- the connection


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading a results root can raise besides LprRayError: storage errors (refused
    credentials, an unreachable store) and DuckDB's own (a committed file that is missing)."""
    import duckdb

    return (OSError, duckdb.Error)


class Results:
    """A DuckDB connection over one results root, with three views:

    - `history`: every committed row (one per image and run);
    - `current`: one row per image: its latest run's read, or a person's verdict where one
      exists (`lpr-ray review`): `plate` is then the human label (null for unreadable / not a
      plate), `source` says 'human' or 'model', `model_plate` keeps the model's read, and
      `review`, `reviewer`, `reviewed_at` say who decided what;
    - `results`: `current`, or `history` when history=True.

    Local roots are read by DuckDB's own Parquet reader (about 3x faster than through Arrow
    here); object storage through a pyarrow dataset (pyarrow's S3 client, no DuckDB extension).
    Partition values are strings either way (`run_date`, `site`, `camera`, `date`, ...).
    """

    def __init__(self, root: str, *, threads: int | None = None, history: bool = False,
                 filters: dict[str, str] | None = None) -> None:
        """FILTERS: only rows whose site, camera, date or model (a name, or name@hash) is the
        value given; every view is filtered (the current read is chosen before filtering)."""
        import duckdb

        from lpr_ray.core.storage import is_local

        self.root = root
        self.history = history
        self.filters = {k: v for k, v in (filters or {}).items() if v is not None}
        self.files = committed_files(root)
        if not self.files:
            _check_root(root)
        self.con = duckdb.connect()
        # processed_at is UTC in the files; DuckDB would show timestamps in the machine's zone.
        self.con.execute("SET TimeZone = 'UTC'")
        self._index_source = None  # the pyarrow dataset to index, for object storage
        self._index: pa.Table | None = None
        self._row_groups: list = []
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        _, base = _resolve(root)
        data_dir = posixpath.join(base, "data")
        if not self.files:
            self._register_arrow(None, data_dir)
        elif is_local(root):
            self._create_native_view(data_dir)
        else:
            self._register_arrow(self.files, data_dir)
            self._index_source = self.dataset
        from lpr_ray.results.reviews import ReviewLog

        self.review_log = ReviewLog(root)  # people's verdicts (lpr-ray review), read incrementally
        self.reload_reviews()
        where = self._filter_sql()
        if where:
            self._index_source = None  # the row-group index knows no filter: scan
        self.con.execute(f"CREATE VIEW history AS SELECT * FROM history_all {where}")
        self.con.execute(f"CREATE VIEW current AS SELECT * FROM ({_current_sql('history_all')}) {where}")
        self.con.execute(f"CREATE VIEW results AS SELECT * FROM {'history' if history else 'current'}")
        self.columns = [r[0] for r in self.con.execute("DESCRIBE results").fetchall()]

    def _filter_sql(self) -> str:
        if not self.filters:
            return ""
        have = {r[0] for r in self.con.execute("DESCRIBE history_all").fetchall()}
        conds = []
        for key, value in self.filters.items():
            if key not in FILTERS:
                raise LprRayError(f"unknown filter {key!r}: expected one of {', '.join(FILTERS)}")
            if key == "model":  # values are quoted literals: a view takes no parameters
                conds.append(f"(model = {_sql_str(value)} OR split_part(model, '@', 1) = {_sql_str(value)})")
            elif key not in have:
                raise LprRayError(f"these results have no {key} column (no run used a --partition-pattern "
                                  "naming it), so they cannot be filtered by it")
            else:
                conds.append(f"{_ident(key)} = {_sql_str(value)}")
            present = self.con.execute(f"SELECT 1 FROM history_all WHERE {conds[-1]} LIMIT 1").fetchall()
            if not present:  # a typo would read as "no images", which is never what was asked
                col = "split_part(model, '@', 1)" if key == "model" else _ident(key)
                values = [r[0] for r in self.con.execute(
                    f"SELECT DISTINCT {col} FROM history_all WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 20").fetchall()]
                raise LprRayError(f"no rows have {key} = {value!r}; the results have: {', '.join(map(str, values))}")
        return "WHERE " + " AND ".join(conds)

    def reload_reviews(self) -> None:
        """Read ROOT/_reviews/ again (a review server calls it when people add verdicts)."""
        from lpr_ray.results.reviews import current_table

        self._reviews = current_table(self.review_log.records())
        self.con.register("reviews", self._reviews)

    def _register_arrow(self, files: list[str] | None, data_dir: str) -> None:
        import pyarrow.dataset as pads

        from lpr_ray.results.table import empty_results

        if files is None:  # nothing committed yet: an empty view with the row schema and run_date
            self.dataset = pads.dataset(empty_results())
        else:
            fs, _ = _resolve(self.root)
            keys = list(dict.fromkeys(k for f in files for k in _hive_keys(f, data_dir)))
            part = pads.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")
            self.dataset = pads.dataset(
                files, filesystem=fs, format="parquet", partitioning=part, partition_base_dir=data_dir
            )
        self.con.register("results_arrow", self.dataset)
        self.con.execute("CREATE VIEW history_all AS SELECT * FROM results_arrow")

    def _create_native_view(self, data_dir: str) -> None:
        # DuckDB refuses one hive read over files with different partition keys
        # (run_date=/ and run_date=/site=/...): one read per key set, unioned by name.
        groups: dict[tuple[str, ...], list[str]] = {}
        for f in self.files:
            groups.setdefault(tuple(_hive_keys(f, data_dir)), []).append(f)
        parts = []
        for keys, files in groups.items():
            listing = "[" + ", ".join(_sql_str(f) for f in files) + "]"
            hive = "true, hive_types_autocast = false" if keys else "false"
            parts.append(f"SELECT * FROM read_parquet({listing}, hive_partitioning = {hive})")
        self.con.execute("CREATE VIEW history_all AS " + " UNION ALL BY NAME ".join(parts))

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def partition_columns(self) -> list[str]:
        from lpr_ray.results.table import SCHEMA

        return [c for c in self.columns if c not in SCHEMA.names and c not in CURRENT_COLUMNS]

    def sql(self, query: str, params: Sequence | dict | None = None) -> pa.Table:
        import duckdb

        try:
            rel = self.con.sql(query, params=params) if params else self.con.sql(query)
            return pa.table({}) if rel is None else _fetch_arrow(rel)  # None: a statement, no rows
        except duckdb.Error as exc:
            raise LprRayError(f"DuckDB could not run the query over `results`: {exc}") from exc

    def check_columns(self, names: Sequence[str]) -> list[str]:
        unknown = [n for n in names if n not in self.columns and n != "day"]
        if unknown:
            raise LprRayError(
                f"unknown column(s) {', '.join(unknown)}; the results have: "
                f"{', '.join(self.columns)} (and 'day', the date of processed_at). Partition columns "
                "other than run_date exist only once a run with a --partition-pattern naming them "
                "has committed"
            )
        return list(names)

    def listing_columns(self) -> str:
        cols = [c for c in LISTING if c in self.columns] + self.partition_columns
        return ", ".join(_ident(c) for c in cols)


    # -- object storage: read only the row groups that can hold the answer ----------------
    #
    # A pyarrow scan cannot skip the other columns of rows a filter drops, so a selective query
    # over s3:// would download every column of every row group. Instead, the first such query
    # reads a small index once (plate, confidence, status and the row group of each row) and
    # keeps it in memory; each query then finds its row groups in the index and scans only
    # those. Local roots need none of this (DuckDB's reader skips what filters drop).

    @property
    def remote(self) -> bool:
        return self._index_source is not None

    def _remote_dataset(self):
        if self._index_source is None:
            raise LprRayError(f"{self.root} is indexed by row group only on object storage")
        return self._index_source

    def _ensure_index(self) -> None:
        if self._index is not None:
            return
        import pyarrow.dataset as pads

        ds = self._remote_dataset()
        self._row_groups = [rg for frag in ds.get_fragments() for rg in frag.split_by_row_group()]
        rg_ds = pads.FileSystemDataset(self._row_groups, ds.schema, ds.format, ds.filesystem)
        # The current view needs each row's uri and time to tell the latest read of an image.
        keys = () if self.history else ("uri", "run_id", "processed_at")
        cols = [c for c in ("plate", "confidence", "status", *keys) if c in ds.schema.names]
        key = {(f.path, f.row_groups[0].id): i for i, f in enumerate(self._row_groups)}
        batches = []
        for tagged in rg_ds.scanner(columns=cols).scan_batches():
            b = tagged.record_batch
            if b.num_rows:
                rg = key[(tagged.fragment.path, tagged.fragment.row_groups[0].id)]
                arrays = [b.column(c).dictionary_encode() if c == "status" else b.column(c) for c in cols]
                arrays.append(pa.repeat(pa.scalar(rg, pa.int32()), b.num_rows))
                batches.append(pa.RecordBatch.from_arrays(arrays, names=[*cols, "rg"]))
        schema = pa.schema(
            [pa.field(c, pa.dictionary(pa.int32(), pa.string())) if c == "status" else ds.schema.field(c)
             for c in cols] + [("rg", pa.int32())]
        )
        self._index = pa.Table.from_batches(batches, schema=schema)
        self.con.register("row_index", self._index)
        if not self.history:
            self.con.execute(
                "CREATE OR REPLACE VIEW row_index_current AS SELECT h.* REPLACE "
                f"({_PLATE} AS plate), rv.review FROM row_index h LEFT JOIN reviews rv ON rv.uri = h.uri "
                f"QUALIFY {_LATEST}"
            )

    def source(self, where: str, params: dict | None = None, *, lowest: int | None = None) -> str:
        """The relation to run a query on whose answer lies in the rows WHERE selects (WHERE
        uses plate, confidence and status only; LOWEST: only the LOWEST rows by confidence
        matter): `results` itself for local roots, a view of only the row groups holding such
        rows for object storage."""
        if not self.remote:
            return "results"
        import pyarrow.dataset as pads

        index = self.plates()
        params = dict(params or {})
        cond = where
        if lowest:  # rows tied with the last of the LOWEST count too
            cond = (f"{where} AND confidence <= (SELECT max(confidence) FROM (SELECT confidence "
                    f"FROM {index} WHERE {where} ORDER BY confidence LIMIT {int(lowest)}))")
        rgs = [r[0] for r in self.con.execute(f"SELECT DISTINCT rg FROM {index} WHERE {cond} ORDER BY 1",
                                              params).fetchall()]
        ds = self._remote_dataset()
        narrow = pads.FileSystemDataset([self._row_groups[i] for i in rgs], ds.schema, ds.format, ds.filesystem)
        self.con.register("narrow_arrow", narrow)
        if self.history:
            return "narrow_arrow"
        # Only the rows that are their image's latest (the index knows which, over all rows).
        return f"({_current_sql('narrow_arrow', 'row_index_current')}) AS narrow_current"

    def plates(self) -> str:
        """Where to look plates up: the in-memory index for object storage."""
        if not self.remote:
            return "results"
        self._ensure_index()
        return "row_index" if self.history else "row_index_current"


def _fetch_arrow(rel) -> pa.Table:
    # DuckDB 1.4+ calls it to_arrow_table(); older ones arrow().
    for name in ("to_arrow_table", "arrow"):
        fn = getattr(rel, name, None)
        if fn is not None:
            out = fn()
            if isinstance(out, pa.RecordBatchReader):
                out = out.read_all()
            return out
    raise LprRayError("this DuckDB cannot return Arrow tables")


# The row a reader means by "the image's read": its latest run's, unless a person decided.
_LATEST = "row_number() OVER (PARTITION BY h.uri ORDER BY h.processed_at DESC, h.run_id DESC) = 1"
_PLATE = ("CASE WHEN rv.review IS NULL THEN h.plate WHEN rv.review IN ('corrected', 'accepted') "
          "THEN rv.review_label END")


def _current_sql(src: str, latest: str | None = None) -> str:
    """The current view of the rows of SRC: the latest row per uri (or, with LATEST, the rows
    whose uri, run_id and processed_at are in that table), the person's verdict applied."""
    pick = (f"QUALIFY {_LATEST}" if latest is None else
            f"SEMI JOIN {latest} k ON k.uri = h.uri AND k.run_id = h.run_id AND k.processed_at = h.processed_at")
    if latest is not None:  # DuckDB: SEMI JOIN before the LEFT JOIN
        return (f"SELECT h.* REPLACE ({_PLATE} AS plate), h.plate AS model_plate, "
                "CASE WHEN rv.review IS NULL THEN 'model' ELSE 'human' END AS source, rv.review, "
                f"rv.reviewer, rv.reviewed_at FROM (SELECT h.* FROM {src} h {pick}) h "
                "LEFT JOIN reviews rv ON rv.uri = h.uri")
    return (f"SELECT h.* REPLACE ({_PLATE} AS plate), h.plate AS model_plate, "
            "CASE WHEN rv.review IS NULL THEN 'model' ELSE 'human' END AS source, rv.review, "
            f"rv.reviewer, rv.reviewed_at FROM {src} h LEFT JOIN reviews rv ON rv.uri = h.uri {pick}")


def _hive_keys(path: str, data_dir: str) -> list[str]:
    rel = path[len(data_dir) + 1 :] if path.startswith(data_dir + "/") else path
    return [seg.split("=", 1)[0] for seg in rel.split("/")[:-1] if "=" in seg]


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _open(results: str | Results) -> tuple[Results, bool]:
    if isinstance(results, Results):
        return results, False
    return Results(results), True


def _finish(table: pa.Table, as_pandas: bool):
    return table.to_pandas() if as_pandas else table


@dataclass
class _Closing:
    res: Results
    owned: bool

    def __enter__(self) -> Results:
        return self.res

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.res.close()


def _session(results: str | Results) -> _Closing:
    res, owned = _open(results)
    return _Closing(res, owned)


# --------------------------------------------------------------------------- queries


def find_plates(
    results: str | Results,
    plate: str,
    mode: str = "exact",
    *,
    limit: int | None = None,
    as_pandas: bool = False,
):
    """Rows whose plate matches PLATE, best first.

    - exact: the same text (case-insensitive, spaces and dashes ignored: plates are stored
      upper-case without them).
    - wildcard: `*` any run of characters, `?` one character (SQL `%` and `_` work too).
    - fuzzy: within one edit (insert, delete or substitute a character), or the same after
      mapping the usual OCR confusions (0/D/Q/O, 8/B, 1/I, 5/S, 2/Z; a Chinese plate's
      province for any other province). Extra columns: `match`
      (exact, confusion or edit) and `edit_distance`; ranked by match, distance, confidence.
    """
    if mode not in MODES:
        raise LprRayError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    # Written the way people copy plates ("6CRR-875", "7ABC 123"); reads never hold either.
    text = plate_text(plate)
    if not text:
        raise LprRayError("--plate is empty")
    if mode == "wildcard" or (mode == "exact" and re.search(r"[*?%_]", text)):
        mode = "wildcard"
    lim = "" if limit is None else f" LIMIT {int(limit)}"
    with _session(results) as res:
        cols = res.listing_columns()
        if mode == "exact":
            params = {"p": text}
            src = res.source("plate = $p", params)
            q = f"SELECT {cols} FROM {src} WHERE plate = $p ORDER BY confidence DESC NULLS LAST, uri{lim}"
        elif mode == "wildcard":
            params = {"p": wildcard_to_like(text)}
            src = res.source("plate LIKE $p", params)
            q = f"SELECT {cols} FROM {src} WHERE plate LIKE $p ORDER BY plate, confidence DESC NULLS LAST, uri{lim}"
        else:
            return _finish(_fuzzy(res, text, cols, lim), as_pandas)
        return _finish(res.sql(q, params), as_pandas)


def _fuzzy(res: Results, text: str, cols: str, lim: str) -> pa.Table:
    # Two passes so that the expensive work touches few rows. 1: over the plate column only,
    # cheap filters first (length; then a regex on prefix or suffix: a plate within one edit
    # of TEXT, or of its confusion class, keeps its first or last len//2 characters up to
    # confusions), the edit distance only where the regex matched (CASE keeps DuckDB from
    # reordering it first). 2: the rows of those plates (an IN filter, pushed into the scan).
    k = len(text) // 2
    pre = f"^{class_regex(text[:k])}|{class_regex(text[-k:])}$" if k else ""
    params = {"q": text, "cls": class_regex(text), "n": len(text), "pre": pre}
    plates = res.sql(
        f"""
        SELECT DISTINCT plate FROM {res.plates()}
        WHERE plate IS NOT NULL AND length(plate) BETWEEN $n - 1 AND $n + 1
            AND CASE WHEN regexp_matches(plate, $pre)
                THEN levenshtein(plate, $q) <= 1 OR regexp_full_match(plate, $cls)
                ELSE false END
        """,
        params,
    ).column("plate").to_pylist()
    if not plates:
        plates = [None]  # an empty IN list is a syntax error; nothing equals NULL
    marks = ", ".join(f"$p{i}" for i in range(len(plates)))
    in_params = {f"p{i}": p for i, p in enumerate(plates)}
    src = res.source(f"plate IN ({marks})", in_params)
    params = {"q": text, "cls": params["cls"], **in_params}
    return res.sql(
        f"""
        SELECT {cols}, levenshtein(plate, $q) AS edit_distance,
            CASE WHEN plate = $q THEN 'exact'
                 WHEN regexp_full_match(plate, $cls) THEN 'confusion' ELSE 'edit' END AS match
        FROM {src} WHERE plate IN ({marks})
        ORDER BY CASE match WHEN 'exact' THEN 0 WHEN 'confusion' THEN 1 ELSE 2 END,
            edit_distance, confidence DESC NULLS LAST, uri{lim}
        """,
        params,
    )


def review(
    results: str | Results,
    threshold: float = 0.5,
    *,
    limit: int | None = 1000,
    as_pandas: bool = False,
):
    """Reads with confidence below THRESHOLD, and every too_short read, lowest first, with their
    image URIs, so a person can look at them (in the current view, images nobody has reviewed
    yet). `limit=None` returns them all."""
    lim = "" if limit is None else f" LIMIT {int(limit)}"
    with _session(results) as res:
        # A read too short to be a plate is wrong however sure the model was.
        where = "(status = 'too_short' OR (status = 'ok' AND confidence < $t))"
        if not res.history:  # an image a person has decided needs no one else
            where += " AND review IS NULL"
        params = {"t": float(threshold)}
        src = res.source(where, params, lowest=limit)
        q = f"SELECT {res.listing_columns()} FROM {src} WHERE {where} ORDER BY confidence, uri{lim}"
        return _finish(res.sql(q, params), as_pandas)


def _stats_select(low: float) -> str:
    return f"""
        count(*) AS rows,
        count(*) FILTER (WHERE status = 'ok') AS ok,
        count(*) FILTER (WHERE status = 'too_short') AS too_short,
        count(*) FILTER (WHERE status NOT IN ('ok', 'too_short')) AS errors,
        avg(confidence) FILTER (WHERE status = 'ok') AS mean_confidence,
        count(*) FILTER (WHERE status IN ('ok', 'too_short') AND confidence < {float(low)}) AS low_confidence,
        count(correct) AS labelled,
        avg(CASE WHEN correct THEN 1.0 WHEN NOT correct THEN 0.0 END) AS accuracy,
        min(processed_at) AS first_processed_at,
        max(processed_at) AS last_processed_at"""


def stats_per_run(results: str | Results, *, low: float = 0.5, as_pandas: bool = False):
    """One row per run (every row the run wrote, current or not): counts by status, mean
    confidence of ok reads, reads under LOW, labelled rows and full-plate accuracy, first/last
    processing time, model."""
    with _session(results) as res:
        q = (
            f"SELECT run_id, any_value(model) AS model, {_stats_select(low)} "
            "FROM history GROUP BY run_id ORDER BY first_processed_at, run_id"
        )
        return _finish(res.sql(q), as_pandas)


def stats_per_partition(
    results: str | Results,
    by: Sequence[str] | None = None,
    *,
    low: float = 0.5,
    as_pandas: bool = False,
):
    """The same statistics grouped by BY: partition columns (run_date, site, camera, date...),
    any row column, or `day` (the UTC date of processed_at). Default: every partition column
    of the results, else `day`."""
    with _session(results) as res:
        by = list(by) if by else (res.partition_columns or ["day"])
        res.check_columns(by)
        exprs = [
            f"{UTC_DAY} AS day" if c == "day" and "day" not in res.columns else _ident(c)
            for c in by
        ]
        keys = ", ".join(_ident(c) for c in by)
        q = f"SELECT {', '.join(exprs)}, {_stats_select(low)} FROM results GROUP BY ALL ORDER BY {keys}"
        return _finish(res.sql(q), as_pandas)


def sql(results: str | Results, query: str, *, as_pandas: bool = False):
    """Any DuckDB SQL over the view `results` (the committed rows)."""
    with _session(results) as res:
        return _finish(res.sql(query), as_pandas)


# --------------------------------------------------------------------------- output helpers


# Spreadsheets run a cell that starts with one of these as a formula (`=HYPERLINK(...)`,
# `=cmd|...`); object keys and plate text come from whoever filled the archive.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(table: pa.Table, path: str) -> int:
    """Write TABLE as CSV (lists joined with ';', timestamps ISO 8601); returns rows written.
    Text that a spreadsheet would run as a formula gets a leading `'` (OWASP's advice)."""
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(table.column_names)
        for row in table.to_pylist():
            w.writerow([_csv_cell(v) for v in row.values()])
    return table.num_rows


def _csv_cell(v) -> str:
    text = _cell(v)
    return "'" + text if isinstance(v, str) and text.startswith(_FORMULA_START) else text


def _visible(text: str) -> str:
    """Control characters as escapes: a key holding ESC, CR or LF must not drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return ";".join(_cell(x) for x in v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# Shown whole however long: a URI is what a reader copies to fetch the image.
WHOLE_COLUMNS = ("uri",)


def format_table(table: pa.Table, *, max_rows: int = 50, max_width: int = 60) -> str:
    """A plain-text table for terminals (Chinese characters take two columns there). Cells
    over max_width characters are shortened in the middle, except URIs."""
    names = table.column_names
    rows = [[_visible(_cell(v)) if n in WHOLE_COLUMNS else _short(_visible(_cell(v)), max_width)
             for n, v in r.items()] for r in table.slice(0, max_rows).to_pylist()]
    widths = [max([_columns(n)] + [_columns(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = "  ".join(_pad(n, w) for n, w in zip(names, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if table.num_rows > max_rows:
        out.append(f"... {table.num_rows - max_rows} more rows")
    out.append(f"({table.num_rows} rows)")
    return "\n".join(out)


def _columns(s: str) -> int:
    """Terminal columns of `s`: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _columns(s))


def _short(s: str, width: int) -> str:
    if len(s) <= width:
        return s
    keep = width - 3
    return s[: keep // 3] + "..." + s[-(keep - keep // 3) :]
