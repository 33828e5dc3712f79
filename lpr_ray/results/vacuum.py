"""`lpr-ray vacuum`: delete the files of crashed or losing runs that no commit names.

A run writes its data files (and its ledger file) before it commits; a run that crashes or
loses leaves them behind, invisible to every reader but taking space. Vacuum deletes files
under data/ and _ledger/ that the Delta log (or _commits/) does not name and that are older
than the retention period, so that a run still writing is never touched. Ledger files that a
compaction replaced (lpr_ray.results.ledger_compact) go once the compaction is older than the
retention period. Written here rather
than with delta-rs's vacuum: lpr-ray never records these files in the log (no remove
tombstones), and delta-rs's vacuum commits its own log entries through a store-specific lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem
from lpr_ray.results.delta_log import DELTA_LOG
from lpr_ray.results.ledger_compact import LEDGER_DIR, age_hours
from lpr_ray.results.ledger_refs import committed_ledgers, replaced_ledgers
from lpr_ray.results.table import COMMITS_DIR, DATA_DIR, committed_rel_files, read_log

DEFAULT_RETENTION_HOURS = 168.0  # Delta's own default: a week
MIN_REPLACED_HOURS = 1.0  # longer than a run takes from reading the log to reading the ledger


@dataclass(frozen=True)
class VacuumSummary:
    deleted: list[str]  # relative to the root (or, with dry_run, what would be)
    kept_recent: int  # unreferenced but younger than the retention period
    bytes: int


def vacuum(root: str, *, retention_hours: float = DEFAULT_RETENTION_HOURS, dry_run: bool = False,
           now: float | None = None) -> VacuumSummary:
    """NOW: the clock (seconds since the epoch) to judge ages by; the current time by default."""
    from pyarrow.fs import FileSelector, FileType

    if not retention_hours >= 0:
        raise LprRayError(f"the retention period must be 0 hours or more, got {retention_hours}")
    fs, base = check_results_root(root)
    now = time.time() if now is None else now
    log = read_log(root)
    referenced = set(committed_rel_files(root))
    referenced |= {ref for ref in committed_ledgers(root, log) if isinstance(ref, str)}
    # A replaced ledger file stays while the compaction that replaced it is young: a run that
    # planned before it may still read the file (never less than an hour, whatever the retention).
    referenced |= {ref for ref, c in replaced_ledgers(root, log).items()
                   if age_hours(c, now) < max(retention_hours, MIN_REPLACED_HOURS)}
    cutoff_ns = (now - retention_hours * 3600) * 1e9
    deleted, kept, size = [], 0, 0
    for folder in (DATA_DIR, LEDGER_DIR):
        infos = fs.get_file_info(FileSelector(f"{base}/{folder}", recursive=True, allow_not_found=True))
        for info in infos:
            rel = info.path[len(base) + 1 :]
            if info.type != FileType.File or rel in referenced:
                continue
            if info.mtime_ns is None or info.mtime_ns > cutoff_ns:
                kept += 1
                continue
            deleted.append(rel)
            size += info.size or 0
            if not dry_run:
                fs.delete_file(info.path)
    return VacuumSummary(deleted=sorted(deleted), kept_recent=kept, bytes=size)


def check_results_root(root: str):
    """(pyarrow filesystem, base path) of a results root with lpr-ray commits, else an error."""
    from pyarrow.fs import FileType

    fs, base = arrow_filesystem(root)
    base = base.rstrip("/")
    if fs.get_file_info(base).type == FileType.NotFound:
        raise LprRayError(f"results root {root} does not exist")
    if all(fs.get_file_info(f"{base}/{d}").type != FileType.Directory for d in (DELTA_LOG, COMMITS_DIR)):
        # Without a log every file would look unreferenced: never delete in a folder not ours.
        raise LprRayError(f"{root} holds no lpr-ray commits (no {DELTA_LOG}/ or {COMMITS_DIR}/): expected the "
                          "--output of an `lpr-ray run`; nothing deleted")
    return fs, base
