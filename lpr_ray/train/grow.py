"""Grow a trained model into a wider one of the same layout without changing what it reads.

Every tensor of the wider model keeps the trained values in its leading slices. Weights
that carry a NEW input channel into an OLD output are zeroed, so the old channels compute
exactly what they did; new output channels keep their fresh random init (they need
non-zero activations for the zero weights reading them to receive a gradient). New
BatchNorm channels start at the identity. In eval mode the grown model's logits equal the
source's; training then puts the extra width to use (Net2Net's idea, with zeros instead of
channel copies so no symmetry has to be broken).

A model may also add whole blocks that start as the identity (lprnet_small ->
lprnet_small_ctx): their tensors, under the prefixes the model lists in `new_ok`, keep their
fresh values.
"""

from __future__ import annotations

from lpr_ray.core.errors import LprRayError, require

torch = require("torch", "train")


def can_grow(src: dict, own: dict, new_ok: tuple[str, ...] = ()) -> bool:
    """True when every tensor of `own` has a same-named, same-rank, no-larger source tensor,
    except those under the `new_ok` prefixes, which may be missing from the source."""
    if not set(src) <= set(own):
        return False
    # str.startswith(()) is False: with no new_ok, nothing may be missing.
    if any(not k.startswith(new_ok) for k in set(own) - set(src)):
        return False
    return all(
        src[k].dim() == v.dim() and all(a <= b for a, b in zip(src[k].shape, v.shape, strict=True))
        for k, v in own.items()
        if k in src
    )


def grow_state(src: dict, own: dict, new_ok: tuple[str, ...] = ()) -> dict:
    """The state dict for the wider model (`own` gives its shapes and fresh values)."""
    if not can_grow(src, own, new_ok):
        raise LprRayError(
            "cannot grow: the source checkpoint's layers do not fit inside this model's "
            "(every layer must exist in both, with the same rank and no larger a shape, "
            "except blocks the model adds as the identity)"
        )
    out = {}
    for k, new in own.items():
        if k not in src:
            out[k] = new.clone()
            continue
        old = src[k].to(new.dtype)
        if old.shape == new.shape:
            out[k] = old.clone()
            continue
        t = new.clone()
        if t.dim() >= 2 and t.shape[1] > old.shape[1]:
            # Conv/linear weight [out, in, ...]: new inputs must not reach old outputs.
            t[: old.shape[0], old.shape[1] :] = 0
        t[tuple(slice(0, n) for n in old.shape)] = old
        out[k] = t
    return out
