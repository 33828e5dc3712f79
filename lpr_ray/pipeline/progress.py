"""One progress line per interval for the job, with the known total.

Ray Data's own progress output is a 14-line block every 10 s off a terminal ("Total Progress:
0/?" though the count is known) and nothing on a terminal without tqdm. The recogniser actors
add the rows they made to a counter actor instead (a fire-and-forget call per batch), and a
thread of the driver logs one line from it:

    run nightly: 12,800 / 50,000 objects (26%), 1,204 plates/s, about 31 s left
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)


class ProgressCounter:
    """Rows made so far; a Ray actor in the job (`ray.remote(num_cpus=0)(ProgressCounter)`)."""

    def __init__(self) -> None:
        self.rows = 0

    def add(self, n: int) -> None:
        self.rows += int(n)

    def value(self) -> int:
        return self.rows


def progress_line(run_id: str, done: int, total: int | None, seconds: float) -> str:
    if total is not None:
        done = min(done, total)  # a lost batch read again one object per task counts twice
    rate = done / seconds if seconds > 0 else 0.0
    if total is None:
        return f"run {run_id}: {done:,} objects, {rate:,.0f} plates/s"
    left = (total - done) / rate if rate > 0 else None
    eta = f", about {left:,.0f} s left" if left is not None and done < total else ""
    pct = 100 * done // total if total else 100
    return f"run {run_id}: {done:,} / {total:,} objects ({pct}%), {rate:,.0f} plates/s{eta}"


@contextlib.contextmanager
def report_progress(ray, counter, run_id: str, total: int | None, every_s: float) -> Iterator[None]:
    """Log a progress line every `every_s` seconds while the body runs, and a last one after."""
    stop = threading.Event()
    t0 = time.monotonic()

    def value() -> int | None:
        try:
            return int(ray.get(counter.value.remote(), timeout=max(every_s, 5.0)))
        except Exception as exc:  # noqa: BLE001 - progress must never fail or hang the run
            log.debug("progress counter unavailable: %s", exc)
            return None

    def loop() -> None:
        while not stop.wait(every_s):
            done = value()
            if done is not None:
                log.info("%s", progress_line(run_id, done, total, time.monotonic() - t0))

    thread = threading.Thread(target=loop, name="lpr-ray-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s + 5)
        done = value()
        if done is not None:
            log.info("%s", progress_line(run_id, done, total, time.monotonic() - t0))


# Ray Data's warnings that are false for this job: its recogniser actors hold the CPUs on
# purpose (fetch tasks take fractional CPUs), and its progress bars are off because the line
# above replaces them.
_FALSE_ALARMS = ("The Ray cluster currently does not have any available CPUs", "Progress bars disabled")


class _DropFalseAlarms(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Ray Data's INFO lines (execution plan, "Starting execution", "Data sink finished")
        # narrate what our progress line and summary already say; `-v` shows them again.
        if record.levelno < logging.WARNING and not logging.getLogger("lpr_ray").isEnabledFor(logging.DEBUG):
            return False
        message = record.getMessage()
        return not any(text in message for text in _FALSE_ALARMS)


def quiet_ray_data() -> None:
    """Drop those warnings from Ray Data's console output (its log file keeps them)."""
    import ray.data  # noqa: F401 - configures the "ray.data" logger's handlers

    for handler in logging.getLogger("ray.data").handlers:
        if type(handler).__name__ != "SessionFileHandler" and not any(
            isinstance(f, _DropFalseAlarms) for f in handler.filters
        ):
            handler.addFilter(_DropFalseAlarms())
