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
    # A terminal that reports no size (a fresh pseudo-terminal, some CI runners) would get a
    # bar of width 0 on a screen of 0 rows, which tqdm draws as nothing at all.
    shape = {"dynamic_ncols": True} if size.columns > 0 and size.lines > 0 else {"ncols": 100, "nrows": 24}
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr, **shape, **kwargs)
