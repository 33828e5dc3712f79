"""PyTorch: FP16 on a CUDA GPU when TensorRT is not installed, or FP32 on the CPU.

Needs the PyTorch checkpoint `model.pt` beside `model.onnx` (`lpr-ray export
--with-checkpoint` writes it). At load it is checked against the ONNX model on a few fixed
images, so a stale model.pt fails loudly instead of reading plates differently.

Batches arrive as uint8 NHWC (a quarter of float32's bytes) and are normalised on the
device: transpose to NCHW (channels_last strides, which cuDNN prefers), cast, x / 255,
exactly the contract's arithmetic. On CUDA the model runs in FP16 with channels_last
weights, and full batches replay a captured CUDA graph (no per-layer launch overhead);
softmax/max run in float32 either way.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from pathlib import Path

import numpy as np

from lpr_ray.backends.base import BackendOptions
from lpr_ray.core.errors import LprRayError, require
from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH
from lpr_ray.core.model import ModelSpec

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "model.pt"
# Probability agreement with ONNX Runtime at load (both FP32 on the CPU): export checks 1e-3.
MAX_LOAD_DIFF = 1e-3


def is_available() -> tuple[bool, str]:
    if importlib.util.find_spec("torch") is None:
        return False, "torch is not installed (pip install 'lpr-ray[torch]')"
    import torch

    if torch.cuda.is_available():
        return True, f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"
    return True, f"torch {torch.__version__} on the CPU (no CUDA GPU)"


def prefer_in_auto() -> bool:
    """`--backend auto` picks torch only on a CUDA GPU; on the CPU ONNX Runtime is faster."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def checkpoint_path(model: ModelSpec) -> Path:
    return Path(model.onnx_path).parent / CHECKPOINT_NAME


def load_module(model: ModelSpec):
    """The checkpoint beside the ONNX as an eval-mode CPU module (characters checked)."""
    path = checkpoint_path(model)
    if not path.exists():
        raise LprRayError(
            f"the torch backend needs the PyTorch checkpoint {path} beside {model.onnx_path} "
            "(write it with `lpr-ray export --with-checkpoint`), or use --backend onnxruntime"
        )
    from lpr_ray.models.checkpoint import load_model_from_checkpoint

    module, ckpt = load_model_from_checkpoint(path)
    if tuple(ckpt["characters"]) != tuple(model.charset.characters):
        raise LprRayError(
            f"{path} was trained on other characters than {model.onnx_path}'s characters_list.txt"
        )
    return module


def check_against_onnx(module, model: ModelSpec, head) -> float:
    """Max |prob difference| with ONNX Runtime on fixed images; raise if they disagree."""
    torch = require("torch", "torch")
    from lpr_ray.backends.onnxruntime import OnnxRuntimeBackend

    images = np.random.default_rng(12345).integers(0, 256, (4, MODEL_HEIGHT, MODEL_WIDTH, 3), dtype=np.uint8)
    o_best, o_prob = OnnxRuntimeBackend(model, BackendOptions(threads=1)).infer(images)
    with torch.inference_mode():
        t_best, t_prob = head(torch.from_numpy(images))
    diff = float(np.abs(o_prob - t_prob.numpy()).max())
    if diff > MAX_LOAD_DIFF:
        raise LprRayError(
            f"{checkpoint_path(model)} does not compute what {model.onnx_path} computes (max |prob "
            f"diff| {diff:.1e} on test images): it is not that model's checkpoint; re-export both"
        )
    return diff


def contract_head(module, dtype):
    """uint8 NHWC on the module's device -> (int32 best, float32 prob), the contract's outputs."""
    torch = require("torch", "torch")

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, images):  # uint8 [N, 48, 96, 3]
            x = images.permute(0, 3, 1, 2).to(torch.float32) * (1.0 / 255.0)  # same maths as to_model_input
            logits = self.inner(x.to(dtype))
            top, best = torch.softmax(logits.float(), dim=-1).max(dim=-1)
            return best.to(torch.int32), top

    return Head().eval()


