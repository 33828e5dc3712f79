"""The resolved training configuration, saved as config.json next to the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

# The synthetic validation set is rendered from this seed; training seeds are derived from
# `seed` through numpy's SeedSequence and skip this value, so the two never overlap.
DEFAULT_VAL_SEED = 7919


@dataclass(frozen=True)
class TrainConfig:
    out: str
    arch: str = "lprnet_small"
    epochs: int = 20
    steps_per_epoch: int = 500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    grad_clip: float = 5.0
    # Exponential moving average of the weights, updated every step (0: off). Validation,
    # best.pt and the exported model use the average; last.pt also keeps the raw weights.
    ema: float = 0.0
    # Synthetic plates per epoch rendered on the fly (0: no synthetic data). The epoch
    # length is steps_per_epoch batches either way; synthetic and TAO data are mixed by
    # `tao_fraction` when both are given.
    synthetic: int = 0
    # Which plates the synthetic ones are ("us" or "cn"); also the dictionary when no TAO
    # training data gives one.
    region: str = "us"
    train_tao: tuple[str, ...] = ()
    tao_fraction: float = 0.5
    val_tao: str | None = None
    val_synthetic: int = 2000
    val_seed: int = DEFAULT_VAL_SEED
    augment: bool = True
    # Probability that a training crop also gets one or two style operations
    # (lpr_ray.train.style: colour, polarity, tone, pixel grid); 0: off.
    style_augment: float = 0.0
    init_from: str | None = None
    # Where a PRETRAINED architecture's starting weights come from when there is no
    # init_from: an .onnx file or a rapidocr wheel; None: the installed rapidocr package.
    pretrained: str | None = None
    # Leading backbone blocks (and the stem) kept at their starting weights; 0: train all.
    freeze: int = 0
    # Knowledge distillation: a checkpoint whose per-step class probabilities (softened by
    # distill_temperature) the model also learns, with this weight beside the CTC loss.
    teacher: str | None = None
    distill_weight: float = 1.0
    distill_temperature: float = 2.0
    # Keep every epoch's weights as OUT/epochs/eNNN.pt (for lpr_ray.train.average).
    save_epochs: bool = False
    resume: bool = False
    device: str = "auto"
    seed: int = 0
    threads: int = 0
    workers: int = 1
    characters: tuple[str, ...] = field(default_factory=tuple)
    log_every: int = 50

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["train_tao"] = list(self.train_tao)
        d["characters"] = "".join(self.characters)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "train_tao" in kw:
            kw["train_tao"] = tuple(kw["train_tao"])
        if "characters" in kw:
            kw["characters"] = tuple(kw["characters"])
        return cls(**kw)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)
