"""People's verdicts as a TAO dataset (`images/`, `labels/`, `characters_list.txt`) that
`lpr-ray train --train-tao` takes: every image whose current verdict names a plate
(corrected or accepted). Unreadable and not-a-plate verdicts are not training data.

A fixed share can go to a second, held-out dataset to evaluate the fine-tuned model on
(`lpr-ray eval --tao`); which side an image falls on depends only on its URI (a hash), so a
later export with more verdicts keeps every earlier image on the same side.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.charset import REGIONS, Charset
from lpr_ray.core.errors import LprRayError
from lpr_ray.results.reviews import current_verdicts, read_records


@dataclass(frozen=True)
class ExportSummary:
    train: int
    holdout: int
    skipped: dict[str, str]  # uri -> why (could not be read, no plate)
    region: str


def _holdout(uri: str, fraction: float) -> bool:
    h = int.from_bytes(hashlib.sha256(uri.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def _region(labels: list[str], region: str | None) -> tuple[str, Charset]:
    if region is not None:
        if region not in REGIONS:
            raise LprRayError(f"unknown region {region!r}: use one of {', '.join(REGIONS)}")
        return region, REGIONS[region]
    chars = set("".join(labels))
    for name, charset in REGIONS.items():
        if chars <= set(charset.characters):
            return name, charset
    raise LprRayError("the verdicts mix US and Chinese plates: export each with --region us or --region cn")


def _fresh(folder: str) -> None:
    if os.path.exists(folder) and os.listdir(folder):
        raise LprRayError(f"{folder} exists and is not empty: choose a new folder (an export never mixes "
                          "with older files)")
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)


def export_tao(root: str, out: str, *, holdout: str | None = None, fraction: float = 0.0,
               region: str | None = None) -> ExportSummary:
    from lpr_ray.core.preview import png_of

    if holdout is None and fraction:
        raise LprRayError("a --holdout-fraction needs a --holdout folder")
    if not 0.0 <= fraction < 1.0:
        raise LprRayError(f"the holdout fraction must be at least 0 and below 1, got {fraction}")
    from lpr_ray.core.storage import arrow_filesystem

    fs, base = arrow_filesystem(root)
    if fs.get_file_info(base.rstrip("/")).type.name == "NotFound":
        raise LprRayError(f"results root {root} does not exist: expected the --output of an `lpr-ray run`")
    chosen = [r for r in current_verdicts(read_records(root)).values() if r["verdict"] in ("corrected", "accepted")]
    if not chosen:
        raise LprRayError(f"{root} has no corrected or accepted reviews yet: review some reads with "
                          f"`lpr-ray review --results {root}` first")
    name, charset = _region([r["label"] for r in chosen], region)
    folders = [out] + ([holdout] if holdout else [])
    for folder in folders:
        _fresh(folder)
    counts = {out: 0, holdout: 0}
    skipped: dict[str, str] = {}
    for r in chosen:
        label = charset.normalize_label(r["label"])  # O read as 0 where the dictionary has no O
        unknown = charset.unknown(label)
        if unknown:
            skipped[r["uri"]] = f"label {label} has characters {unknown} outside the {name} dictionary"
            continue
        png, status, error = png_of(r["uri"])
        if png is None:
            skipped[r["uri"]] = f"{status}: {error}"
            continue
        folder = holdout if holdout and _holdout(r["uri"], fraction) else out
        stem = hashlib.sha256(r["uri"].encode("utf-8")).hexdigest()[:24]  # no key text in a path
        with atomic_open(os.path.join(folder, "images", stem + ".png"), "wb") as f:
            f.write(png)
        with atomic_open(os.path.join(folder, "labels", stem + ".txt"), "w", encoding="utf-8") as f:
            f.write(label + "\n")
        counts[folder] += 1
    for folder in folders:
        with atomic_open(os.path.join(folder, "characters_list.txt"), "w", encoding="utf-8") as f:
            f.write(charset.to_text())
        with atomic_open(os.path.join(folder, "SOURCE.txt"), "w", encoding="utf-8") as f:
            f.write(f"exported from the reviews of {root} by `lpr-ray export-reviews`\n")
    if counts[out] == 0:
        shutil.rmtree(out)
        raise LprRayError(f"none of the {len(chosen)} reviewed images could be exported to {out}: "
                          + "; ".join(f"{u}: {w}" for u, w in list(skipped.items())[:3]))
    return ExportSummary(train=counts[out], holdout=counts[holdout] if holdout else 0, skipped=skipped, region=name)
