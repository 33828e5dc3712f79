"""Entry point of the `lpr-ray` console script.

Each sub-command lives in its own module `lpr_ray/cli/<name>.py` exposing
`register(subparsers) -> None`, which adds its parser and sets `func=run(args) -> int`.
Modules import their heavy dependencies inside `run`, so `lpr-ray --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from lpr_ray.core.errors import LprRayError

COMMANDS = ["run", "predict", "eval", "demo", "models", "synth", "train", "average", "model-report", "spans",
            "export", "build-engine", "query", "report", "review", "export-reviews", "vacuum"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lpr-ray",
        description="Batch licence-plate recognition (LPRNet) over object storage with Ray Data.",
    )
    from lpr_ray import __version__

    parser.add_argument("--version", action="version", version=f"lpr-ray {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"lpr_ray.cli.{name.replace('-', '_')}").register(sub)
    parser.set_defaults(_commands=sub.choices)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Like parse_args, but an unknown option is reported with its sub-command's usage: the
    top-level usage argparse prints would not show the options the user was looking for."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        args._commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    if argv is None and args.command == "train":  # the command line, not a caller's list
        from lpr_ray.cli.train import reexec_with_heap_settings

        reexec_with_heap_settings()
    try:
        return int(args.func(args) or 0)
    except LprRayError as exc:
        print(f"lpr-ray {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`lpr-ray query ... | head`): not an error of ours. Point stdout
        # at devnull so that flushing it at exit does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
