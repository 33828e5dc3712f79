"""Locating a model: its ONNX file, its characters_list.txt, its name and weight hash."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from lpr_ray.core.charset import Charset
from lpr_ray.core.errors import LprRayError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEFAULT_MODEL_DIR = ASSETS / "us_lprnet_small"
INPUT_NAME = "image_input"
OUTPUT_ARGMAX = "tf_op_layer_ArgMax"
OUTPUT_MAX = "tf_op_layer_Max"
# Optional: every class's probability [N, 24, C], for format-aware decoding (lpr_ray.core.grammar).
OUTPUT_SOFTMAX = "softmax"


@dataclass(frozen=True)
class ModelSpec:
    onnx_path: str
    charset: Charset
    name: str
    sha256: str

    @property
    def tag(self) -> str:
        """What goes in the `model` column: name and a short hash of the weights."""
        return f"{self.name}@{self.sha256[:12]}"


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shipped_models() -> list[str]:
    """Names of the models shipped inside lpr-ray (folders of lpr_ray/assets with an ONNX file)."""
    return sorted(p.name for p in ASSETS.iterdir() if (p / "model.onnx").is_file())


def _shipped_name(model: str | os.PathLike) -> str | None:
    """`model` when it is a shipped model's bare name and no file or folder here has it."""
    name = str(model)
    if name and os.sep not in name and "/" not in name and not Path(name).exists() and (ASSETS / name).is_dir():
        return name
    return None


def model_path(model: str | os.PathLike | None) -> Path:
    """A model argument as a path: a shipped model's name (`us_accurate`) names its folder
    unless a file or folder of that name exists here; None is the shipped default."""
    if model is None:
        return DEFAULT_MODEL_DIR
    name = _shipped_name(model)
    return ASSETS / name if name else Path(model)


def shipped_checkpoint(model: str) -> str:
    """`train --init-from NAME`, `export --checkpoint NAME`: a shipped model's name stands for
    its model.pt; anything else is returned as it is."""
    name = _shipped_name(model)
    return str(ASSETS / name / "model.pt") if name else model


def resolve_model(model: str | os.PathLike | None = None, characters: str | None = None) -> ModelSpec:
    """`model` is an .onnx file, a folder holding model.onnx, or a shipped model's name; None is
    the shipped default.

    The characters list is `characters` if given, else characters_list.txt beside the
    ONNX file, else the US dictionary would be a guess: refuse instead of guessing.
    """
    path = model_path(model)
    if path.is_dir():
        candidates = sorted(path.glob("*.onnx"))
        if not candidates:
            ckpt = sorted(path.glob("*.pt"))
            hint = f" (a training run? export it first: lpr-ray export --checkpoint {ckpt[0]} --out FOLDER)" if ckpt else ""
            raise LprRayError(f"model folder {path} holds no .onnx file{hint}")
        path = path / "model.onnx" if (path / "model.onnx").exists() else candidates[0]
    if not path.exists():
        hint = (" (the shipped default model is missing: reinstall lpr-ray)" if model is None
                else f" (shipped models, by name: {', '.join(shipped_models())})")
        raise LprRayError(f"model file {path} does not exist{hint}")
    if path.suffix != ".onnx":
        hint = f" (a PyTorch checkpoint: export it first with lpr-ray export --checkpoint {path} --out FOLDER)" if path.suffix == ".pt" else ""
        raise LprRayError(f"expected an ONNX model (.onnx), got {path}{hint}")
    chars_path = Path(characters) if characters else path.parent / "characters_list.txt"
    if not chars_path.exists():
        raise LprRayError(
            f"no characters list for {path}: expected {chars_path} (one class per line, "
            "blank = last class + 1), or pass --characters"
        )
    name = path.parent.name if path.stem == "model" else path.stem
    return ModelSpec(
        onnx_path=str(path), charset=Charset.load(str(chars_path)), name=name, sha256=file_sha256(str(path))
    )
