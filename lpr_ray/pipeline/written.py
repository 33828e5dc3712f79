"""The run's own data files between the write and the commit: complete, or removed.

Ray Data tolerates a failed Write task as an errored block (the allowance `--max-lost-batches`
gives lost fetch batches), and a full disk leaves a Parquet file cut short. So every file of the
run is checked for a readable footer before anything counts its rows, and when a run fails
before its commit its files are removed (they were invisible, but they filled the disk).
"""

from __future__ import annotations

import logging
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from lpr_ray.core.errors import LprRayError, first_line
from lpr_ray.core.storage import arrow_filesystem, is_local, normalize_uri
from lpr_ray.pipeline.summary import run_files
from lpr_ray.results.table import committed_rel_files

log = logging.getLogger(__name__)


def space_hint(output: str) -> str:
    """"; the disk holding OUTPUT is full" when a local OUTPUT has under 1 MiB free, else ""."""
    if not is_local(output):
        return ""
    path = normalize_uri(output)
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        free = shutil.disk_usage(path or "/").free
    except OSError:
        return ""
    return f"; the disk holding it is full ({free:,} bytes free)" if free < 1 << 20 else ""


def check_complete(output: str, run_id: str, files: list[str]) -> None:
    """Raise when a data file of the run has no readable Parquet footer (its write failed)."""
    fs, _ = arrow_filesystem(output)
    bad: list[tuple[str, BaseException]] = []
    for path in files:
        try:
            pq.read_metadata(path, filesystem=fs)
        except (OSError, pa.ArrowException) as exc:
            bad.append((path, exc))
    if bad:
        path, exc = bad[0]
        raise LprRayError(
            f"run {run_id} could not write {len(bad)} of its {len(files)} data files under {output} "
            f"({os.path.basename(path)}: {first_line(exc)}){space_hint(output)}: it was NOT committed"
        )


def discard_run_files(output: str, run_id: str) -> int:
    """Remove the run's data files that no commit names; returns how many went. A committed
    file is never touched (two runs given the same --run-id at once, a commit that raised
    after its entry was written), and when the log cannot be read nothing is removed."""
    fs, base = arrow_filesystem(output)
    try:
        committed = set(committed_rel_files(output))
        listed = run_files(output, run_id)
    except (OSError, LprRayError) as exc:  # already failing: keep the first error in front
        log.warning("run %s: its uncommitted files stay for `lpr-ray vacuum` (%s)", run_id, exc)
        return 0
    prefix = base.rstrip("/") + "/"
    files = [p for p in listed if p[len(prefix):] not in committed]
    for path in files:
        try:
            fs.delete_file(path)
        except OSError as exc:  # keep going: vacuum removes what is left
            log.warning("run %s: could not remove its uncommitted file %s: %s", run_id, path, exc)
    return len(files)


def release_run_id(output: str, run_id: str) -> None:
    """Remove the run's claim (`_runs/<id>/config.json`) of a run that failed before it wrote
    any data file: it read nothing and wrote nothing, so the id stays free and the root keeps
    no trace of it. A run that did write keeps its claim (its files may still be listed)."""
    fs, base = arrow_filesystem(output)
    folder = f"{base.rstrip('/')}/_runs/{run_id}"
    try:
        if run_files(output, run_id):
            return
        fs.delete_dir(folder)
    except (OSError, LprRayError) as exc:  # already failing: keep the first error in front
        log.warning("run %s: its claim %s stays (%s)", run_id, folder, exc)
