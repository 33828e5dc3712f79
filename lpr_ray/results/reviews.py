"""People's verdicts on reads (issue 24): stored under ROOT/_reviews/, one JSON file each.

One file per verdict, named by the server (time + random id), never by the page: two people
reviewing at once can never overwrite each other's work, and nothing a page sends can name a
path. A verdict is never edited: undo writes a new record that cancels an earlier one, so the
history of who said what stays. The current verdict of an image is its latest record that
no later undo cancels.

    record = {"id", "uri", "verdict", "label", "reviewer", "reviewed_at", "old": {...}, "undoes"}

verdict: corrected (label = what the plate says), accepted (label = the read), unreadable,
not_a_plate, or undo (undoes = the id it cancels). pyarrow + lpr_ray.core.storage only.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.charset import CN, US, plate_text
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem, is_local, join, normalize_uri
from lpr_ray.results.table import named_files

REVIEWS_DIR = "_reviews"
RECORD_NAME = re.compile(r"^\d{8}T\d{12}Z_[0-9a-f]{32}\.json$")  # <UTC time, compact>_<id>.json
VERDICTS = ("corrected", "accepted", "unreadable", "not_a_plate")
UNDO = "undo"
MAX_LABEL = 16  # NVIDIA's contract reads at most 24 steps; no plate of either region is longer
MAX_REVIEWER = 64
# Every character either shipped dictionary can read: a label outside them could never be
# trained on (lpr-ray train refuses it), so it is refused when typed.
PLATE_CHARACTERS = frozenset(US.characters) | frozenset(CN.characters)

# The columns the current view joins on (lpr_ray.results.query): one row per reviewed URI.
CURRENT_SCHEMA = pa.schema(
    [("uri", pa.string()), ("review", pa.string()), ("review_label", pa.string()),
     ("reviewer", pa.string()), ("reviewed_at", pa.timestamp("us", tz="UTC")), ("review_id", pa.string())]
)


@dataclass(frozen=True)
class Verdict:
    """What a person said about one image, validated at the boundary (the web page)."""

    uri: str
    verdict: str
    label: str | None
    reviewer: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise LprRayError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if not self.uri or len(self.uri) > 4096:
            raise LprRayError(f"expected the URI of a read (1 to 4096 characters), got {len(self.uri)} characters")
        if not self.reviewer.strip() or len(self.reviewer) > MAX_REVIEWER or not self.reviewer.isprintable():
            raise LprRayError(f"expected a reviewer name of 1 to {MAX_REVIEWER} printable characters, "
                              f"got {self.reviewer[:80]!r}")
        if self.verdict in ("corrected", "accepted"):
            label = self.label or ""
            if not label or len(label) > MAX_LABEL:
                raise LprRayError(f"expected a plate of 1 to {MAX_LABEL} characters, got {label[:40]!r}")
            unknown = sorted(set(label) - PLATE_CHARACTERS)
            if unknown:
                raise LprRayError(f"plate {label[:40]!r} has characters {unknown} that no lpr-ray dictionary "
                                  "holds (letters, digits and the Chinese plates' characters)")
        elif self.label:
            raise LprRayError(f"a verdict of {self.verdict} carries no plate, got {self.label[:40]!r}")

    @classmethod
    def parse(cls, uri: str, verdict: str, label: str | None, reviewer: str) -> Verdict:
        """From what a person typed: the plate as reads write it (upper case, no separators)."""
        # People type O where plates print 0-like letters; neither dictionary has an O.
        text = plate_text(label).replace("O", "0") if label else None
        return cls(uri=uri, verdict=verdict, label=text or None, reviewer=reviewer.strip())


def _now() -> datetime:
    return datetime.now(UTC)


def _write(root: str, record: dict) -> None:
    # The name sorts by time; the random part keeps two records of one microsecond apart.
    stamp = record["reviewed_at"].replace("-", "").replace(":", "").replace(".", "")
    name = f"{stamp}_{record['id']}.json"
    data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if is_local(root):
        folder = join(normalize_uri(root), REVIEWS_DIR)
        os.makedirs(folder, exist_ok=True)
        with atomic_open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        return
    fs, base = arrow_filesystem(root)
    with fs.open_output_stream(f"{base.rstrip('/')}/{REVIEWS_DIR}/{name}") as f:  # one PUT: whole or absent
        f.write(data)


def record_verdict(root: str, verdict: Verdict, old: dict) -> dict:
    """Store VERDICT on an image whose current read was OLD (plate, confidence, status, model,
    run_id); returns the record."""
    record = {
        "id": uuid.uuid4().hex,
        "uri": verdict.uri,
        "verdict": verdict.verdict,
        "label": verdict.label,
        "reviewer": verdict.reviewer,
        "reviewed_at": _now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "old": old,
    }
    _write(root, record)
    return record


def record_undo(root: str, review_id: str, reviewer: str, log: ReviewLog | None = None) -> dict:
    """Cancel the record REVIEW_ID (it stays stored; the image's earlier verdict, if any,
    is current again)."""
    if not (len(review_id) == 32 and all(c in "0123456789abcdef" for c in review_id)):
        raise LprRayError(f"expected a review id of 32 hex digits, got {review_id[:40]!r}")
    records = {r["id"]: r for r in (log or ReviewLog(root)).records()}
    if review_id not in records:
        raise LprRayError(f"no review {review_id} under {root}/{REVIEWS_DIR}")
    target = records[review_id]
    record = {
        "id": uuid.uuid4().hex,
        "uri": target["uri"],
        "verdict": UNDO,
        "undoes": review_id,
        "reviewer": reviewer.strip()[:MAX_REVIEWER] or "unknown",
        "reviewed_at": _now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    _write(root, record)
    return record


class ReviewLog:
    """The records of one root, read incrementally: records never change once written, so a
    refresh lists the folder and reads only the files it has not seen (a review server
    refreshes before every decision; re-reading thousands of records each time would not do)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._seen: dict[str, dict] = {}

    def records(self) -> list[dict]:
        """Every record under ROOT/_reviews/, oldest first ([] when there is none)."""
        for m, raw in named_files(self.root, REVIEWS_DIR, RECORD_NAME, skip=self._seen):
            where = f"{self.root}/{REVIEWS_DIR}/{m.group(0)}"
            try:
                rec = json.loads(raw)
            except ValueError as exc:
                raise LprRayError(f"review record {where} is not JSON: {exc}") from exc
            if not isinstance(rec, dict) or not {"id", "uri", "verdict", "reviewed_at"} <= rec.keys():
                raise LprRayError(f"review record {where} is malformed: expected an object with id, uri, "
                                  "verdict and reviewed_at")
            self._seen[m.group(0)] = rec
        return sorted(self._seen.values(), key=lambda r: (r["reviewed_at"], r["id"]))


def read_records(root: str) -> list[dict]:
    """Every record under ROOT/_reviews/, oldest first ([] when there is none)."""
    return ReviewLog(root).records()


def current_verdicts(records: list[dict]) -> dict[str, dict]:
    """uri -> its latest record that no undo cancels."""
    undone = {r["undoes"] for r in records if r["verdict"] == UNDO}
    current: dict[str, dict] = {}
    for r in records:  # oldest first: a later verdict replaces an earlier one
        if r["verdict"] != UNDO and r["id"] not in undone:
            current[r["uri"]] = r
    return current


def current_table(records: list[dict]) -> pa.Table:
    """The current verdict of every reviewed image, as the query layer joins it."""
    rows = current_verdicts(records).values()
    return pa.table(
        {
            "uri": [r["uri"] for r in rows],
            "review": [r["verdict"] for r in rows],
            "review_label": [r.get("label") for r in rows],
            "reviewer": [r.get("reviewer") for r in rows],
            "reviewed_at": [datetime.fromisoformat(r["reviewed_at"].replace("Z", "+00:00")) for r in rows],
            "review_id": [r["id"] for r in rows],
        },
        schema=CURRENT_SCHEMA,
    )
