"""One progress line per interval for the job, with the known total.

Ray Data's own progress output is a 14-line block every 10 s off a terminal ("Total Progress:
0/?" though the count is known) and nothing on a terminal without tqdm. The recogniser actors
add the rows they made to a counter actor instead (a fire-and-forget call per batch), and a
thread of the driver logs one line from it every interval:

    run nightly: 12,800 / 50,000 objects (26%), 1,204 plates/s, about 31 s left

On a terminal the same count drives a tqdm bar (redrawn every second) and that line is logged
once, at the end.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from lpr_ray.core.progress import terminal_bar

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
    """Log a progress line every `every_s` seconds while the body runs (on a terminal: redraw a
    bar every second instead), and a last line after."""
    stop = threading.Event()
    t0 = time.monotonic()
    bar = terminal_bar(total, f"run {run_id}", unit="objects")

    def value() -> int | None:
        try:
            return int(ray.get(counter.value.remote(), timeout=max(every_s, 5.0)))
        except Exception as exc:  # noqa: BLE001 - progress must never fail or hang the run
            log.debug("progress counter unavailable: %s", exc)
            return None

    def loop() -> None:
        while not stop.wait(every_s if bar is None else min(every_s, 1.0)):
            done = value()
            if done is None:
                continue
            if bar is not None:
                bar.update(max(0, (done if total is None else min(done, total)) - bar.n))
            else:
                log.info("%s", progress_line(run_id, done, total, time.monotonic() - t0))

    thread = threading.Thread(target=loop, name="lpr-ray-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s + 5)
        done = value()
        if bar is not None:
            if done is not None:
                bar.update(max(0, (done if total is None else min(done, total)) - bar.n))
            bar.close()
        if done is not None:
            log.info("%s", progress_line(run_id, done, total, time.monotonic() - t0))
