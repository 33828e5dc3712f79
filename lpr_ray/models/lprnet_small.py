"""`lprnet_small` and its variants: CPU-sized LPRNets that honour NVIDIA's contract.

`lprnet_small_ctx` (below) is the shipped default model's architecture.

Input [N, 3, 48, 96] RGB in [0, 1]; output logits [N, 24, C] (24 CTC time steps, C =
characters + blank). A plain conv stack (3x3 conv + BatchNorm + ReLU, folded into the convs
at export) brings the plate to 96 channels x 6 x 24; a (6 x 1) conv reads each column into
a 24-step sequence; a (1 x 3) temporal conv with a residual gives each step its neighbours;
a 1 x 1 conv scores the classes. Plain dense convs are what ONNX Runtime's CPU kernels run
fastest per FLOP, so the budget goes there (see `lpr_ray.models.flops`).
"""

from __future__ import annotations

import torch
from torch import nn

from lpr_ray.models.common import ContextBlock, ConvBNReLU


class LPRNetSmall(nn.Module):
    arch = "lprnet_small"
    WIDTHS: tuple[int, int, int, int] = (24, 32, 64, 96)
    HIDDEN = 192
    # Dilations of the ContextBlocks after the temporal conv; none in lprnet_small.
    CONTEXT: tuple[int, ...] = ()

    def __init__(
        self,
        num_classes: int,
        widths: tuple[int, int, int, int] | None = None,
        hidden: int | None = None,
        dropout: float = 0.1,
    ):
        super().__init__()
        widths = widths or self.WIDTHS
        hidden = hidden or self.HIDDEN
        w0, w1, w2, w3 = widths
        self.num_classes = num_classes
        self.features = nn.Sequential(
            ConvBNReLU(3, w0, 3, stride=2),  # 24 x 48
            ConvBNReLU(w0, w1, 3),
            nn.MaxPool2d(2),  # 12 x 24
            ConvBNReLU(w1, w2, 3),
            ConvBNReLU(w2, w2, 3),
            nn.MaxPool2d((2, 1)),  # 6 x 24
            ConvBNReLU(w2, w3, 3),
        )
        # Each of the 24 columns (6 rows x w3 channels) -> one time step.
        self.column = ConvBNReLU(w3, hidden, (6, 1), padding=0)
        self.temporal = ConvBNReLU(hidden, hidden, (1, 3), padding=(0, 1))
        if self.CONTEXT:
            self.context = nn.Sequential(*(ContextBlock(hidden, d) for d in self.CONTEXT))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(hidden, num_classes, 1)

    @property
    def new_blocks_ok(self) -> tuple[str, ...]:
        """State-dict prefixes that start as the identity, so they may be missing from a
        checkpoint that is grown into this model (`lpr_ray.train.grow`)."""
        return ("context.",) if self.CONTEXT else ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.column(x)  # [N, hidden, 1, 24]
        x = x + self.temporal(x)
        if self.CONTEXT:
            x = self.context(x)
        x = self.classifier(self.dropout(x))  # [N, C, 1, 24]
        return x.squeeze(2).permute(0, 2, 1)  # [N, 24, C]


class LPRNetMedium(LPRNetSmall):
    """`lprnet_medium`: the same layers as lprnet_small, wider (133 vs 76 MFLOP per plate).

    Same layer names, so a trained lprnet_small can be grown into it without changing its
    output (`lpr_ray.train.grow`) and fine-tuned from there instead of trained from scratch.
    """

    arch = "lprnet_medium"
    WIDTHS = (32, 48, 80, 128)
    HIDDEN = 256


class LPRNetSmallCtx(LPRNetSmall):
    """`lprnet_small_ctx`: lprnet_small plus two ContextBlocks (dilations 2 and 4).

    Each of lprnet_small's steps sees about 41 px of the 96 px plate, some three characters;
    the blocks widen that to +-69 px (a middle step sees the whole plate) for 21 MFLOP
    more, so a glyph can be read from the plate's pattern around it. A trained
    lprnet_small grows into it unchanged.
    """

    arch = "lprnet_small_ctx"
    CONTEXT = (2, 4)


class LPRNetMediumCtx(LPRNetSmallCtx):
    """`lprnet_medium_ctx`: lprnet_small_ctx at lprnet_medium's widths.

    Same layer names as lprnet_small_ctx, so a trained one (the shipped models) grows into
    it with its reads unchanged (`lpr_ray.train.grow`).
    """

    arch = "lprnet_medium_ctx"
    WIDTHS = LPRNetMedium.WIDTHS
    HIDDEN = LPRNetMedium.HIDDEN
