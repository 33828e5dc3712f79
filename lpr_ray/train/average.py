"""Average the weights of several checkpoints of one run (stochastic weight averaging).

Real-plate accuracy swings by several points from one epoch's weights to the next while
held-out synthetic accuracy barely moves: many real plates sit near a decision boundary.
An average over the last epochs of a low-learning-rate run lies in a flatter region than
any one of them (Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima"). The
average's BatchNorm statistics are measured again on fresh plates from the run's own
training stream, since averaged weights no longer match any checkpoint's statistics.

    lpr-ray average CKPT [CKPT ...] --out AVG.pt [--bn-plates 4096]
        [--val-synthetic 2000] [--val-tao URI]

Use `lpr-ray train --save-epochs` to keep every epoch's checkpoint; the result loads like
any checkpoint (`lpr-ray export --checkpoint AVG.pt`, `lpr-ray train --init-from AVG.pt`).
"""

from __future__ import annotations

import os

import numpy as np

from lpr_ray.core.errors import LprRayError, require
from lpr_ray.train import data as tdata
from lpr_ray.train.checkpoint import load_checkpoint

torch = require("torch", "train")


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of state dicts with the same keys and shapes; integer buffers
    (BatchNorm's batch counters) take the largest value."""
    if not states:
        raise LprRayError("nothing to average: give at least one checkpoint")
    keys = list(states[0])
    for i, s in enumerate(states[1:], 2):
        if list(s) != keys:
            raise LprRayError(f"checkpoint {i} has other weights than checkpoint 1: not the same architecture")
    out = {}
    for k in keys:
        vals = [s[k] for s in states]
        shapes = {tuple(v.shape) for v in vals}
        if len(shapes) != 1:
            raise LprRayError(f"weight {k!r} has different shapes across checkpoints: {sorted(shapes)}")
        if vals[0].is_floating_point():
            out[k] = torch.stack([v.double() for v in vals]).mean(0).to(vals[0].dtype)
        else:
            out[k] = torch.stack(vals).max(0).values
    return out


@torch.no_grad()
def recompute_batchnorm(model, batches) -> int:
    """Replace every BatchNorm layer's running mean and variance by their plain average
    over `batches` (float NCHW tensors); returns the number of BatchNorm layers."""
    from torch.optim.swa_utils import update_bn

    update_bn(batches, model)  # momentum None for the pass: a cumulative average
    return sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def bn_batches(cfg: dict, n: int, batch_size: int = 256):
    """n training-like plates as float NCHW batches: the run's own data stream (synthetic
    and/or TAO plates, its augmentation) for epoch 0, which no training epoch draws, so
    they are fresh plates and never the validation set."""
    from lpr_ray.core.charset import Charset
    from lpr_ray.train.config import TrainConfig

    tc = TrainConfig.from_dict({"out": "", **cfg})
    tao_images = tao_labels = None
    if tc.train_tao:
        if not tc.characters:
            raise LprRayError("the checkpoint's config records TAO training data but no characters list")
        tao_images, tao_labels, _ = tdata.load_tao_sets(tc.train_tao, Charset(tuple(tc.characters)))
    stream = tdata.TrainStream(
        batch_size=batch_size, steps=-(-n // batch_size), epoch=0, seed=tc.seed, val_seed=tc.val_seed,
        synthetic=bool(tc.synthetic), tao_images=tao_images, tao_labels=tao_labels,
        tao_fraction=tc.tao_fraction, augment=tc.augment, style_p=tc.style_augment, region=tc.region,
    )
    for images, _ in stream:
        x = torch.from_numpy(np.ascontiguousarray(images))
        yield x.permute(0, 3, 1, 2).float().div_(255.0)


def average_checkpoints(paths: list[str], *, bn_plates: int = 4096) -> tuple[dict, object]:
    """(checkpoint dict of the average, the averaged model in eval mode)."""
    from lpr_ray.models import create_model

    ckpts = [load_checkpoint(p) for p in paths]
    first = ckpts[0]
    for p, c in zip(paths[1:], ckpts[1:], strict=True):
        if c["arch"] != first["arch"] or list(c.get("characters", ())) != list(first.get("characters", ())):
            raise LprRayError(
                f"{p} holds a {c['arch']!r} model over {''.join(c.get('characters', ()))!r}; "
                f"{paths[0]} holds {first['arch']!r} over {''.join(first.get('characters', ()))!r}: "
                "only checkpoints of one architecture and characters list can be averaged"
            )
    chars = list(first["characters"])
    model = create_model(first["arch"], len(chars) + 1)
    model.load_state_dict(average_states([c["model"] for c in ckpts]))
    last = max(ckpts, key=lambda c: int(c.get("step", 0)))
    if bn_plates > 0:
        recompute_batchnorm(model, bn_batches(last.get("config", {}), bn_plates))
    model.eval()
    ckpt = {
        "arch": first["arch"],
        "characters": chars,
        "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "epoch": last.get("epoch"),
        "step": last.get("step"),
        "config": last.get("config", {}),
        "metrics": {},
        "averaged": {
            "checkpoints": [os.path.basename(p) for p in paths],
            "epochs": [c.get("epoch") for c in ckpts],
            "bn_plates": bn_plates,
        },
    }
    return ckpt, model
