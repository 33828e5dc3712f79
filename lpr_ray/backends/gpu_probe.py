"""Which CUDA GPUs this process can use, asked through cuda-python's runtime API.

Safe on any machine: `cudaGetDeviceCount()` returns an error code where there is no driver
or no GPU, whereas creating a TensorRT runtime there crashes the process. Every GPU
backend asks here first. cuda-python is imported lazily (the `tensorrt` extra).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lpr_ray.core.errors import LprRayError

NOT_INSTALLED = "cuda-python is not installed (pip install 'lpr-ray[tensorrt]')"


@dataclass(frozen=True)
class GpuInfo:
    index: int  # CUDA runtime ordinal (after CUDA_VISIBLE_DEVICES)
    name: str  # e.g. "Tesla T4"
    compute_capability: str  # e.g. "7.5"
    total_memory: int  # bytes

    def describe(self) -> str:
        return f"cuda:{self.index} {self.name} (sm {self.compute_capability}, {self.total_memory / 2**30:.0f} GiB)"


def import_cudart():
    """cuda-python's runtime module (cuda.bindings.runtime, or cuda.cudart before 12.6)."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        from cuda import cudart as runtime  # older cuda-python
    return runtime


def check(rt, result):
    """cuda-python returns (error, *values): raise on error, else the values."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != rt.cudaError_t.cudaSuccess:
        _, name = rt.cudaGetErrorName(err)
        _, text = rt.cudaGetErrorString(err)
        raise LprRayError(f"CUDA error {_text(name)}: {_text(text)}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode(errors="replace")
    return str(value)


def _no_gpu_reason(rt, err) -> str:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "NoDevFiles"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU from this process"
    drv_err, driver = rt.cudaDriverGetVersion()
    if drv_err != rt.cudaError_t.cudaSuccess or not driver:
        return "no NVIDIA driver is installed (libcuda could not be loaded): this machine has no usable GPU"
    if err == rt.cudaError_t.cudaErrorInsufficientDriver:
        _, runtime = rt.cudaRuntimeGetVersion()
        return (
            f"the NVIDIA driver supports CUDA {driver // 1000}.{driver % 1000 // 10} but this cuda-python "
            f"needs CUDA {runtime // 1000}.{runtime % 1000 // 10}: install a cuda-python whose major "
            f"version matches the driver (e.g. pip install 'cuda-python<{driver // 1000 + 1}')"
        )
    _, name = rt.cudaGetErrorName(err)
    _, text = rt.cudaGetErrorString(err)
    return f"no usable CUDA GPU ({_text(name)}: {_text(text)})"


def probe_gpus() -> list[GpuInfo] | str:
    """The visible GPUs, or a sentence saying why there are none."""
    try:
        rt = import_cudart()
    except ImportError:
        return NOT_INSTALLED
    err, count = rt.cudaGetDeviceCount()
    if err != rt.cudaError_t.cudaSuccess:
        return _no_gpu_reason(rt, err)
    if count == 0:
        return "no CUDA GPU is visible to this process"
    gpus = []
    for i in range(count):
        err, prop = rt.cudaGetDeviceProperties(i)
        if err != rt.cudaError_t.cudaSuccess:
            return _no_gpu_reason(rt, err)
        gpus.append(GpuInfo(i, _text(prop.name).strip(), f"{prop.major}.{prop.minor}", int(prop.totalGlobalMem)))
    return gpus


def require_gpu(device: int = 0) -> GpuInfo:
    """The GPU with this ordinal, or a clear LprRayError."""
    found = probe_gpus()
    if isinstance(found, str):
        raise LprRayError(f"no GPU: {found}")
    if not 0 <= device < len(found):
        raise LprRayError(f"GPU cuda:{device} does not exist; visible: {[g.describe() for g in found]}")
    return found[device]


def parse_device(device: str) -> int:
    """"auto", "cuda" -> 0; "cuda:N" -> N; anything else is an error for a GPU backend."""
    if device in ("auto", "cuda"):
        return 0
    if device.startswith("cuda:") and device[5:].isdigit():
        return int(device[5:])
    raise LprRayError(f"device {device!r} is not a CUDA device (expected 'cuda' or 'cuda:N')")
