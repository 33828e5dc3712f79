"""`lpr-ray vacuum`: compact the ledger, delete files of crashed or losing runs that no commit names."""

from __future__ import annotations

import argparse

from lpr_ray.cli.args import non_negative_float, positive_int

EPILOG = """\
A run writes its Parquet files and its ledger file before it commits; a run that crashed or
lost a race leaves them behind, read by nobody. vacuum deletes the files under RESULTS/data/
and RESULTS/_ledger/ that the table's log does not name and that are older than
--retention-hours, so a run still writing is never touched, and ledger files a compaction
replaced (below). Committed rows never change.

First it compacts the ledger: every incremental run reads one ledger file per earlier run, so a
job scheduled hourly would read thousands. Once --compact-after files are not compacted yet,
vacuum streams the ledger into one file and commits it in the table's log (an entry with no
data: Delta readers see an empty append). The files it replaces are deleted by a later vacuum,
once the compaction is older than --retention-hours (and at least an hour, whatever it says).

examples:
  lpr-ray vacuum --results s3://lot-results/plates --dry-run
  lpr-ray vacuum --results s3://lot-results/plates --retention-hours 24
"""


def register(sub) -> None:
    p = sub.add_parser(
        "vacuum",
        help="delete files of crashed or losing runs (never committed rows)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", required=True, help="results root (the --output of a run)")
    p.add_argument("--retention-hours", type=non_negative_float, default=168.0,
                   help="keep unreferenced files younger than this (default: 168, a week, as Delta does)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete and compact nothing")
    p.add_argument("--no-compact", action="store_true", help="leave the ledger files as they are")
    p.add_argument("--compact-after", type=positive_int, default=24, metavar="N",
                   help="compact once N run ledger files are not in a compacted file yet (each compaction "
                        "rewrites the whole ledger) (default: 24)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.core.storage import storage_error
    from lpr_ray.results.vacuum import vacuum

    try:
        if not (args.dry_run or args.no_compact):
            _compact(args.results, args.compact_after)
        s = vacuum(args.results, retention_hours=args.retention_hours, dry_run=args.dry_run)
    except OSError as exc:
        raise LprRayError(storage_error("cannot vacuum", args.results, exc)) from exc
    verb = "would delete" if args.dry_run else "deleted"
    for rel in s.deleted[:50]:
        print(f"  {rel}")
    if len(s.deleted) > 50:
        print(f"  ... and {len(s.deleted) - 50} more")
    print(f"{verb} {len(s.deleted)} unreferenced files ({s.bytes:,} bytes); kept {s.kept_recent} younger "
          f"than {args.retention_hours:g} hours")
    return 0


def _compact(results: str, min_new: int) -> None:
    from lpr_ray.results.ledger_compact import compact_ledger
    from lpr_ray.results.vacuum import check_results_root

    check_results_root(results)
    done = compact_ledger(results, min_new=min_new)
    c = done.compacted
    if c is not None:
        print(f"compacted {c.sources} ledger files ({c.rows:,} rows) into {c.file}")
    else:
        print(f"ledger not compacted: {done.reason}")
