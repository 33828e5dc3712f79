"""The output rows (docs/LAYOUT.md) as an Arrow schema, and how a batch becomes rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa

from lpr_ray.core.decode import PlateRead

# The schema is the results' (lpr_ray/results/table.py): the job writes what readers read.
from lpr_ray.results.table import SCHEMA

TOO_SHORT = "too_short"


def _opt_str(value) -> str | None:
    # Ray's numpy batches carry nulls of an all-null column as None or NaN.
    return value if isinstance(value, str) else None


def build_rows(
    batch: dict[str, np.ndarray],
    reads: dict[int, PlateRead],
    *,
    model: str,
    backend: str | None,
    run_id: str,
    processed_at: datetime,
) -> pa.Table:
    """Merge the fetch stage's columns with the reads of the rows that were recognised."""
    n = len(batch["uri"])
    statuses: list[str] = [str(s) for s in batch["status"]]
    errors: list[str | None] = [_opt_str(e) for e in batch["error"]]
    plates: list[str | None] = [None] * n
    confs: list[float | None] = [None] * n
    chars: list[Sequence[float] | None] = [[] for _ in range(n)]
    for i, read in reads.items():
        plates[i] = read.plate
        confs[i] = read.confidence
        chars[i] = list(read.char_confidences)
        if read.too_short:
            statuses[i] = TOO_SHORT
            errors[i] = (
                f"read {read.plate!r} has {len(read.plate)} characters; a plate has at least 3 "
                "(is the crop a plate, and tight around it?)"
            )
    labels = [_opt_str(lab) for lab in batch["label"]]
    # Present whenever a label is (docs/LAYOUT.md): an image that could not be read was not
    # read correctly, so a run's accuracy counts it among its labelled images.
    correct = [None if lab is None else plates[i] == lab for i, lab in enumerate(labels)]
    width = [None if w < 0 else int(w) for w in batch["width"]]
    height = [None if h < 0 else int(h) for h in batch["height"]]
    return pa.table(
        {
            "uri": pa.array([str(u) for u in batch["uri"]], pa.string()),
            "plate": pa.array(plates, pa.string()),
            "confidence": pa.array(confs, pa.float32()),
            "char_confidences": pa.array(chars, pa.list_(pa.float32())),
            "status": pa.array(statuses, pa.string()),
            "error": pa.array(errors, pa.string()),
            "label": pa.array(labels, pa.string()),
            "correct": pa.array(correct, pa.bool_()),
            "width": pa.array(width, pa.int32()),
            "height": pa.array(height, pa.int32()),
            "model": pa.array([model] * n, pa.string()),
            "backend": pa.array([backend] * n, pa.string()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "processed_at": pa.array([processed_at] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=SCHEMA,
    )


def write_rows(table: pa.Table, fs, data_path: str, partition_columns: list[str], basename_template: str,
               rows_per_file: int) -> None:
    """Rows written by the driver (a rewrite, lost batches) under OUTPUT/data, Hive-partitioned
    like Ray's own files; `basename_template` must match summary.run_file_pattern."""
    import pyarrow.dataset as pads

    pads.write_dataset(
        table, data_path, filesystem=fs, format="parquet",
        partitioning=partition_columns, partitioning_flavor="hive",
        basename_template=basename_template, existing_data_behavior="overwrite_or_ignore",
        max_rows_per_file=rows_per_file, max_rows_per_group=rows_per_file,
    )
