"""Checkpoints: written atomically (temp file + os.replace), loadable for resume or fine-tuning.

A checkpoint is a dict: arch, characters, model (state_dict), optimizer, scheduler, epoch
(last finished, 1-based), step, config (TrainConfig.to_dict()), metrics, best.
"""

from __future__ import annotations

import os
from pathlib import Path

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.errors import LprRayError, require

# Reading checkpoints belongs to the models tier (the torch backend reads them too); here for
# the training code's callers.
from lpr_ray.models.checkpoint import load_checkpoint, load_model_from_checkpoint  # noqa: F401

torch = require("torch", "train")


def save_atomic(obj: dict, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


def init_weights_from(model, path: str | os.PathLike, characters: tuple[str, ...]) -> list[str]:
    """Fine-tuning: copy every weight whose name and shape match; returns what starts fresh.

    When the characters differ (another order, or characters added or removed), each class
    row of the classifier is copied from the checkpoint's row for the same character (the
    blank from its blank); only characters the checkpoint never had start fresh. A checkpoint
    of a narrower architecture with the same layers (lprnet_small -> lprnet_medium or
    lprnet_small_ctx) is grown into the model (`lpr_ray.train.grow`).
    """
    ckpt = load_checkpoint(path)
    src = ckpt["model"]
    old_chars = tuple(ckpt.get("characters", ()))
    same_chars = old_chars == tuple(characters)
    own = model.state_dict()
    if ckpt["arch"] != getattr(model, "arch", ckpt["arch"]):
        from lpr_ray.train.grow import can_grow, grow_state

        new_ok = getattr(model, "new_blocks_ok", ())
        fresh: list[str] = []
        if not same_chars and old_chars:
            # Move the classifier to the new characters first, at the source's width; the
            # grow below then widens it like any other layer.
            src, fresh = _remap_narrow(src, own, old_chars, characters)
        if not ((same_chars or old_chars) and can_grow(src, own, new_ok)):
            raise LprRayError(
                f"--init-from {path} holds a {ckpt['arch']!r} model, but this run trains "
                f"{model.arch!r}, and it cannot be grown into it (that needs the same layers, "
                "each no larger, and a checkpoint that names its characters)"
            )
        model.load_state_dict(grow_state(src, own, new_ok))
        return fresh
    load, skipped = {}, []
    for k, v in own.items():
        if k in src and src[k].shape == v.shape and (same_chars or not _is_classifier(k)):
            load[k] = src[k]
        elif _is_classifier(k) and k in src and old_chars and _class_rows_match(src[k], v, old_chars, characters):
            load[k] = _remap_classes(src[k], v, old_chars, characters)
        else:
            skipped.append(k)
    new_chars = [c for c in characters if c not in old_chars]
    if not same_chars and old_chars and new_chars and any(_is_classifier(k) for k in load):
        skipped.append(f"classifier rows of the new characters {new_chars}")
    model.load_state_dict(load, strict=False)
    return skipped


def _class_rows_match(src, own, old_chars: tuple[str, ...], chars: tuple[str, ...]) -> bool:
    """The tensors hold one row per class (characters + blank), with the same row shape."""
    return (src.dim() >= 1 and own.dim() >= 1 and src.shape[0] == len(old_chars) + 1
            and own.shape[0] == len(chars) + 1 and src.shape[1:] == own.shape[1:])


def _remap_narrow(src: dict, own: dict, old_chars: tuple[str, ...], chars: tuple[str, ...]) -> tuple[dict, list[str]]:
    """src with its classifier rows moved to `chars` (fresh rows from own, cut to src's width)."""
    out = dict(src)
    for k, v in src.items():
        if _is_classifier(k) and k in own and v.dim() >= 1 and v.shape[0] == len(old_chars) + 1:
            fresh = own[k][(slice(None), *(slice(0, n) for n in v.shape[1:]))]
            out[k] = _remap_classes(v, fresh, old_chars, chars)
    new_chars = [c for c in chars if c not in old_chars]
    return out, [f"classifier rows of the new characters {new_chars}"] if new_chars else []


def _remap_classes(src, own, old_chars: tuple[str, ...], chars: tuple[str, ...]):
    """own's fresh rows, with each character's (and the blank's) row taken from src."""
    out = own.detach().clone()
    index = {c: i for i, c in enumerate(old_chars)}
    for i, c in enumerate(chars):
        if c in index:
            out[i] = src[index[c]]
    out[len(chars)] = src[len(old_chars)]  # the blank is the last class in both
    return out


def _is_classifier(name: str) -> bool:
    return name.startswith(("classifier.", "dense."))


WEIGHTS_ONLY_KEYS = ("arch", "characters", "model", "epoch", "step", "config", "metrics", "averaged")


def weights_only(ckpt: dict) -> dict:
    """The checkpoint without optimizer, scheduler and raw (non-averaged) weights."""
    slim = {k: ckpt[k] for k in WEIGHTS_ONLY_KEYS if k in ckpt}
    slim["model"] = {k: v.detach().clone() for k, v in slim["model"].items()}
    return slim


def save_weights_only(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """A small shippable checkpoint: model weights, arch, characters, config, metrics (no optimizer)."""
    save_atomic(weights_only(load_checkpoint(src)), dst)
