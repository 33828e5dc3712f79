"""Where a run's time went, per Ray Data stage, from Ray Data's own statistics.

Saved in the run's summary (`stages`), so that a slow run can be read without re-running it
under a profiler: per stage, how many tasks ran, how long each took in the worker, how much of
that was our function (the rest is Ray Data turning blocks into batches and back), and the
stage's span from its first start to its last end.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _sum(stat) -> float:
    return float(getattr(stat, "sum", 0.0) or 0.0)


def stage_times(written) -> dict[str, dict[str, float]]:
    """`written`: the Dataset a write_* call executed. {} (and a debug line) where this Ray
    does not keep the statistics where Ray 2.60 does: they describe the run, they are not
    needed for it."""
    try:
        return _read(written)
    except Exception as exc:  # noqa: BLE001 - Ray's private statistics describe the run; a
        # change in them must not stop a run whose rows are all written
        log.debug("no per-stage times: %s: %s", type(exc).__name__, exc)
        return {}


def _read(written) -> dict[str, dict[str, float]]:
    executed = getattr(written, "_write_ds", None)  # set by Dataset.write_datasink (Ray 2.60)
    get = getattr(executed, "_get_stats_summary", None)
    if get is None:
        log.debug("Ray Data keeps no statistics for this write: no per-stage times")
        return {}
    out: dict[str, dict[str, float]] = {}
    pending = [get()]
    while pending:
        summary = pending.pop()
        pending.extend(summary.parents or [])
        for op in summary.operators_stats:
            wall = op.wall_time
            tasks = int(getattr(wall, "count", 0) or 0)
            if not tasks:
                continue
            out[op.operator_name] = {
                "tasks": tasks,
                "rows": int(_sum(op.output_num_rows)),
                "task_s": round(_sum(wall), 4),
                "udf_s": round(_sum(op.function_body_time), 4),
                "to_batch_s": round(_sum(op.input_prep_time), 4),
                "to_block_s": round(_sum(op.output_build_time), 4),
                "span_s": round(float(op.latest_end_time - op.earliest_start_time), 4)
                if op.latest_end_time and op.earliest_start_time else 0.0,
            }
    return out
