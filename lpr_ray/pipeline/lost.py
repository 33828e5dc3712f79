"""Rows for objects whose batch was lost: its task failed on every try (the worker killed for
memory, a crash), and Ray Data dropped the block after `--max-lost-batches` allowed it.

Ray Data retries a failed task for ever by default, so one object that kills its worker
stopped the run (and every later one) without a row for anyone. The fetch stage now has a
bounded number of tries; what is still lost becomes one error row per object, written beside
the run's own files before the run's one-row-per-input check and its commit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lpr_ray.pipeline.partition import PartitionSpec
from lpr_ray.pipeline.rows import build_rows, write_rows

BATCH_LOST = "batch_lost"
# Tries of a fetch task (Ray's max_retries + 1) before its batch counts as lost.
FETCH_TRIES = 3


def lost_error() -> str:
    return (
        f"the task reading this object's batch failed {FETCH_TRIES} times (its worker was killed, "
        "e.g. for memory, or crashed), so the object was not read; the next --incremental run "
        "reads it again (a batch holds up to the fetch batch size of objects: most of them are "
        "innocent)"
    )


def missing_inputs(expected: pa.Table, written: pa.Table) -> pa.Table:
    """Rows of `expected` (uri, label) whose uri has no row among `written` (uri)."""
    seen = written.column("uri").combine_chunks()
    return expected.filter(pc.invert(pc.is_in(expected.column("uri"), value_set=seen)))


def lost_rows(missing: pa.Table, *, model: str, run_id: str) -> pa.Table:
    n = missing.num_rows
    labels = missing.column("label").to_pylist() if "label" in missing.column_names else [None] * n
    batch = {
        "uri": np.array(missing.column("uri").to_pylist(), dtype=object),
        "label": np.array(labels, dtype=object),
        "status": np.array([BATCH_LOST] * n, dtype=object),
        "error": np.array([lost_error()] * n, dtype=object),
        "width": np.full(n, -1, np.int32),
        "height": np.full(n, -1, np.int32),
    }
    # No backend ran for these objects: the column is null.
    return build_rows(batch, {}, model=model, backend=None, run_id=run_id, processed_at=datetime.now(UTC))


def write_lost_rows(rows: pa.Table, fs, data_path: str, part: PartitionSpec, run_date: str, run_id: str,
                    rows_per_file: int) -> None:
    """Under the run's data folder, named like Ray's own files of the run (summary.run_file_pattern)."""
    table = part.add_columns(rows, run_date)
    write_rows(table, fs, data_path, part.columns, f"{run_id}_{uuid.uuid4().hex}_999999-{{i}}.parquet", rows_per_file)
