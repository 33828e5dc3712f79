"""Argument types for the CLI: a bad value is an argparse error naming the flag, the value
received and what was expected, never a traceback from deep inside a command."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _checked(parse: Callable[[str], float], ok: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    def check(text: str):
        value = parse(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return check


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


positive_int = _checked(_int, lambda v: v >= 1, "a whole number >= 1")
non_negative_int = _checked(_int, lambda v: v >= 0, "a whole number >= 0")
positive_float = _checked(_float, lambda v: v > 0, "a finite number > 0")
non_negative_float = _checked(_float, lambda v: v >= 0, "a finite number >= 0")
probability = _checked(_float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def positive_int_list(text: str) -> list[int]:
    """"1,8,32": batch sizes and the like, each a whole number >= 1."""
    try:
        return [positive_int(part.strip()) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers >= 1, got {text!r}") from None


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where it tells something: not for None or False defaults,
    and not where the help already says its default in words."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default is None or default is False or default == [] or "default" in text:
            return text
        return super()._get_help_string(action)


# Storage clients log every credential lookup at INFO ("Found credentials in environment
# variables"): five lines a run that say nothing to an operator.
_CHATTY_LOGGERS = ("botocore", "aiobotocore", "s3fs", "fsspec", "urllib3")


def configure_logging(verbose: bool = False) -> None:
    """INFO for lpr-ray's own lines (DEBUG with --verbose); storage clients at WARNING unless verbose."""
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
