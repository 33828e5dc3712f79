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


class ContextBlock(nn.Module):
    """A residual pair of dilated (1 x 3) convs over the time steps.

    Widens what each step sees of the plate, so a glyph that is ambiguous on its own (2/Z,
    8/B, 1/I, 0/D) can be read from its neighbours. `out_bn` starts at zero scale, so a new
    block is the identity (its input is post-ReLU, hence ReLU(x + 0) = x): a trained model
    gains blocks without changing what it reads (`lpr_ray.train.grow`), and the zero scale
    still gets a gradient wherever x > 0.
    """

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        conv = dict(kernel_size=(1, 3), padding=(0, dilation), dilation=(1, dilation), bias=False)
        self.conv1 = nn.Conv2d(channels, channels, **conv)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, **conv)
        self.out_bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.out_bn.weight)

    def forward(self, x):
        y = nn.functional.relu(self.bn1(self.conv1(x)))
        return nn.functional.relu(x + self.out_bn(self.conv2(y)))
