"""ONNX Runtime on the CPU: runs any model that honours NVIDIA's LPRNet contract."""

from __future__ import annotations

import numpy as np

from lpr_ray.backends.base import BackendOptions
from lpr_ray.core.errors import LprRayError, require
from lpr_ray.core.image import to_model_input
from lpr_ray.core.model import INPUT_NAME, OUTPUT_ARGMAX, OUTPUT_MAX, OUTPUT_SOFTMAX, ModelSpec


def is_available() -> tuple[bool, str]:
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return False, f"onnxruntime is not installed ({exc})"
    return True, "onnxruntime (CPU)"


def check_contract(session) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    problems = []
    if INPUT_NAME not in inputs:
        problems.append(f"input {INPUT_NAME!r} missing (has {sorted(inputs)})")
    else:
        shape = inputs[INPUT_NAME].shape
        if len(shape) != 4 or list(shape[1:]) != [3, 48, 96]:
            problems.append(f"input {INPUT_NAME!r} has shape {shape}, expected [N, 3, 48, 96]")
    for name in (OUTPUT_ARGMAX, OUTPUT_MAX):
        if name not in outputs:
            problems.append(f"output {name!r} missing (has {sorted(outputs)})")
    if problems:
        raise LprRayError(
            "the model does not follow NVIDIA's LPRNet contract: " + "; ".join(problems)
        )


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, model: ModelSpec, options: BackendOptions):
        ort = require("onnxruntime", "core")
        so = ort.SessionOptions()
        # One intra-op thread per actor by default: actors sharing a node then share its
        # cores instead of each spawning a thread per core.
        so.intra_op_num_threads = max(0, options.threads)
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between ops: in the job the actor shares its cores with fetch
        # tasks and Ray, and spinning threads took their time (recogniser 420 -> 335 µs per
        # plate inside the job on 2 cores; no change alone; BENCHMARKS.md "Pipeline").
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.threads = options.threads
        try:
            self.session = ort.InferenceSession(
                model.onnx_path, sess_options=so, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own, unexported types
            raise LprRayError(f"ONNX Runtime cannot load {model.onnx_path}: {exc}") from exc
        check_contract(self.session)
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.has_probs = OUTPUT_SOFTMAX in outputs
        classes = outputs[OUTPUT_SOFTMAX].shape[-1] if self.has_probs else None
        if isinstance(classes, int) and classes != model.charset.num_classes:
            # NVIDIA's models say nothing of their classes; a mismatched list then fails in
            # decoding, or reads the blank as a character when the list is longer.
            raise LprRayError(
                f"model {model.onnx_path} scores {classes} classes (characters + blank) but its "
                f"characters_list has {len(model.charset.characters)} characters "
                f"({model.charset.num_classes} classes): use the characters_list the model was trained with"
            )
        self.model = model

    def _open(self):
        if self.session is None:
            raise LprRayError("the onnxruntime backend was closed; load a new one")
        return self.session

    def infer(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = to_model_input(images)
        best, prob = self._open().run([OUTPUT_ARGMAX, OUTPUT_MAX], {INPUT_NAME: x})
        return best.astype(np.int32, copy=False), prob.astype(np.float32, copy=False)

    def infer_probs(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, 48, 96, 3] RGB -> float32 [N, T, C] every class's probability."""
        if not self.has_probs:
            raise LprRayError(
                f"model {self.model.onnx_path} has no {OUTPUT_SOFTMAX!r} output (per-class "
                "probabilities), which --decode grammar needs; models written by `lpr-ray export` "
                "have it. Use --decode greedy with this model"
            )
        (probs,) = self._open().run([OUTPUT_SOFTMAX], {INPUT_NAME: to_model_input(images)})
        return probs.astype(np.float32, copy=False)

    def close(self) -> None:
        self.session = None  # ONNX Runtime frees the session's memory with its last reference

    def describe(self) -> str:
        return f"onnxruntime CPU fp32, {self.threads or 'all'} thread(s), model {self.model.tag}"


def create(model: ModelSpec, options: BackendOptions) -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend(model, options)
