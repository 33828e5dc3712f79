"""Files that appear whole or not at all: written beside their destination, then renamed.

A reader (or the user's previous copy) never sees a half-written report or CSV, and a
failure halfway leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import IO

from lpr_ray.core.errors import LprRayError


def check_writable(path: str | os.PathLike) -> None:
    """Raise now, before long work, if `path` could not be written as a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LprRayError(f"cannot write {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise LprRayError(f"cannot write {path}: it is a folder, expected a file name")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """open(path, mode) whose content replaces `path` only when the block ends without error."""
    path = os.fspath(path)
    check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    # A name of our own in the same folder (same filesystem, so the rename is atomic), created
    # with the umask's permissions like any other output file.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, mode.replace("w", "x"), **kwargs) as f:
            yield f
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
