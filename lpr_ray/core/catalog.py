"""The models shipped inside lpr-ray (`lpr-ray models`): what each is, how big, how fast and
how accurate, from its folder under lpr_ray/assets.

Size comes from the files; architecture and parameters from config.json (written by
`lpr-ray export`); measured speed and accuracy from card.json, written by hand from the
benchmark and evaluation runs that its MODEL_CARD.md reports (with their dates and commits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lpr_ray.core.charset import Charset, region_of
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.model import ASSETS, DEFAULT_MODEL_DIR, shipped_models


@dataclass(frozen=True)
class ShippedModel:
    name: str
    path: str
    region: str
    arch: str
    params: int
    gflops: float
    megabytes: float
    default: bool
    summary: str = ""
    # e.g. {"us_real_val": 0.874}: greedy full-plate accuracy by evaluation set
    accuracy: dict[str, float] = field(default_factory=dict)
    # e.g. {"onnxruntime_2cpu": 2900.0}: model-only plates/s by backend and machine
    speed: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise LprRayError(f"cannot read {path}: {exc} (reinstall lpr-ray)") from exc


def describe(name: str) -> ShippedModel:
    folder = ASSETS / name
    config = _read_json(folder / "config.json")
    card = _read_json(folder / "card.json")
    charset = Charset.load(str(folder / "characters_list.txt"))
    return ShippedModel(
        name=name,
        path=str(folder),
        region=region_of(charset) or "custom",
        arch=str(config.get("arch", "?")),
        params=int(config.get("params", 0)),
        gflops=float(config.get("gflops_per_plate", 0.0)),
        megabytes=round((folder / "model.onnx").stat().st_size / 1e6, 2),
        default=folder == DEFAULT_MODEL_DIR,
        summary=str(card.get("summary", "")),
        accuracy={k: float(v) for k, v in card.get("accuracy", {}).items()},
        speed={k: float(v) for k, v in card.get("speed", {}).items()},
    )


def shipped() -> list[ShippedModel]:
    return [describe(name) for name in shipped_models()]
