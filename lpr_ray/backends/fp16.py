"""FP32 ONNX -> FP16 ONNX with the model's inputs and outputs left as they are.

TensorRT 11 builds only strongly typed networks: the precision is whatever the ONNX says, so
FP16 needs an FP16 graph. Every float32 tensor inside the graph (initializers, Constant
nodes, Casts to float) becomes float16; a Cast after each float32 graph input and before
each float32 graph output keeps the contract's types (float32 `image_input` in, int32
`tf_op_layer_ArgMax` and float32 `tf_op_layer_Max` out). Inputs that ONNX requires to be
float32 whatever the data type (Resize scales, ...) stay float32.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lpr_ray.core.errors import LprRayError

FP16_MAX = 65504.0
# (op_type, input index) pairs that are tensor(float) in the ONNX spec whatever T is.
KEEP_FLOAT32_INPUTS = {("Resize", 2), ("Upsample", 1)}


def _fp16_tensor(t: TensorProto) -> TensorProto:
    arr = numpy_helper.to_array(t)
    # Clip instead of overflowing to inf; weights this large do not occur in LPRNet models.
    out = np.clip(arr, -FP16_MAX, FP16_MAX).astype(np.float16)
    return numpy_helper.from_array(out, t.name)



def _rename(graph, old: str, new: str, *, outputs: bool) -> None:
    """Point every node input (and, with outputs=True, node output) named `old` at `new`."""
    for node in graph.node:
        fields = (node.input, node.output) if outputs else (node.input,)
        for names in fields:
            for j, name in enumerate(names):
                if name == old:
                    names[j] = new

def _keep_float32_names(graph: onnx.GraphProto) -> set[str]:
    keep = set()
    for node in graph.node:
        for op, idx in KEEP_FLOAT32_INPUTS:
            if node.op_type == op and len(node.input) > idx and node.input[idx]:
                keep.add(node.input[idx])
    return keep


def convert_to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """A new float16 model; graph inputs and outputs keep their types and names."""
    model = onnx.ModelProto.FromString(model.SerializeToString())  # never edit the caller's
    graph = model.graph
    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise LprRayError(
                f"FP16 conversion does not handle subgraphs ({node.op_type} node {node.name!r}); "
                "convert the model with NVIDIA ModelOpt AutoCast instead"
            )
    keep = _keep_float32_names(graph)
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            graph.initializer[i].CopyFrom(_fp16_tensor(init))
    for node in graph.node:
        if node.op_type == "Cast":
            for a in node.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT:
                    a.i = TensorProto.FLOAT16
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                if not any(o in keep for o in node.output):
                    a.t.CopyFrom(_fp16_tensor(a.t))

    new_nodes = []
    init_names = {i.name for i in graph.initializer}
    for inp in graph.input:
        if inp.name in init_names or inp.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = f"{inp.name}__fp16"
        _rename(graph, inp.name, inner, outputs=False)
        new_nodes.append(helper.make_node("Cast", [inp.name], [inner], to=TensorProto.FLOAT16, name=f"{inner}_cast"))
    out_nodes = []
    for out in graph.output:
        if out.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = f"{out.name}__fp16"
        _rename(graph, out.name, inner, outputs=True)  # an output may also feed other nodes
        out_nodes.append(helper.make_node("Cast", [inner], [out.name], to=TensorProto.FLOAT, name=f"{inner}_cast"))
    nodes = new_nodes + list(graph.node) + out_nodes
    del graph.node[:]
    graph.node.extend(nodes)
    # Intermediate types changed: drop the stale annotations and let shape inference redo them.
    del graph.value_info[:]
    model.doc_string = (model.doc_string + " [float16 by lpr-ray]").strip()
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(inferred)
    return inferred