class TorchBackend:
    name = "torch"

    def __init__(self, model: ModelSpec, options: BackendOptions):
        torch = require("torch", "torch")
        self.torch = torch
        self.model = model
        module = load_module(model)
        if options.device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        else:
            device = options.device
        self.device = torch.device(device)
        if self.device.type == "cuda":
            if not torch.cuda.is_available():
                raise LprRayError(f"device {device!r} asked for, but torch sees no CUDA GPU")
            if self.device.index is None:
                self.device = torch.device("cuda", torch.cuda.current_device())
        cpu_head = contract_head(module, torch.float32)
        check_against_onnx(module, model, cpu_head)
        self.batch_size = int(options.batch_size or 128)
        self.graph = None
        if self.device.type == "cpu":
            if options.threads > 0:  # 0: torch's default, every core
                torch.set_num_threads(options.threads)
            self.precision = "fp32"
            self.head = cpu_head
        else:
            self.precision = "fp16" if options.precision == "fp16" else "fp32"
            dtype = torch.float16 if self.precision == "fp16" else torch.float32
            torch.backends.cudnn.benchmark = True
            module = module.to(self.device, dtype=dtype).to(memory_format=torch.channels_last)
            self.head = contract_head(module, dtype)
            self.pinned = torch.empty((self.batch_size, MODEL_HEIGHT, MODEL_WIDTH, 3), dtype=torch.uint8).pin_memory()
            self._capture_graph()

    def _capture_graph(self) -> None:
        """Record one full batch as a CUDA graph; on any failure run eagerly (and say so)."""
        torch = self.torch
        with torch.cuda.device(self.device):
            self.static_in = torch.zeros((self.batch_size, MODEL_HEIGHT, MODEL_WIDTH, 3), dtype=torch.uint8, device=self.device)
            try:
                side = torch.cuda.Stream(self.device)
                side.wait_stream(torch.cuda.current_stream(self.device))
                with torch.inference_mode(), torch.cuda.stream(side):
                    for _ in range(3):  # warm-up: cuDNN autotuning, lazy allocations
                        self.head(self.static_in)
                torch.cuda.current_stream(self.device).wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.inference_mode(), torch.cuda.graph(graph):
                    self.static_out = self.head(self.static_in)
                self.graph = graph
            except Exception as exc:  # noqa: BLE001 - graphs are an optimisation only
                log.warning("torch backend: CUDA graph capture failed (%s); running eagerly", exc)
                self.graph = None

    def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        if images.dtype != np.uint8 or images.shape[1:] != (MODEL_HEIGHT, MODEL_WIDTH, 3):
            raise ValueError(f"expected uint8 [N, {MODEL_HEIGHT}, {MODEL_WIDTH}, 3], got {images.dtype} {images.shape}")
        if self.head is None:
            raise LprRayError("the torch backend was closed; load a new one")
        if self.device.type == "cpu":
            with torch.inference_mode():
                best, prob = self.head(torch.from_numpy(np.ascontiguousarray(images)))
            return best.numpy(), prob.numpy()
        parts = [self._infer_cuda(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]
        if not parts:
            return np.zeros((0, 24), np.int32), np.zeros((0, 24), np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def infer_probs(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, 48, 96, 3] RGB -> float32 [N, T, C] every class's probability (eager, no
        CUDA graph: format-aware decoding is the rarer path)."""
        torch = self.torch
        if images.dtype != np.uint8 or images.shape[1:] != (MODEL_HEIGHT, MODEL_WIDTH, 3):
            raise ValueError(f"expected uint8 [N, {MODEL_HEIGHT}, {MODEL_WIDTH}, 3], got {images.dtype} {images.shape}")
        if self.head is None:
            raise LprRayError("the torch backend was closed; load a new one")
        module = self.head.inner
        dtype = next(module.parameters()).dtype
        where = torch.cuda.device(self.device) if self.device.type == "cuda" else contextlib.nullcontext()
        with where, torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
            x = x.permute(0, 3, 1, 2).to(torch.float32) * (1.0 / 255.0)  # same maths as to_model_input
            probs = torch.softmax(module(x.to(dtype)).float(), dim=-1)
            return probs.cpu().numpy()

    def _infer_cuda(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch, n = self.torch, len(images)
        # Ray calls from another thread than __init__: torch.cuda.device sets this thread's
        # current device (torch uses the device's primary context, valid on any thread).
        with torch.cuda.device(self.device), torch.inference_mode():
            host = self.pinned[:n]
            host.numpy()[...] = images
            if self.graph is not None and n == self.batch_size:
                self.static_in.copy_(host, non_blocking=True)
                self.graph.replay()
                best, prob = self.static_out
            else:
                best, prob = self.head(host.to(self.device, non_blocking=True))
            # .cpu() synchronises: the pinned buffer is free again when this returns.
            return best.cpu().numpy(), prob.cpu().numpy()

    def close(self) -> None:
        # CUDA graph, its static buffers and the pinned input go first; the module last.
        for attr in ("graph", "static_in", "static_out", "pinned", "head"):
            if hasattr(self, attr):
                setattr(self, attr, None)
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()  # hand the freed blocks back to the device

    def describe(self) -> str:
        where = str(self.device)
        if self.device.type == "cuda":
            where += f" {self.torch.cuda.get_device_name(self.device)}"
            where += ", CUDA graph" if self.graph is not None else ", eager"
        else:
            where += f", {self.torch.get_num_threads()} thread(s)"
        return f"torch {self.torch.__version__} {where} {self.precision}, model {self.model.tag}"


def create(model: ModelSpec, options: BackendOptions) -> TorchBackend:
    return TorchBackend(model, options)
