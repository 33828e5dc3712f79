"""The job's input table (uri, label) as a Ray Data source of fixed-size blocks.

`ray.data.from_arrow(table, override_num_blocks=n)` runs one remote task per block just to
learn each block's row count and schema, which the driver already knows: about 1 s per run
for 80 blocks on 2 CPUs (BENCHMARKS.md "Pipeline"), paid before the first object is fetched.
Here each read task carries its own slice and the driver states its metadata.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask


def _as_blocks(table: pa.Table) -> list[pa.Table]:
    return [table]


class TableSource(Datasource):
    def __init__(self, table: pa.Table, rows_per_block: int) -> None:
        if rows_per_block < 1:
            raise ValueError(f"rows_per_block must be >= 1, got {rows_per_block}")
        self._table = table.combine_chunks()
        self._rows = rows_per_block
        self._tasks: dict[int | None, list[ReadTask]] = {}  # Ray asks several times: copy once

    def estimate_inmemory_data_size(self) -> int:
        return self._table.nbytes

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context=None) -> list[ReadTask]:
        # `parallelism` is Ray Data's guess; the block size is the job's (one fetch task each).
        if per_task_row_limit in self._tasks:
            return self._tasks[per_task_row_limit]
        tasks = []
        for start in range(0, self._table.num_rows, self._rows):
            # A copy, not slice(): a pickled slice carries the whole table's buffers.
            part = self._table.take(np.arange(start, min(start + self._rows, self._table.num_rows)))
            meta = BlockMetadata(num_rows=part.num_rows, size_bytes=part.nbytes, exec_stats=None, input_files=None)
            tasks.append(ReadTask(functools.partial(_as_blocks, part), meta, schema=part.schema, per_task_row_limit=per_task_row_limit))
        self._tasks[per_task_row_limit] = tasks
        return tasks

    def get_name(self) -> str:
        return "InputTable"
