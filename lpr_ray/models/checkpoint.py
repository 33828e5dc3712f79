"""Reading lpr-ray checkpoints (written by lpr_ray.train): the dict with arch, characters and
model (state_dict), and the model it describes. The torch backend and training both read them.
"""

from __future__ import annotations

import os

from lpr_ray.core.errors import LprRayError, require

torch = require("torch", "train")


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = str(path)
    if not os.path.exists(path):
        raise LprRayError(f"checkpoint {path} does not exist")
    if os.path.isdir(path):
        found = sorted(f for f in os.listdir(path) if f.endswith(".pt"))
        hint = f": give one of its checkpoints, e.g. {os.path.join(path, found[0])}" if found else " holding no .pt file"
        raise LprRayError(f"expected a PyTorch checkpoint file (.pt), got the folder {path}{hint}")
    if path.endswith(".onnx"):
        raise LprRayError(
            f"expected a PyTorch checkpoint (.pt), got the ONNX model {path}: training starts from "
            "the model.pt beside it (`lpr-ray export --with-checkpoint` writes one)"
        )
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is a bad file for the user
        raise LprRayError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or "model" not in ckpt or "arch" not in ckpt:
        raise LprRayError(f"{path} is not an lpr-ray checkpoint (no 'model'/'arch' entries)")
    return ckpt


def load_model_from_checkpoint(path: str | os.PathLike):
    """(model in eval mode on CPU, checkpoint dict)."""
    from lpr_ray.models import create_model

    ckpt = load_checkpoint(path)
    chars = ckpt.get("characters")
    if not chars:
        raise LprRayError(f"checkpoint {path} does not record its characters list")
    model = create_model(ckpt["arch"], len(chars) + 1)
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt
