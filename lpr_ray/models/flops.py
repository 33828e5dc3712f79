"""Count parameters and FLOPs of a model with forward hooks (1 multiply-add = 2 FLOPs).

Counts what dominates: Conv2d, Linear and LSTM multiply-adds (BatchNorm, ReLU, pooling
and softmax are a rounding error here and fold or vanish at export). NVIDIA's figure for
baseline18 (5.66 GFLOP) follows the same 2-FLOPs-per-MAC convention.
"""

from __future__ import annotations

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape=(1, 3, 48, 96)) -> int:
    """Multiply-accumulates of one forward pass for one sample."""
    total = 0

    def conv_hook(mod: nn.Conv2d, inputs, output):
        nonlocal total
        kh, kw = mod.kernel_size
        per_out = (mod.in_channels // mod.groups) * kh * kw
        total += output.numel() // output.shape[0] * per_out

    def linear_hook(mod: nn.Linear, inputs, output):
        nonlocal total
        total += output.numel() // output.shape[0] * mod.in_features

    def lstm_hook(mod: nn.LSTM, inputs, output):
        nonlocal total
        x = inputs[0]
        steps = x.shape[1] if mod.batch_first else x.shape[0]
        h = mod.hidden_size
        din = mod.input_size
        for _layer in range(mod.num_layers):
            total += steps * 4 * h * (din + h)
            din = h * (2 if mod.bidirectional else 1)

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, nn.LSTM):
            hooks.append(m.register_forward_hook(lstm_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(*input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total // input_shape[0]


def count_flops(model: nn.Module, input_shape=(1, 3, 48, 96)) -> int:
    return 2 * count_macs(model, input_shape)


def describe(model: nn.Module) -> dict:
    params = count_params(model)
    flops = count_flops(model)
    return {"params": params, "flops_per_plate": flops, "gflops_per_plate": round(flops / 1e9, 4)}
