"""Locating a model: its ONNX file, its characters_list.txt, its name and weight hash."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from lpr_ray.charset import Charset
from lpr_ray.errors import LprRayError

ASSETS = Path(__file__).parent / "assets"
DEFAULT_MODEL_DIR = ASSETS / "us_lprnet_small"
INPUT_NAME = "image_input"
OUTPUT_ARGMAX = "tf_op_layer_ArgMax"
OUTPUT_MAX = "tf_op_layer_Max"
# Optional: every class's probability [N, 24, C], for format-aware decoding (lpr_ray.grammar).
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


def resolve_model(model: str | os.PathLike | None = None, characters: str | None = None) -> ModelSpec:
    """`model` is an .onnx file or a folder holding model.onnx; None is the shipped default.

    The characters list is `characters` if given, else characters_list.txt beside the
    ONNX file, else the US dictionary would be a guess: refuse instead of guessing.
    """
    path = Path(model) if model is not None else DEFAULT_MODEL_DIR
    if path.is_dir():
        candidates = sorted(path.glob("*.onnx"))
        if not candidates:
            ckpt = sorted(path.glob("*.pt"))
            hint = f" (a training run? export it first: lpr-ray export --checkpoint {ckpt[0]} --out FOLDER)" if ckpt else ""
            raise LprRayError(f"model folder {path} holds no .onnx file{hint}")
        path = path / "model.onnx" if (path / "model.onnx").exists() else candidates[0]
    if not path.exists():
        hint = " (the shipped default model is missing: reinstall lpr-ray)" if model is None else ""
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
