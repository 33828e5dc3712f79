"""The review queue: the current reads nobody has decided on yet, lowest confidence first.

One `ReviewQueue` per server holds the DuckDB connection over the results (lpr_ray.results.query's
current view) behind a lock: the web server answers requests on several threads. Reads handed
to one page are claimed for a few minutes, so that two people working at once are shown
different images rather than the same head of the queue.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pyarrow as pa

from lpr_ray.core.errors import LprRayError
from lpr_ray.results.query import Results
from lpr_ray.results.reviews import Verdict, current_verdicts, record_undo, record_verdict

READS = ("ok", "too_short")
STATUS_CHOICES = ("reads", "errors", "any")  # or one status by name
CLAIM_SECONDS = 300.0
# Columns a page shows; partition columns (site, camera, date, ...) are added when present.
ROW_COLUMNS = ("uri", "plate", "confidence", "char_confidences", "status", "error", "label", "model",
               "run_id", "processed_at", "width", "height")
FILTER_COLUMNS = ("site", "camera", "date", "model")


@dataclass(frozen=True)
class Filters:
    """What a page asks for, checked at the boundary."""

    min_confidence: float = 0.0
    max_confidence: float = 0.9
    status: str = "reads"
    site: str | None = None
    camera: str | None = None
    date: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        for name in ("min_confidence", "max_confidence"):
            v = getattr(self, name)
            if not isinstance(v, float) or not 0.0 <= v <= 1.0:
                raise LprRayError(f"{name} must be a number from 0 to 1, got {v!r}")
        if self.min_confidence > self.max_confidence:
            raise LprRayError(f"min_confidence {self.min_confidence} is above max_confidence {self.max_confidence}")
        if not self.status or len(self.status) > 40:
            raise LprRayError(f"status must be one of {', '.join(STATUS_CHOICES)} or a row status, got {self.status!r}")

    @classmethod
    def from_query(cls, params) -> Filters:
        def number(name: str, default: float) -> float:
            raw = params.get(name)
            if raw in (None, ""):
                return default
            try:
                return float(raw)
            except ValueError:
                raise LprRayError(f"{name} must be a number from 0 to 1, got {raw[:40]!r}") from None

        return cls(
            min_confidence=number("min_confidence", 0.0),
            max_confidence=number("max_confidence", 0.9),
            status=params.get("status") or "reads",
            **{k: (params.get(k) or None) for k in FILTER_COLUMNS},
        )


class ReviewQueue:
    def __init__(self, root: str) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.res = Results(root)
        self.columns = set(self.res.columns)
        self.partitions = [c for c in ("site", "camera", "date") if c in self.columns]
        self.statuses = self.res.sql("SELECT DISTINCT status FROM history WHERE status IS NOT NULL ORDER BY 1"
                                     ).column("status").to_pylist()
        self.claims: dict[str, tuple[str, float]] = {}  # uri -> (page id, expiry)
        # URIs handed to a page (the only images the server fetches) -> the read shown, which a
        # verdict records as the old read without scanning the results again.
        self.shown: dict[str, dict] = {}

    def close(self) -> None:
        with self.lock:
            self.res.close()

    # -- reading ---------------------------------------------------------------------------

    def _where(self, f: Filters, page: str) -> tuple[str, dict]:
        conds, params = ["review IS NULL"], {}
        if f.status == "reads":
            conds.append("status IN ('ok', 'too_short')")
        elif f.status == "errors":
            conds.append("status NOT IN ('ok', 'too_short')")
        elif f.status != "any":
            if f.status not in self.statuses:
                raise LprRayError(f"status must be one of {', '.join(STATUS_CHOICES)} or a status these results "
                                  f"hold ({', '.join(self.statuses)}), got {f.status[:40]!r}")
            conds.append("status = $status")
            params["status"] = f.status
        # Images that could not be read have no confidence, and a read too short to be a plate
        # is wrong however sure the model was: every range includes both.
        conds.append("(confidence IS NULL OR status = 'too_short' OR confidence BETWEEN $lo AND $hi)")
        params |= {"lo": f.min_confidence, "hi": f.max_confidence}
        for col in FILTER_COLUMNS:
            value = getattr(f, col)
            if value is not None:
                if col not in self.columns:
                    raise LprRayError(f"these results have no {col} column (no run used a --partition-pattern naming it)")
                conds.append(f'"{col}" = ${col}')
                params[col] = value
        now = time.monotonic()
        others = [u for u, (owner, until) in self.claims.items() if owner != page and until > now]
        self.res.con.register("claimed", pa.table({"uri": pa.array(others, pa.string())}))
        return " AND ".join(conds), params

    def next(self, f: Filters, page: str, limit: int = 20) -> dict:
        """The next LIMIT reads for PAGE, claimed for it, with the counts of done and left."""
        if not 1 <= limit <= 200:
            raise LprRayError(f"limit must be 1 to 200, got {limit}")
        cols = ", ".join(f'"{c}"' for c in (*ROW_COLUMNS, *self.partitions) if c in self.columns)
        with self.lock:
            self.res.reload_reviews()
            where, params = self._where(f, page)
            mine = f"{where} AND uri NOT IN (SELECT uri FROM claimed)"
            rows = self.res.sql(
                f"SELECT {cols} FROM results WHERE {mine} ORDER BY confidence NULLS FIRST, uri LIMIT {limit}",
                params,
            ).to_pylist()
            left = self.res.sql(f"SELECT count(*) AS n FROM results WHERE {mine}", params).column("n")[0].as_py()
            held = self.res.sql(f"SELECT count(*) AS n FROM results WHERE {where} AND uri IN (SELECT uri FROM claimed)",
                                params).column("n")[0].as_py()
            done = self.res.sql("SELECT count(*) AS n FROM reviews").column("n")[0].as_py()
            until = time.monotonic() + CLAIM_SECONDS
            for r in rows:
                self.claims[r["uri"]] = (page, until)
                self.shown[r["uri"]] = {k: r[k] for k in ("plate", "confidence", "status", "model", "run_id")}
        for r in rows:
            r["processed_at"] = r["processed_at"].isoformat() if r.get("processed_at") else None
        return {"items": rows, "left": left, "done": done, "held_by_others": held}

    def facets(self) -> dict:
        """The values each filter can take, and the statuses present."""
        out = {}
        with self.lock:
            for col in (*self.partitions, "model", "status"):
                vals = self.res.sql(f'SELECT DISTINCT "{col}" AS v FROM results WHERE "{col}" IS NOT NULL ORDER BY 1')
                out[col] = vals.column("v").to_pylist()[:500]
        return out

    # -- deciding ----------------------------------------------------------------------------

    def decide(self, verdict: Verdict, seen_review: str | None) -> dict:
        """Store VERDICT unless someone else decided on the image since the page loaded it
        (SEEN_REVIEW: the review id the page saw, None when it saw no verdict)."""
        if verdict.uri not in self.shown:
            raise LprRayError("this image was not shown by this review server: reload the page")
        if verdict.verdict == "accepted" and verdict.label != self.shown[verdict.uri]["plate"]:
            # "Accepted" means the read was right: a different label is a correction.
            verdict = Verdict(verdict.uri, "corrected", verdict.label, verdict.reviewer)
        with self.lock:
            current = current_verdicts(self.res.review_log.records()).get(verdict.uri)
            if current is not None and current["id"] != seen_review:
                raise Conflict(current)
            record = record_verdict(self.root, verdict, self.shown[verdict.uri])
            self.res.reload_reviews()
            self.claims.pop(verdict.uri, None)
        return record

    def undo(self, review_id: str, reviewer: str) -> dict:
        with self.lock:
            record = record_undo(self.root, review_id, reviewer, self.res.review_log)
            self.res.reload_reviews()
        return record


class Conflict(LprRayError):
    """Someone else decided on the image first."""

    def __init__(self, record: dict) -> None:
        self.record = record
        super().__init__(f"{record.get('reviewer')} already reviewed this image ({record['verdict']})")
