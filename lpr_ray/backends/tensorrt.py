"""TensorRT FP16 engines on NVIDIA GPUs (the `tensorrt` extra: TensorRT 10/11 + cuda-python).

The engine comes from the engine cache (built on first use by one builder per node, or ahead
of time with `lpr-ray build-engine`). The runner uses cuda-python's runtime API, whose
primary context works from any thread: Ray Data calls `__call__` on another thread than
`__init__`, so every call starts with `cudaSetDevice`, which makes the device's primary
context current on the calling thread. Pinned host buffers and device buffers are sized
for the profile's max batch once; each batch is an async copy in, `execute_async_v3`
with the batch's input shape, async copies out, one stream synchronize.

NOT EXERCISED IN THIS PROJECT'S CI: TensorRT cannot be installed on its machines. What is
tested is everything around it: probing, keys, the graph handed to the builder.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import logging
import os

import numpy as np

from lpr_ray.backends.base import BackendOptions
from lpr_ray.backends.engine_cache import EngineCache, EngineKey
from lpr_ray.backends.gpu_probe import check, import_cudart, parse_device, probe_gpus, require_gpu
from lpr_ray.backends.trt_build import ENGINE_INPUT, GRAPH_REVISION, Profile, build_engine
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH
from lpr_ray.core.model import OUTPUT_ARGMAX, OUTPUT_MAX, ModelSpec

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "TensorRT is not installed: pip install 'lpr-ray[tensorrt]' on a GPU node that can reach "
    "NVIDIA's package index (pypi.nvidia.com)"
)
DEFAULT_BATCH = 128


def import_tensorrt():
    """The tensorrt module, or a clear error. Importing it is safe without a GPU; creating a
    Runtime or Builder there is not (callers probe first)."""
    try:
        return importlib.import_module("tensorrt")
    except ImportError as exc:
        raise LprRayError(f"{INSTALL_HINT} ({exc})") from exc


def is_available() -> tuple[bool, str]:
    if importlib.util.find_spec("tensorrt") is None:
        return False, INSTALL_HINT
    gpus = probe_gpus()
    if isinstance(gpus, str):
        return False, gpus
    return True, "TensorRT on " + ", ".join(g.describe() for g in gpus)


def engine_key(model: ModelSpec, trt_version: str, gpu, precision: str, profile: Profile) -> EngineKey:
    return EngineKey(
        onnx_sha256=model.sha256,
        trt_version=trt_version,
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        precision=precision,
        min_batch=profile.min_batch,
        opt_batch=profile.opt_batch,
        max_batch=profile.max_batch,
        graph_revision=GRAPH_REVISION,
    )


def host_array(ptr: int, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A numpy view of host memory at `ptr` (a pinned buffer from cudaMallocHost)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = (ctypes.c_uint8 * nbytes).from_address(ptr)
    return np.frombuffer(raw, dtype=np.uint8).view(dtype).reshape(shape)


class TensorRTBackend:
    name = "tensorrt"

    def __init__(self, engine: bytes, model: ModelSpec, device: int, precision: str, source: str):
        self._host: list[int] = []
        self._dev: list[int] = []
        self.stream = None
        self.trt = trt = import_tensorrt()
        self.rt = rt = import_cudart()
        self.model, self.device, self.precision, self.source = model, device, precision, source
        self.gpu = require_gpu(device)  # never create a TensorRT runtime without a GPU
        check(rt, rt.cudaSetDevice(device))
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(engine)
        if self.engine is None:
            raise LprRayError("TensorRT could not deserialize the engine (built by another TensorRT version?)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        for required in (ENGINE_INPUT, OUTPUT_ARGMAX, OUTPUT_MAX):
            if required not in names:
                raise LprRayError(f"engine lacks tensor {required!r} (has {names}): rebuild it")
        # The profile's max batch: buffers are allocated once for it.
        self.max_batch = int(self.engine.get_tensor_profile_shape(ENGINE_INPUT, 0)[2][0])
        self.steps = int(self.engine.get_tensor_shape(OUTPUT_ARGMAX)[1])
        self.stream = check(rt, rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking))
        self.buffers = {}
        for name, shape in (
            (ENGINE_INPUT, (self.max_batch, MODEL_HEIGHT, MODEL_WIDTH, 3)),
            (OUTPUT_ARGMAX, (self.max_batch, self.steps)),
            (OUTPUT_MAX, (self.max_batch, self.steps)),
        ):
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            nbytes = int(np.prod(shape)) * dtype.itemsize
            hptr = int(check(rt, rt.cudaMallocHost(nbytes)))
            self._host.append(hptr)
            dptr = int(check(rt, rt.cudaMalloc(nbytes)))
            self._dev.append(dptr)
            self.buffers[name] = (host_array(hptr, shape, dtype), int(dptr))
            if not self.context.set_tensor_address(name, int(dptr)):
                raise LprRayError(f"TensorRT refused the address of tensor {name!r}")

    def _run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rt, n = self.rt, len(images)
        if self.stream is None:
            raise LprRayError("TensorRT runner used before load() or after close()")
        stream = int(self.stream)
        h_in, d_in = self.buffers[ENGINE_INPUT]
        np.copyto(h_in[:n], images)
        check(rt, rt.cudaMemcpyAsync(d_in, h_in.ctypes.data, images.nbytes, rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream))
        if not self.context.set_input_shape(ENGINE_INPUT, (n, MODEL_HEIGHT, MODEL_WIDTH, 3)):
            raise LprRayError(f"TensorRT refused batch {n} (engine profile max {self.max_batch})")
        if not self.context.execute_async_v3(stream):
            raise LprRayError("TensorRT execute_async_v3 failed (see its log)")
        outs = []
        for name in (OUTPUT_ARGMAX, OUTPUT_MAX):
            h, d = self.buffers[name]
            nbytes = n * self.steps * h.itemsize
            check(rt, rt.cudaMemcpyAsync(h.ctypes.data, d, nbytes, rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream))
            outs.append(h)
        check(rt, rt.cudaStreamSynchronize(stream))
        best, prob = outs
        return best[:n].astype(np.int32), prob[:n].astype(np.float32)  # copies: buffers are reused

    def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if images.dtype != np.uint8 or images.shape[1:] != (MODEL_HEIGHT, MODEL_WIDTH, 3):
            raise ValueError(f"expected uint8 [N, {MODEL_HEIGHT}, {MODEL_WIDTH}, 3], got {images.dtype} {images.shape}")
        # Ray may call from another thread than __init__: make the primary context current.
        check(self.rt, self.rt.cudaSetDevice(self.device))
        parts = [self._run(images[i : i + self.max_batch]) for i in range(0, len(images), self.max_batch)]
        if not parts:
            return np.zeros((0, self.steps), np.int32), np.zeros((0, self.steps), np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def describe(self) -> str:
        return (
            f"tensorrt {self.trt.__version__} {self.precision} on {self.gpu.describe()}, max batch "
            f"{self.max_batch}, engine from {self.source}, model {self.model.tag}"
        )

    def close(self) -> None:
        rt = self.rt
        for attr in ("context", "engine", "runtime"):
            if hasattr(self, attr):
                delattr(self, attr)  # before freeing the memory they point at
        for ptr in self._dev:
            rt.cudaFree(ptr)
        for ptr in self._host:
            rt.cudaFreeHost(ptr)
        self._dev, self._host = [], []
        if self.stream is not None:
            rt.cudaStreamDestroy(self.stream)
            self.stream = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing useful to do
            pass


def profile_for(options: BackendOptions) -> Profile:
    """The job's profile: opt = its batch size (`lpr-ray build-engine`'s defaults match)."""
    batch = int(options.batch_size or DEFAULT_BATCH)
    max_batch = int(os.environ.get("LPR_RAY_TRT_MAX_BATCH", batch))
    min_batch = int(os.environ.get("LPR_RAY_TRT_MIN_BATCH", 1))
    return Profile(min(min_batch, batch), batch, max(batch, max_batch))


def create(model: ModelSpec, options: BackendOptions) -> TensorRTBackend:
    trt = import_tensorrt()
    device = parse_device(options.device)
    gpu = require_gpu(device)
    precision = options.precision if options.precision in ("fp16", "fp32") else "fp16"
    profile = profile_for(options)
    cache = EngineCache(remote=options.engine_cache)
    key = engine_key(model, trt.__version__, gpu, precision, profile)
    engine, source = cache.get_or_build(
        key, lambda: build_engine(model.onnx_path, precision=precision, profile=profile, device=device)
    )
    return TensorRTBackend(engine, model, device, precision, source)
