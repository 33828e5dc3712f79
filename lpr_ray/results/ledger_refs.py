"""Which files make up the committed ledger, read from the table's log.

Every committed run names its own ledger file; a ledger compaction (`lpr_ray.results.
ledger_compact`, run by `lpr-ray vacuum`) is a log entry whose commitInfo names one file holding
the ledger files of every run up to a seq. From then on the committed ledger is that file plus
the ledger files of runs with a higher seq. Run seqs grow with log versions, so every run with a
seq at or below the one covered was in the log the compactor read.
"""

from __future__ import annotations

from dataclasses import dataclass

from lpr_ray.core.errors import LprRayError
from lpr_ray.results.table import commit_records, read_log

COMPACTION = "lprRayLedger"  # the commitInfo key of a compaction entry (not a run record)

Log = list[tuple[int, list[dict]]]


@dataclass(frozen=True)
class Compaction:
    file: str  # relative to ROOT
    covers_through: int  # every run record with seq <= this is in `file`
    version: int
    committed_at: str
    sources: int
    rows: int


def compactions(log: Log) -> list[Compaction]:
    """The log's compaction entries, oldest first."""
    out = []
    for version, actions in log:
        info: dict = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        c = info.get(COMPACTION)
        if c is None:
            continue
        try:
            out.append(Compaction(str(c["file"]), int(c["covers_through"]), version, str(c["committed_at"]),
                                  int(c["sources"]), int(c["rows"])))
        except (TypeError, KeyError, ValueError) as exc:
            raise LprRayError(f"log entry {version} has a malformed {COMPACTION} object ({exc!r}): expected "
                              "file, covers_through, committed_at, sources and rows") from exc
    return out


def _rank(c: Compaction) -> tuple[int, int]:
    return c.covers_through, c.version


def latest(log: Log) -> Compaction | None:
    found = compactions(log)
    return max(found, key=_rank) if found else None


def committed_ledgers(root: str, log: Log | None = None) -> list[str | None]:
    """The files that make up the committed ledger (None: a record without one)."""
    log = read_log(root) if log is None else log
    return ledgers_of(commit_records(root, log=log), latest(log))


def ledgers_of(records: list[dict], last: Compaction | None) -> list[str | None]:
    """The files holding these records' objects: the compacted file for the records it covers
    (once, whichever records they are), the records' own files for the others."""
    if last is None:
        return [r.get("ledger") for r in records]
    covered = any(r["seq"] <= last.covers_through for r in records)
    return ([last.file] if covered else []) + [r.get("ledger") for r in records if r["seq"] > last.covers_through]


def replaced_ledgers(root: str, log: Log) -> dict[str, Compaction]:
    """Ledger files that a compaction replaced, each with the compaction that FIRST replaced it:
    vacuum may delete a file once that compaction is older than the retention period."""
    found = sorted(compactions(log), key=_rank)
    if not found:
        return {}
    out: dict[str, Compaction] = {}
    for r in commit_records(root, log=log):
        ref = r.get("ledger")
        first = next((c for c in found if r["seq"] <= c.covers_through), None)
        if isinstance(ref, str) and first is not None:
            out[ref] = first
    for older, newer in zip(found, found[1:], strict=False):
        out.setdefault(older.file, newer)
    return out
