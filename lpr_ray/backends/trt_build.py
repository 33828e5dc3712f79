"""ONNX -> serialized TensorRT engine (the builder; the runner is `tensorrt.py`).

The engine does not take the contract's float32 NCHW input: a few nodes put in front of the
model take uint8 NHWC plates (what the pipeline ships: a quarter of the bytes) and do the
contract's normalisation on the GPU (transpose, cast, x / 255). FP16: TensorRT 10 takes the
FP16 builder flag on the FP32 graph; TensorRT 11 builds only strongly typed networks, so the
graph itself is converted to FP16 first (`fp16.py`). One optimization profile covers the
dynamic batch: min/opt/max, opt being the job's batch size.

Nothing here touches TensorRT or CUDA until `build_engine`, which probes for a GPU first:
creating a TensorRT builder on a machine without one crashes the process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lpr_ray.core.errors import LprRayError, require
from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH
from lpr_ray.core.model import INPUT_NAME, OUTPUT_ARGMAX, OUTPUT_MAX

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

ENGINE_INPUT = "image_uint8_nhwc"
PRECISIONS = ("fp16", "fp32")
# Bump when the graph handed to TensorRT changes: engines built before no longer match.
GRAPH_REVISION = 1


@dataclass(frozen=True)
class Profile:
    min_batch: int = 1
    opt_batch: int = 128
    max_batch: int = 128

    def __post_init__(self) -> None:
        if not 1 <= self.min_batch <= self.opt_batch <= self.max_batch:
            raise LprRayError(
                f"optimization profile needs 1 <= min <= opt <= max, got "
                f"min={self.min_batch} opt={self.opt_batch} max={self.max_batch}"
            )

    def shape(self, n: int) -> tuple[int, int, int, int]:
        return (n, MODEL_HEIGHT, MODEL_WIDTH, 3)


@dataclass(frozen=True)
class BuildPlan:
    strongly_typed: bool  # network created with STRONGLY_TYPED (types come from the ONNX)
    fp16_flag: bool  # BuilderFlag.FP16 (TensorRT 10's weak typing)
    fp16_onnx: bool  # convert the graph to FP16 before parsing


def trt_major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError as exc:
        raise LprRayError(f"cannot read the TensorRT version {version!r}") from exc


def plan_build(trt_version: str, precision: str) -> BuildPlan:
    if precision not in PRECISIONS:
        raise LprRayError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    major = trt_major(trt_version)
    if major < 10:
        raise LprRayError(f"TensorRT {trt_version} is too old: lpr-ray needs TensorRT 10 or 11")
    fp16 = precision == "fp16"
    if major == 10:
        return BuildPlan(strongly_typed=False, fp16_flag=fp16, fp16_onnx=False)
    return BuildPlan(strongly_typed=True, fp16_flag=False, fp16_onnx=fp16)


def add_uint8_nhwc_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace the float32 NCHW `image_input` by uint8 NHWC `image_uint8_nhwc` + normalisation."""
    onnx = require("onnx", "tensorrt")
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inputs = [i for i in graph.input if i.name == INPUT_NAME]
    if not inputs:
        raise LprRayError(f"the model has no input {INPUT_NAME!r}")
    graph.input.remove(inputs[0])
    scale = numpy_helper.from_array(np.array(1.0 / 255.0, dtype=np.float32), f"{ENGINE_INPUT}__scale")
    graph.initializer.append(scale)
    pre = [
        helper.make_node("Cast", [ENGINE_INPUT], [f"{ENGINE_INPUT}__f32"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", [f"{ENGINE_INPUT}__f32"], [f"{ENGINE_INPUT}__nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Mul", [f"{ENGINE_INPUT}__nchw", scale.name], [INPUT_NAME]),
    ]
    nodes = pre + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.input.insert(
        0, helper.make_tensor_value_info(ENGINE_INPUT, TensorProto.UINT8, ["N", MODEL_HEIGHT, MODEL_WIDTH, 3])
    )
    # Only the contract's outputs: extra ones (the full softmax) would be copied for nothing.
    keep = [o for o in graph.output if o.name in (OUTPUT_ARGMAX, OUTPUT_MAX)]
    if len(keep) != 2:
        raise LprRayError(f"the model lacks {OUTPUT_ARGMAX!r} or {OUTPUT_MAX!r}")
    del graph.output[:]
    graph.output.extend(keep)
    onnx.checker.check_model(model)
    return model


def prepare_onnx(model: onnx.ModelProto, plan: BuildPlan) -> onnx.ModelProto:
    """The graph TensorRT parses: FP16 when the plan says so, then the uint8 NHWC front."""
    if plan.fp16_onnx:
        from lpr_ray.backends.fp16 import convert_to_fp16

        model = convert_to_fp16(model)
    return add_uint8_nhwc_input(model)


def build_engine(
    onnx_path: str,
    *,
    precision: str = "fp16",
    profile: Profile | None = None,
    workspace_mb: int = 2048,
    device: int = 0,
) -> bytes:
    """Build and serialize an engine for the GPU `device` of this node (minutes on a T4)."""
    from lpr_ray.backends.gpu_probe import check, import_cudart, require_gpu
    from lpr_ray.backends.tensorrt import import_tensorrt

    trt = import_tensorrt()
    onnx = require("onnx", "tensorrt")
    gpu = require_gpu(device)  # before any TensorRT object: without a GPU they crash
    rt = import_cudart()
    check(rt, rt.cudaSetDevice(device))
    profile = profile or Profile()
    plan = plan_build(trt.__version__, precision)
    graph = prepare_onnx(onnx.load(onnx_path), plan)
    log.info("building a TensorRT %s %s engine for %s, batch %s", trt.__version__, precision, gpu.describe(), profile)

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)  # implied on TRT 11
    if plan.strongly_typed and typed is not None:
        flags = 1 << int(typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(graph.SerializeToString()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise LprRayError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if plan.fp16_flag:
        config.set_flag(trt.BuilderFlag.FP16)
    opt = builder.create_optimization_profile()
    opt.set_shape(ENGINE_INPUT, profile.shape(profile.min_batch), profile.shape(profile.opt_batch), profile.shape(profile.max_batch))
    config.add_optimization_profile(opt)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise LprRayError(f"TensorRT failed to build an engine from {onnx_path} (see its log above)")
    return bytes(serialized)
