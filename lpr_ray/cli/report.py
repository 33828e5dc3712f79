"""`lpr-ray report`: write a self-contained HTML page with plots of committed results."""

from __future__ import annotations

import argparse

from lpr_ray.cli.args import non_negative_int

EPILOG = """\
The page has no external resources (inline SVG, no JavaScript): open it in any browser, attach
it to a ticket. It shows counts by status, a confidence histogram, accuracy vs confidence
(where rows carry labels), images processed per day (or month) and per site, throughput per run and the
lowest-confidence reads.

example:
  lpr-ray report --results s3://lot-results/plates --out report.html
"""


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML report (plots) of committed results",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", required=True, help="results root (the --output of a run)")
    p.add_argument("--out", required=True, metavar="FILE.html", help="where to write the page")
    p.add_argument("--lowest", type=non_negative_int, default=20, help="lowest-confidence reads to list (default: 20)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.atomic import check_writable
    from lpr_ray.errors import LprRayError
    from lpr_ray.query import read_errors
    from lpr_ray.report import collect, write_page
    from lpr_ray.storage import storage_error

    check_writable(args.out)
    try:
        data = collect(args.results, lowest=args.lowest)
    except read_errors() as exc:  # refused credentials, a missing file: one line, not a traceback
        raise LprRayError(storage_error("cannot make the report from", args.results, exc)) from exc
    write_page(data, args.out)
    t = data.totals
    print(f"wrote {args.out}: {t['rows']:,} rows from {t['runs']} committed runs")
    return 0
