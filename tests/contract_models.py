"""ONNX models that honour NVIDIA's LPRNet contract but share nothing with our architectures.

Built node by node with onnx.helper (no torch): a per-column colour average projected to
class scores. They read nothing useful; they prove that any model with the contract's names
and shapes runs unchanged, with any number of classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STEPS = 24


def build_contract_model(num_classes: int, seed: int = 0, extra_output: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    # Columns (96) -> 24 steps x 4 columns x 3 channels = 12 features per step.
    w = rng.normal(0, 8.0, size=(12, num_classes)).astype(np.float32)
    b = rng.normal(0, 1.0, size=(num_classes,)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w, "W"),
        numpy_helper.from_array(b, "B"),
        numpy_helper.from_array(np.array([0, 3, STEPS, 4], np.int64), "shape1"),
        numpy_helper.from_array(np.array([0, STEPS, 12], np.int64), "shape2"),
        numpy_helper.from_array(np.array([2], np.int64), "axes_h"),
        numpy_helper.from_array(np.array([-1], np.int64), "axes_last"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image_input", "axes_h"], ["cols"], keepdims=0),  # N,3,96
        helper.make_node("Reshape", ["cols", "shape1"], ["steps"]),  # N,3,24,4
        helper.make_node("Transpose", ["steps"], ["steps_t"], perm=[0, 2, 1, 3]),  # N,24,3,4
        helper.make_node("Reshape", ["steps_t", "shape2"], ["feat"]),  # N,24,12
        helper.make_node("MatMul", ["feat", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["softmax"], axis=-1),
        helper.make_node("ArgMax", ["softmax"], ["argmax64"], axis=-1, keepdims=0),
        helper.make_node("Cast", ["argmax64"], ["tf_op_layer_ArgMax"], to=TensorProto.INT32),
        helper.make_node("ReduceMax", ["softmax", "axes_last"], ["tf_op_layer_Max"], keepdims=0),
    ]
    outputs = [
        helper.make_tensor_value_info("tf_op_layer_ArgMax", TensorProto.INT32, ["N", STEPS]),
        helper.make_tensor_value_info("tf_op_layer_Max", TensorProto.FLOAT, ["N", STEPS]),
    ]
    if extra_output:
        outputs.append(helper.make_tensor_value_info("softmax", TensorProto.FLOAT, ["N", STEPS, num_classes]))
    graph = helper.make_graph(
        nodes,
        "contract_test_model",
        [helper.make_tensor_value_info("image_input", TensorProto.FLOAT, ["N", 3, 48, 96])],
        outputs,
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def write_contract_model(folder: Path, characters: list[str], seed: int = 0, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    onnx.save(build_contract_model(len(characters) + 1, seed), str(path))
    (folder / "characters_list.txt").write_text("\n".join(characters) + "\n", encoding="utf-8")
    return path
