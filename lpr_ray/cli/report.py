"""`lpr-ray report`: write a self-contained HTML page with plots of committed results."""

from __future__ import annotations

import argparse

from lpr_ray.cli.args import non_negative_int

EPILOG = """\
The page has no external resources (inline SVG and images, no JavaScript): open it in any
browser, attach it to a ticket. Each image counts once, with its current read (the latest run's,
or a person's label from `lpr-ray review`). It shows images by status and those that could not
be read with their errors, a confidence histogram, accuracy vs confidence (where rows carry
labels), images per day read, per capture date and per site, throughput and statistics per run,
and the lowest-confidence reads beside thumbnails of their crops. The thumbnails are fetched by
this command with your storage credentials and embedded as pixels: nothing in the page can reach
the store.

examples:
  lpr-ray report --results s3://lot-results/plates --out report.html
  lpr-ray report --results s3://lot-results/plates --out lot7.html --site lot7 --date 2026-03-02
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
    p.add_argument("--no-thumbnails", dest="thumbnails", action="store_false",
                   help="do not fetch the listed images (where this machine cannot reach the store)")
    for key in ("site", "camera", "date"):
        p.add_argument(f"--{key}", help=f"only images whose {key} partition is this value")
    p.add_argument("--model", help="only images whose current read is by this model (name or name@hash)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.core.atomic import check_writable
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.core.storage import storage_error
    from lpr_ray.results.query import read_errors
    from lpr_ray.results.report import collect, write_page

    check_writable(args.out)
    try:
        filters = {k: getattr(args, k) for k in ("site", "camera", "date", "model")}
        data = collect(args.results, lowest=args.lowest, filters=filters, thumbnails=args.thumbnails)
    except read_errors() as exc:  # refused credentials, a missing file: one line, not a traceback
        raise LprRayError(storage_error("cannot make the report from", args.results, exc)) from exc
    write_page(data, args.out)
    t = data.totals
    print(f"wrote {args.out}: {t['rows']:,} images ({t['reviewed']:,} reviewed by people) from "
          f"{t['runs']} committed runs")
    return 0
