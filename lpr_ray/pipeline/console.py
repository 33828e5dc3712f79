"""What the job leaves out of the console: warnings that are false for this job.

Ray Data's Python warnings go through logging and are filtered there (`quiet_ray_data`).
One line comes from the driver's C++ core worker, which writes straight to file descriptor 2,
so it is filtered there (`drop_false_core_lines`): Ray Data keeps its actors' constructor
arguments (the map transformer) in the object store for as long as the operator runs, and the
recogniser actors restart on purpose, so Ray's "the actor restart will fail" does not apply.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator

# Ray Data's warnings that are false for this job: its recogniser actors hold the CPUs on
# purpose (fetch tasks take fractional CPUs), and its progress bars are off because our
# progress line (pipeline/progress.py) replaces them.
_FALSE_ALARMS = ("The Ray cluster currently does not have any available CPUs", "Progress bars disabled")
# core_worker.cc, Ray 2.60 (https://github.com/ray-project/ray/issues/53727).
_FALSE_CORE_LINES = (b"has constructor arguments in the object store and max_restarts > 0",)


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


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


@contextlib.contextmanager
def drop_false_core_lines() -> Iterator[None]:
    """While the body runs, this process's fd 2 goes through a pipe that drops the core
    worker's false lines and passes everything else on at once (a progress bar's partial
    lines included: only a line that may be a C++ log line, "[time ...", waits for its end).
    Without a stderr (closed, or sys.stderr None) there is nothing to filter."""
    if sys.stderr is None:
        yield
        return
    try:
        os.fstat(2)
    except OSError:
        yield
        return
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        # The pump owns `real` and closes it only at the pipe's end, which comes after the
        # block put `real` back on fd 2 (a child that inherited the pipe may hold it longer;
        # closing `real` under a running pump would send its text into whatever file reuses
        # the descriptor). A stderr that fails (its reader gone) is drained, not written.
        pending, broken = b"", False

        def forward(data: bytes) -> None:
            nonlocal broken
            if data and not broken:
                try:
                    _write_all(real, data)
                except OSError:
                    broken = True

        with open(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                out = b"".join(line + b"\n" for line in lines if not any(p in line for p in _FALSE_CORE_LINES))
                if pending and not pending.startswith(b"["):
                    out, pending = out + pending, b""
                forward(out)
        if not any(p in pending for p in _FALSE_CORE_LINES):
            forward(pending)
        os.close(real)

    thread = threading.Thread(target=pump, name="lpr-ray-stderr", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)  # closes our write end of the pipe: the pump reads to its end and stops
        thread.join(timeout=10)  # a child holding the pipe keeps it going, on `real`, as it should
