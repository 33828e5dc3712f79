"""Accuracy metrics of plate reads against labels: pure Python/numpy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Levenshtein

DEFAULT_THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of one character."""
    return Levenshtein.distance(a, b)


@dataclass(frozen=True)
class ThresholdRow:
    threshold: float
    coverage: float  # share of plates with confidence >= threshold
    accuracy: float | None  # full-plate accuracy among them
    count: int


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class WidthRow:
    low: int  # source crop width in pixels, low <= width < high
    high: int | None  # None: no upper bound
    count: int
    accuracy: float | None


@dataclass(frozen=True)
class GroupRow:
    name: str  # e.g. a dataset's subfolder: a camera, a site, a plate colour
    count: int
    accuracy: float


# Crop widths that matter for reading: under 50 px a character is 6 px wide or less.
WIDTH_EDGES = (0, 50, 64, 80, 100, 140)


@dataclass(frozen=True)
class Report:
    count: int
    full_plate_accuracy: float
    char_accuracy: float
    thresholds: list[ThresholdRow]
    reliability: list[ReliabilityBin]
    confusions: list[tuple[str, str, int]]  # (label char, read char, count)
    by_width: list[WidthRow] = field(default_factory=list)  # empty when widths are unknown
    by_group: list[GroupRow] = field(default_factory=list)  # empty unless groups were given

    def format(self) -> str:
        lines = [
            f"plates: {self.count}",
            f"full-plate accuracy: {self.full_plate_accuracy:.2%}",
            f"character accuracy:  {self.char_accuracy:.2%}  (1 - edit distance / label length)",
            "",
            "confidence >=  coverage  accuracy  plates",
        ]
        for r in self.thresholds:
            acc = "-" if r.accuracy is None else f"{r.accuracy:8.2%}"
            lines.append(f"{r.threshold:13.2f}  {r.coverage:8.2%}  {acc:>8}  {r.count:6d}")
        lines += ["", "reliability: confidence bin -> plates, mean confidence, accuracy"]
        for b in self.reliability:
            if b.count:
                lines.append(
                    f"  [{b.low:.1f}, {b.high:.1f}{']' if b.high >= 1.0 else ')'}  {b.count:6d}  "
                    f"{b.mean_confidence:.3f}  {b.accuracy:.2%}"
                )
        if self.by_width:
            lines += ["", "accuracy by source crop width (px) -> plates, accuracy"]
            for w in self.by_width:
                if w.high is None:
                    span = f">= {w.low}"
                else:
                    span = f"< {w.high}" if w.low == 0 else f"{w.low}-{w.high - 1}"
                acc = "-" if w.accuracy is None else f"{w.accuracy:.2%}"
                lines.append(f"  {span:>9}  {w.count:6d}  {acc}")
        if self.by_group:
            lines += ["", "accuracy by folder -> plates, accuracy"]
            lines += [f"  {g.name:>14}  {g.count:6d}  {g.accuracy:.2%}" for g in self.by_group]
        if self.confusions:
            lines += ["", "most frequent character confusions (label -> read, same-length reads):"]
            lines += [f"  {a} -> {b}: {n}" for a, b, n in self.confusions]
        return "\n".join(lines)


def evaluate_reads(
    plates: Sequence[str],
    confidences: Sequence[float],
    labels: Sequence[str],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    bins: int = 10,
    top_confusions: int = 10,
    widths: Sequence[int] | None = None,
    groups: Sequence[str] | None = None,
) -> Report:
    """Accuracy figures of reads against labels; `widths` (source crop widths in pixels)
    adds accuracy by crop width, `groups` (a name per plate) accuracy by group."""
    if not (len(plates) == len(confidences) == len(labels)):
        raise ValueError("plates, confidences and labels differ in length")
    if widths is not None and len(widths) != len(labels):
        raise ValueError(f"{len(widths)} widths for {len(labels)} labels")
    if groups is not None and len(groups) != len(labels):
        raise ValueError(f"{len(groups)} groups for {len(labels)} labels")
    n = len(labels)
    if n == 0:
        raise ValueError("nothing to evaluate: no labelled plates")
    correct = np.array([p == lab for p, lab in zip(plates, labels, strict=True)])
    conf = np.asarray(confidences, dtype=np.float64)
    total_chars = sum(len(lab) for lab in labels)
    errors = sum(edit_distance(p, lab) for p, lab in zip(plates, labels, strict=True))
    rows = []
    for t in thresholds:
        keep = conf >= t
        k = int(keep.sum())
        rows.append(ThresholdRow(t, k / n, float(correct[keep].mean()) if k else None, k))
    rel = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for i in range(bins):
        lo, hi = edges[i], edges[i + 1]
        sel = (conf >= lo) & ((conf < hi) if i < bins - 1 else (conf <= hi))
        k = int(sel.sum())
        rel.append(
            ReliabilityBin(
                float(lo), float(hi), k,
                float(conf[sel].mean()) if k else None,
                float(correct[sel].mean()) if k else None,
            )
        )
    conf_counter: Counter[tuple[str, str]] = Counter()
    for p, lab in zip(plates, labels, strict=True):
        if len(p) == len(lab) and p != lab:
            conf_counter.update((a, b) for a, b in zip(lab, p, strict=True) if a != b)
    return Report(
        count=n,
        full_plate_accuracy=float(correct.mean()),
        char_accuracy=max(0.0, 1.0 - errors / max(1, total_chars)),
        thresholds=rows,
        reliability=rel,
        confusions=[(a, b, c) for (a, b), c in conf_counter.most_common(top_confusions)],
        by_width=[] if widths is None else _by_width(np.asarray(widths), correct),
        by_group=[] if groups is None else _by_group(groups, correct),
    )


def _by_group(groups: Sequence[str], correct: np.ndarray) -> list[GroupRow]:
    names = np.asarray(groups, dtype=object)
    return [
        GroupRow(str(g), int((names == g).sum()), float(correct[names == g].mean()))
        for g in sorted(set(groups))
    ]


def _by_width(widths: np.ndarray, correct: np.ndarray) -> list[WidthRow]:
    rows = []
    for lo, hi in zip(WIDTH_EDGES, (*WIDTH_EDGES[1:], None), strict=True):
        sel = (widths >= lo) & (widths < hi) if hi is not None else widths >= lo
        k = int(sel.sum())
        rows.append(WidthRow(lo, hi, k, float(correct[sel].mean()) if k else None))
    return rows
