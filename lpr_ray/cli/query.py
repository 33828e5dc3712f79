"""`lpr-ray query`: find plates, list low-confidence reads, statistics, over committed results."""

from __future__ import annotations

import argparse

from lpr_ray.cli.args import non_negative_int, probability

EPILOG = """\
RESULTS is the --output of `lpr-ray run`: a local folder or an object-storage prefix
(s3://bucket/plates, any fsspec URL). Only rows of committed runs are read (docs/LAYOUT.md).
Each image counts once, with its current read: the latest run's, or the label a person gave it
in `lpr-ray review` (source = human); --history shows every run's row. --stats run always
counts every row of each run.

plate matching (plates are stored upper-case without spaces or dashes; --plate is read the same way):
  exact      the same text; a pattern with * ? % _ is treated as a wildcard
  wildcard   * any run of characters, ? one character (SQL % and _ work too)
  fuzzy      within one edit, or the same after mapping OCR confusions 0/D/Q/O 8/B 1/I 5/S 2/Z
             (on Chinese plates also the province: 浙B12345 finds 湘B12845)

examples:
  lpr-ray query --results s3://lot-results/plates --plate 7ABC123 --mode fuzzy
  lpr-ray query --results results/ --plate '7AB*'
  lpr-ray query --results results/ --plate 粤B·12345 --mode fuzzy
  lpr-ray query --results results/ --review --threshold 0.5 --csv review.csv
  lpr-ray query --results results/ --stats run
  lpr-ray query --results results/ --stats partition --by run_date site
  lpr-ray query --results results/ --sql "SELECT status, count(*) FROM results GROUP BY 1"
"""


def register(sub) -> None:
    p = sub.add_parser(
        "query",
        help="query committed results with DuckDB (plates, review list, statistics)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", required=True, help="results root (the --output of a run)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--plate", help="plate text or pattern to find")
    what.add_argument("--review", action="store_true", help="list reads under --threshold and every too_short read, lowest first, "
                                                                 "of images nobody has reviewed")
    what.add_argument("--stats", choices=["run", "partition"], help="statistics per run or per partition")
    what.add_argument("--sql", type=_statement, help="any DuckDB SQL over the view `results`")
    p.add_argument("--mode", choices=["exact", "wildcard", "fuzzy"], default=None,
                   help="how --plate matches (default: exact)")
    p.add_argument("--threshold", type=probability, default=None,
                   help="confidence under which a read counts as low, for --review and --stats (default: 0.5)")
    p.add_argument("--by", nargs="+", default=None,
                   help="columns for --stats partition (default: the partition columns; 'day' = date of processed_at)")
    p.add_argument("--limit", type=non_negative_int, default=None,
                   help="at most this many rows (default: all; --review: 1000)")
    p.add_argument("--csv", metavar="FILE", help="also write the result to FILE as CSV")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("--history", action="store_true",
                   help="every committed row (one per image and run) instead of the current read of each "
                        "image (its latest run's, or a person's verdict from `lpr-ray review`)")
    p.set_defaults(func=run)


def _statement(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected an SQL statement over the view `results`, got an empty string")
    return text


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from lpr_ray.core.atomic import check_writable
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.core.storage import storage_error
    from lpr_ray.results import query

    _check_applies(args)
    if args.csv:
        check_writable(args.csv)
    try:
        table = _answer(query, args)
    except query.read_errors() as exc:  # refused credentials, a missing file: one line, not a traceback
        raise LprRayError(storage_error("cannot read the results", args.results, exc)) from exc
    if args.csv:
        n = query.write_csv(table, args.csv)
        print(f"wrote {n} rows to {args.csv}", file=sys.stderr)
    if args.json:
        for row in table.to_pylist():
            print(json.dumps(row, default=str, ensure_ascii=False))
    else:
        print(query.format_table(table, max_rows=args.limit or 50))
    return 0


def _check_applies(args: argparse.Namespace) -> None:
    """An option the chosen question does not use is refused: silently ignoring it would
    answer a different question than the one asked (`--plate X --threshold 0.9`)."""
    from lpr_ray.core.errors import LprRayError

    asked = "--plate" if args.plate is not None else "--review" if args.review else "--stats" if args.stats else "--sql"
    unused = [flag for flag, given, used in (
        ("--mode", args.mode is not None, asked == "--plate"),
        ("--threshold", args.threshold is not None, asked in ("--review", "--stats")),
        ("--by", args.by is not None, args.stats == "partition"),
    ) if given and not used]
    if unused:
        where = {"--mode": "--plate", "--threshold": "--review and --stats", "--by": "--stats partition"}
        raise LprRayError("; ".join(f"{flag} applies to {where[flag]} only, not to {asked}" for flag in unused)
                          + (" (to keep confident reads of a plate: --sql \"SELECT * FROM results WHERE plate = "
                             "'7ABC123' AND confidence >= 0.9\")" if "--threshold" in unused and asked == "--plate" else ""))
    args.mode = args.mode or "exact"
    args.threshold = 0.5 if args.threshold is None else args.threshold


def _answer(query, args: argparse.Namespace):
    with query.Results(args.results, history=args.history) as res:
        if args.plate is not None:
            table = query.find_plates(res, args.plate, mode=args.mode, limit=args.limit)
        elif args.review:
            table = query.review(res, threshold=args.threshold, limit=1000 if args.limit is None else args.limit)
        elif args.stats == "run":
            table = query.stats_per_run(res, low=args.threshold)
        elif args.stats == "partition":
            table = query.stats_per_partition(res, by=args.by, low=args.threshold)
        else:
            table = query.sql(res, args.sql)
    if args.limit is not None:  # --sql and --stats too; plate searches and review lists are limited already
        table = table.slice(0, args.limit)
    return table
