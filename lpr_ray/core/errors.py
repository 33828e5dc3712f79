"""Errors and the lazy-import helper that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


class LprRayError(Exception):
    """A problem the user can act on (bad input, missing model, missing extra)."""


class MissingExtraError(LprRayError, ImportError):
    pass


class ModelOutputError(LprRayError, ValueError):
    """Model outputs that cannot be decoded with the characters list given (a user's mismatch,
    reported like any bad input; a ValueError to the pure functions' callers)."""


def first_line(exc: BaseException) -> str:
    """An exception's first line, short enough for a one-line error."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or explain which `pip install lpr-ray[extra]` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is not installed ({exc}); install it with: pip install 'lpr-ray[{extra}]'"
        ) from exc
