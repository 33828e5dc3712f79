"""Pretrained real-text weights for `ppocr_v4`, read from the ONNX file that a PyPI wheel ships.

The weights are PaddleOCR's PP-OCRv4 mobile text recogniser (Apache-2.0, copyright Baidu /
the PaddleOCR authors) as packaged in the `rapidocr` wheel (Apache-2.0). Nothing is
downloaded at run time: the wheel is installed with pip, or its .whl file is given, and the
ONNX graph's constants are copied into `PPOCRv4Rec` in the order the graph uses them. The
classifier keeps the pretrained rows of the characters the new dictionary shares with PP-OCR's
(digits, letters, the Chinese provinces), so the model reads plates before any fine-tuning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lpr_ray.core.errors import LprRayError, require

RAPIDOCR_VERSION = "3.4.5"
ONNX_NAME = "ch_PP-OCRv4_rec_infer.onnx"
# The file the shipped models started from: another file is refused rather than half-loaded.
ONNX_SHA256 = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
INSTALL_HINT = (
    f"pip install --no-deps rapidocr=={RAPIDOCR_VERSION}  (only its model file is used; "
    "--no-deps keeps its opencv-python out of an environment that has the headless build)"
)


def find_weights(source: str | os.PathLike | None = None) -> bytes:
    """The PP-OCRv4 recogniser's ONNX bytes from `source` (an .onnx file or a rapidocr .whl),
    else from the installed `rapidocr` package, located without importing it; checked
    against ONNX_SHA256."""
    data, where = _read_weights(source)
    digest = hashlib.sha256(data).hexdigest()
    if digest != ONNX_SHA256:
        raise LprRayError(
            f"{where} is not the PP-OCRv4 recogniser lpr-ray was built on (sha256 {digest[:12]}..., "
            f"expected {ONNX_SHA256[:12]}... from rapidocr {RAPIDOCR_VERSION}): {INSTALL_HINT}"
        )
    return data


def _read_weights(source: str | os.PathLike | None) -> tuple[bytes, str]:
    if source is not None:
        path = Path(source)
        if not path.is_file():
            raise LprRayError(f"pretrained weights {path} do not exist; expected {ONNX_NAME} or a rapidocr wheel")
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as whl:
                names = [n for n in whl.namelist() if n.endswith("/" + ONNX_NAME)]
                if not names:
                    raise LprRayError(f"{path} holds no {ONNX_NAME}: expected a rapidocr {RAPIDOCR_VERSION} wheel")
                return whl.read(names[0]), f"{path}!{names[0]}"
        return path.read_bytes(), str(path)
    spec = importlib.util.find_spec("rapidocr")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / "models" / ONNX_NAME
        if candidate.is_file():
            return candidate.read_bytes(), str(candidate)
    found = f"rapidocr is installed at {locations} but has no models/{ONNX_NAME}" if locations else "rapidocr is not installed"
    raise LprRayError(f"the ppocr_v4 architecture starts from PP-OCRv4's weights, and {found}: {INSTALL_HINT}")


def onnx_tensors(data: bytes) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """The graph's weights in the order its nodes first use them, and PP-OCR's dictionary."""
    onnx = require("onnx", "train")
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    ordered, seen = [], set()
    for node in model.graph.node:
        for name in node.input:
            # Weights are the named parameters (conv2d_*, batch_norm2d_*, linear_*, the
            # affines, layer norms); graph helpers (p2o.*, fill_constant_*) are shape plumbing.
            if name in values and name not in seen and not name.startswith(("p2o.", "fill_constant")):
                seen.add(name)
                ordered.append((name, values[name]))
    chars = next((p.value for p in model.metadata_props if p.key == "character"), None)
    if chars is None:
        raise LprRayError(f"the ONNX graph has no 'character' metadata: not rapidocr's {ONNX_NAME}")
    return ordered, chars.split("\n")


def load_pretrained(model, characters: Sequence[str], source: str | os.PathLike | None = None) -> list[str]:
    """Copy PP-OCRv4's weights into `model` (a PPOCRv4Rec); returns the characters whose
    classifier rows start fresh because PP-OCR's dictionary lacks them."""
    torch = require("torch", "train")
    tensors, ppocr_chars = onnx_tensors(find_weights(source))
    *body, (head_w_name, head_w), (head_b_name, head_b) = tensors
    state = model.state_dict()
    targets = [k for k in state if not k.startswith("classifier.") and not k.endswith("num_batches_tracked")]
    if len(targets) != len(body):
        raise LprRayError(
            f"PP-OCRv4 weights do not fit the ppocr_v4 layers: {len(body)} tensors in the graph, "
            f"{len(targets)} in the model (expected rapidocr {RAPIDOCR_VERSION}'s {ONNX_NAME})"
        )
    new = {}
    for key, (name, value) in zip(targets, body, strict=True):
        # ONNX MatMul weights are [in, out]; torch's Linear keeps [out, in].
        value = value.T if value.ndim == 2 else value
        if tuple(value.shape) != tuple(state[key].shape):
            raise LprRayError(f"PP-OCRv4 tensor {name} {list(value.shape)} does not fit {key} {list(state[key].shape)}")
        new[key] = torch.from_numpy(np.array(value, dtype=np.float32))
    # PP-OCR's classes: 0 is the CTC blank, 1..n its dictionary, n + 1 a space.
    row = {c: i + 1 for i, c in enumerate(ppocr_chars)}
    weight = state["classifier.weight"].clone()
    bias = state["classifier.bias"].clone()
    fresh = []
    for i, c in enumerate(characters):
        if c in row:
            weight[i] = torch.from_numpy(head_w[:, row[c]].copy())
            bias[i] = float(head_b[row[c]])
        else:
            fresh.append(c)
    weight[len(characters)] = torch.from_numpy(head_w[:, 0].copy())  # the blank, last in lpr-ray
    bias[len(characters)] = float(head_b[0])
    new["classifier.weight"], new["classifier.bias"] = weight, bias
    model.load_state_dict(new, strict=False)
    return fresh
