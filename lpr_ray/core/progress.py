"""Progress bars on a terminal (tqdm), nothing extra off one (logs keep their own lines).

Long commands (synth, train, eval, run) show a tqdm bar when stderr is a terminal; when it is
a file or a pipe (CI, `nohup`, `ray job submit` logs) a bar's carriage returns would fill the
log, so those commands print a compact line per interval instead, as they always did.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any


def on_terminal(stream: IO[str] | None = None) -> bool:
    """True when STREAM (stderr by default) is an interactive terminal that can redraw a line."""
    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
    return tty and os.environ.get("TERM") != "dumb"


def terminal_bar(total: int | None, desc: str, unit: str = "plates", unit_scale: bool = True, **kwargs: Any):
    """A tqdm bar on stderr when it is a terminal, else None (the caller prints its lines)."""
    if not on_terminal():
        return None
    from tqdm import tqdm

    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((0, 0))
    # The size measured now, not tqdm's dynamic one: while the job runs fd 2 is a filtering pipe
    # (pipeline/console.py), which has no size. A terminal that reports none (a fresh
    # pseudo-terminal, some CI runners) gets 100 x 24: at 0 x 0 tqdm draws nothing at all.
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                ncols=size.columns or 100, nrows=size.lines or 24, **kwargs)
