"""Count parameters and FLOPs of a model (1 multiply-add = 2 FLOPs, NVIDIA's convention: its
figure for baseline18 is 5.66 GFLOP).

torch's FlopCounterMode counts every aten op it knows (convolutions and matrix products,
attention's included); it does not count LSTMs (baseline18's head), so they are added with a
forward hook. BatchNorm, activations, pooling and softmax count for nothing here: they are a
rounding error and fold or vanish at export.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _lstm_flops(mod: nn.LSTM, x: torch.Tensor) -> int:
    """Of the whole batch, like FlopCounterMode's count (both are divided by the batch after)."""
    steps, batch = (x.shape[1], x.shape[0]) if mod.batch_first else (x.shape[0], x.shape[1])
    h, din, macs = mod.hidden_size, mod.input_size, 0
    directions = 2 if mod.bidirectional else 1
    for _layer in range(mod.num_layers):
        macs += directions * steps * 4 * h * (din + h)
        din = h * directions
    return 2 * macs * batch


def count_flops(model: nn.Module, input_shape=(1, 3, 48, 96)) -> int:
    """FLOPs of one forward pass, per sample."""
    lstm = 0

    def lstm_hook(mod: nn.LSTM, inputs, output):
        nonlocal lstm
        lstm += _lstm_flops(mod, inputs[0])

    hooks = [m.register_forward_hook(lstm_hook) for m in model.modules() if isinstance(m, nn.LSTM)]
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(*input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return (counter.get_total_flops() + lstm) // input_shape[0]


def describe(model: nn.Module) -> dict:
    params = count_params(model)
    flops = count_flops(model)
    return {"params": params, "flops_per_plate": flops, "gflops_per_plate": round(flops / 1e9, 4)}
