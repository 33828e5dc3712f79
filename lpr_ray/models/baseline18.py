"""`baseline18`: NVIDIA TAO's LPRNet baseline18, re-implemented in PyTorch.

As described in TAO's open source (docs/READING.md): the R, G and B channels are summed
into one; a 3x3 conv stem of 64 channels; 8 residual blocks (64, 64, 128/2, 128, 256/2,
256, 300, 300) giving 300 x 12 x 24; each of the 24 columns (300 x 12 = 3600 values) is one
time step of an LSTM with 512 units; a dense layer + softmax scores the classes.

About 14.4M parameters and 5.7 GFLOP per plate (see `lpr-ray`'s model card and
`lpr_ray.models.flops`): meant for GPUs, far too heavy for CPU inference.
"""

from __future__ import annotations

import torch
from torch import nn

from lpr_ray.models.common import ConvBNReLU


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = ConvBNReLU(cin, cout, 3, stride=stride)
        self.conv2 = nn.Sequential(
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


BLOCKS = ((64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (300, 1), (300, 1))


class Baseline18(nn.Module):
    arch = "baseline18"

    def __init__(self, num_classes: int, lstm_units: int = 512):
        super().__init__()
        self.num_classes = num_classes
        self.stem = ConvBNReLU(1, 64, 3)
        layers = []
        cin = 64
        for cout, stride in BLOCKS:
            layers.append(BasicBlock(cin, cout, stride))
            cin = cout
        self.blocks = nn.Sequential(*layers)
        self.lstm = nn.LSTM(cin * 12, lstm_units, batch_first=True)
        self.dense = nn.Linear(lstm_units, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.sum(dim=1, keepdim=True)  # R + G + B -> one channel
        x = self.blocks(self.stem(x))  # [N, 300, 12, 24]
        n, c, h, w = x.shape
        x = x.permute(0, 3, 1, 2).reshape(n, w, c * h)  # [N, 24, 3600]
        x, _ = self.lstm(x)
        return self.dense(x)  # [N, 24, C]
