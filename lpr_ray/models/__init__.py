"""Model architectures for training: name -> constructor.

Every model maps [N, 3, 48, 96] RGB in [0, 1] to logits [N, 24, C] where C is the number
of characters + 1 and the CTC blank is the LAST class (NVIDIA's convention). Importing this
package imports torch: keep it out of the core modules.
"""

from __future__ import annotations

from collections.abc import Callable

from lpr_ray.core.errors import LprRayError, require

require("torch", "train")

from lpr_ray.models.baseline18 import Baseline18  # noqa: E402
from lpr_ray.models.lprnet_small import LPRNetMedium, LPRNetMediumCtx, LPRNetSmall, LPRNetSmallCtx  # noqa: E402
from lpr_ray.models.ppocr_v4 import PPOCRv4Rec  # noqa: E402

DEFAULT_ARCH = "lprnet_small"
TIME_STEPS = 24

ARCHITECTURES: dict[str, Callable[..., object]] = {
    "lprnet_small": LPRNetSmall,
    "lprnet_medium": LPRNetMedium,
    "lprnet_small_ctx": LPRNetSmallCtx,
    "lprnet_medium_ctx": LPRNetMediumCtx,
    "baseline18": Baseline18,
    "ppocr_v4": PPOCRv4Rec,
}
# Architectures whose fresh weights come from a pretrained model (lpr_ray.models.pretrained)
# rather than a random initialisation.
PRETRAINED = ("ppocr_v4",)


def create_model(name: str, num_classes: int, **kwargs):
    """A fresh model of architecture `name` with `num_classes` outputs (characters + blank)."""
    if name not in ARCHITECTURES:
        raise LprRayError(f"unknown architecture {name!r}; expected one of {sorted(ARCHITECTURES)}")
    if num_classes < 2:
        raise LprRayError(f"num_classes must be at least 2 (characters + blank), got {num_classes}")
    return ARCHITECTURES[name](num_classes, **kwargs)


__all__ = [
    "ARCHITECTURES", "DEFAULT_ARCH", "PRETRAINED", "TIME_STEPS", "Baseline18", "LPRNetMedium", "LPRNetMediumCtx", "LPRNetSmall",
    "LPRNetSmallCtx", "PPOCRv4Rec", "create_model",
]
