"""The backend protocol and the registry that picks one.

A backend takes uint8 NHWC RGB batches ([N, 48, 96, 3]) and returns the NVIDIA LPRNet
contract's two outputs: best class per time step (int32 [N, T]) and its probability
(float32 [N, T]). Normalisation happens inside the backend so that GPU backends can do it
on the device and the wire carries a quarter of the bytes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lpr_ray.core.errors import LprRayError

if TYPE_CHECKING:
    import numpy as np

    from lpr_ray.core.model import ModelSpec


@runtime_checkable
class Backend(Protocol):
    name: str

    def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [N, 48, 96, 3] RGB -> (int32 [N, T] best class, float32 [N, T] its probability)."""
        ...

    def describe(self) -> str:
        """One line for logs: backend, device, precision, threads."""
        ...

    def close(self) -> None:
        """Free what the backend holds (sessions, device memory); safe to call twice."""
        ...


@runtime_checkable
class ProbsBackend(Backend, Protocol):
    """A backend that can also give every class's probability (what `--decode grammar` needs)."""

    def infer_probs(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, 48, 96, 3] RGB -> float32 [N, T, C] every class's probability."""
        ...


@dataclass(frozen=True)
class BackendOptions:
    # CPU threads for this backend instance; 0 lets the backend use every core, which
    # oversubscribes a node when several actors share it.
    threads: int = 1
    device: str = "auto"  # "cpu", "cuda", "cuda:N" or "auto"
    precision: str = "fp32"  # "fp32" or "fp16" (GPU backends)
    batch_size: int = 128  # the job's batch: TensorRT's optimisation profile is tuned for it
    engine_cache: str | None = None  # URI where TensorRT engines are shared between nodes


# name -> module path; each module defines `create(model, options) -> Backend` and
# `is_available() -> tuple[bool, str]`.
_BACKENDS = {
    "onnxruntime": "lpr_ray.backends.onnxruntime",
    "torch": "lpr_ray.backends.torch",
    "tensorrt": "lpr_ray.backends.tensorrt",
    "standin": "lpr_ray.backends.standin",  # no model: measures the pipeline (never auto)
}


def backend_names() -> list[str]:
    return list(_BACKENDS)


def _module(name: str):
    if name not in _BACKENDS:
        raise LprRayError(f"unknown backend {name!r}; expected one of {sorted(_BACKENDS)} or 'auto'")
    return importlib.import_module(_BACKENDS[name])


def available_backends() -> dict[str, tuple[bool, str]]:
    """name -> (available, reason) for every known backend."""
    return {name: _module(name).is_available() for name in _BACKENDS}


def resolve_backend_name(name: str) -> str:
    if name != "auto":
        _module(name)
        return name
    # Preference order for "auto": fastest first. GPU backends register themselves here
    # when they exist; ONNX Runtime on the CPU always works. A module may define
    # `prefer_in_auto() -> bool` to be available on request only (torch on the CPU).
    for candidate in ("tensorrt", "torch", "onnxruntime"):
        if candidate in _BACKENDS:
            mod = _module(candidate)
            ok, _ = mod.is_available()
            if ok and getattr(mod, "prefer_in_auto", lambda: True)():
                return candidate
    return "onnxruntime"


def load_backend(name: str, model: ModelSpec, options: BackendOptions | None = None) -> Backend:
    options = options or BackendOptions()
    mod = _module(resolve_backend_name(name))
    ok, reason = mod.is_available()
    if not ok:
        raise LprRayError(f"backend {name!r} is not available: {reason}")
    return mod.create(model, options)
