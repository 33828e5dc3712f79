"""Which listed objects an incremental run must read: the listing minus the committed ledger.

At archive scale the ledger does not fit in memory: 100 million objects are about 23 GB of
Arrow data (BENCHMARKS.md "Ledger"). DuckDB therefore joins the ledger as it streams from its
Parquet files, and spills its hash table to a temporary folder past `memory_limit`; what stays
in memory is the listing's keys (which the run holds anyway) and the row numbers of new objects.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from lpr_ray.core.errors import LprRayError, first_line, require
from lpr_ray.results.ledger import ledger_datasets, weights_digest

# DuckDB's own default is 80% of RAM; the driver shares its node with Ray's object store.
MEMORY_LIMIT = "1GB"


def new_objects(root: str, ledger_files: Sequence[str | None], model: str, listing: pa.Table,
                memory_limit: str = MEMORY_LIMIT, spill_dir: str | None = None) -> pa.Table:
    """Rows of LISTING (columns uri, version, ...) whose (uri, version) no committed ledger file
    holds for MODEL's weights (any name with the same "@hash"), in LISTING's order.

    A null version never matches (SQL equality): an object of unknown version is always read.
    DuckDB spills to a temporary folder under SPILL_DIR (default: the system's temp folder).
    """
    if listing.num_rows == 0 or not any(ledger_files):
        return listing
    duckdb = require("duckdb", "pipeline")
    spill = tempfile.mkdtemp(prefix="lpr-ray-ledger-", dir=spill_dir)
    try:
        datasets = ledger_datasets(root, ledger_files)
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill,
                                     "preserve_insertion_order": False})
        try:
            keys = pa.table({
                "i": pa.array(np.arange(listing.num_rows, dtype=np.int64)),
                "uri": listing.column("uri").cast(pa.string()),
                "version": listing.column("version").cast(pa.string()),
            })
            con.register("listing", keys)
            for k, ds in enumerate(datasets):
                con.register(f"ledger{k}", ds)
            done = " UNION ALL ".join(
                f"SELECT uri, version FROM ledger{k} WHERE suffix(model, $tail)" for k in range(len(datasets))
            )
            rows = con.sql(
                f"SELECT l.i FROM listing l ANTI JOIN ({done}) d ON l.uri = d.uri AND l.version = d.version",
                params={"tail": f"@{weights_digest(model)}"},
            ).fetchnumpy()["i"]
        finally:
            con.close()
    except (OSError, pa.ArrowException, duckdb.Error) as exc:
        # A ledger file gone or unreadable, the spill folder's disk full, the memory limit.
        raise LprRayError(f"cannot compare the listing with the ledger of {root}: {first_line(exc)}") from exc
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return listing.take(pa.array(np.sort(rows), pa.int64()))
