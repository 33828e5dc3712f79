"""Building blocks shared by the architectures."""

from __future__ import annotations

from torch import nn


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=None):
        if padding is None:
            k = (kernel, kernel) if isinstance(kernel, int) else kernel
            padding = (k[0] // 2, k[1] // 2)
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )
