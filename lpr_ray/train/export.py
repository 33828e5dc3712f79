"""Export a trained checkpoint to an ONNX model that honours NVIDIA's LPRNet contract.

The graph takes `image_input` float32 [N, 3, 48, 96] (RGB / 255) and returns
`tf_op_layer_ArgMax` int32 [N, 24], `tf_op_layer_Max` float32 [N, 24] and, for calibration,
the full `softmax` float32 [N, 24, C]; N is dynamic. BatchNorm is folded into the convs
(eval-mode export). After writing, the export checks itself: ONNX Runtime and PyTorch must
agree on the probabilities and on every decoded plate of a validation batch, else it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lpr_ray.core.charset import Charset
from lpr_ray.core.decode import ctc_greedy_decode
from lpr_ray.core.errors import LprRayError, require
from lpr_ray.core.model import INPUT_NAME, OUTPUT_ARGMAX, OUTPUT_MAX, OUTPUT_SOFTMAX

DEFAULT_OPSET = 17
# ORT and torch run the same float32 maths in a different order: probabilities agree to
# about 1e-6; anything near this bound means a broken export, not rounding.
MAX_PROB_DIFF = 1e-3


def contract_module(model, temperature: float = 1.0):
    """Wrap a logits model [N, 24, C] into the contract's (argmax int32, max, softmax).

    `temperature` divides the logits before the softmax: it calibrates the probabilities and
    never changes an argmax."""
    torch = require("torch", "train")

    class ContractHead(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, image_input):
            logits = self.inner(image_input)
            if temperature != 1.0:
                logits = logits * (1.0 / temperature)
            probs = torch.softmax(logits, dim=-1)
            top, best = torch.max(probs, dim=-1)
            return best.to(torch.int32), top, probs

    return ContractHead(model).eval()


def export_onnx(model, path: str | os.PathLike, opset: int = DEFAULT_OPSET, temperature: float = 1.0) -> None:
    """Write `model` (eval mode, CPU) as ONNX with the contract's names and a dynamic batch."""
    torch = require("torch", "train")
    require("onnx", "train")
    wrapped = contract_module(model.cpu().eval(), temperature)
    dummy = torch.zeros(2, 3, 48, 96)
    path = Path(path)
    tmp = path.with_suffix(".onnx.tmp")
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter's deprecation and LSTM tracing notes are not actionable.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_ARGMAX, OUTPUT_MAX, OUTPUT_SOFTMAX],
            dynamic_axes={
                INPUT_NAME: {0: "N"},
                OUTPUT_ARGMAX: {0: "N"},
                OUTPUT_MAX: {0: "N"},
                OUTPUT_SOFTMAX: {0: "N"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    import onnx

    proto = onnx.load(str(tmp))
    onnx.checker.check_model(proto)
    proto.doc_string = "LPRNet (NVIDIA contract) exported by lpr-ray"
    onnx.save(proto, str(tmp))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Verification:
    samples: int
    max_prob_diff: float
    argmax_mismatches: int
    plate_mismatches: int
    batch_sizes: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "samples": self.samples,
            "max_prob_diff": self.max_prob_diff,
            "argmax_mismatches": self.argmax_mismatches,
            "plate_mismatches": self.plate_mismatches,
            "batch_sizes": list(self.batch_sizes),
        }


def verify_onnx(
    model, onnx_path: str, images: np.ndarray, charset: Charset, temperature: float = 1.0
) -> Verification:
    """Run `images` (uint8 [N, 48, 96, 3]) through torch and ORT; raise if they disagree.

    Checks several batch sizes (1, 7 and all) so the dynamic batch axis is exercised.
    """
    torch = require("torch", "train")
    ort = require("onnxruntime", "core")
    from lpr_ray.core.image import to_model_input

    x = to_model_input(images)
    with torch.no_grad():
        t_best, t_top, t_probs = (o.numpy() for o in contract_module(model.cpu().eval(), temperature)(torch.from_numpy(x)))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, sess_options=so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    for required in (OUTPUT_ARGMAX, OUTPUT_MAX):
        if required not in names:
            raise LprRayError(f"exported ONNX lacks output {required!r} (has {names})")
    n = len(x)
    sizes = sorted({1, min(7, n), n})
    parts = {b: [] for b in sizes}
    for b in sizes:
        for i in range(0, n, b):
            parts[b].append(sess.run([OUTPUT_ARGMAX, OUTPUT_MAX, OUTPUT_SOFTMAX], {INPUT_NAME: x[i : i + b]}))
    max_diff = 0.0
    argmax_mis = plate_mis = 0
    t_reads = [r.plate for r in ctc_greedy_decode(t_best, t_top, charset.characters)]
    for b in sizes:
        o_best = np.concatenate([p[0] for p in parts[b]])
        o_top = np.concatenate([p[1] for p in parts[b]])
        o_probs = np.concatenate([p[2] for p in parts[b]])
        if o_best.dtype != np.int32 or o_best.shape != (n, t_best.shape[1]):
            raise LprRayError(f"ONNX {OUTPUT_ARGMAX} is {o_best.dtype} {o_best.shape}, expected int32 [N, 24]")
        max_diff = max(max_diff, float(np.abs(o_probs - t_probs).max()), float(np.abs(o_top - t_top).max()))
        argmax_mis += int((o_best != t_best).sum())
        o_reads = [r.plate for r in ctc_greedy_decode(o_best, o_top, charset.characters)]
        plate_mis += sum(a != b_ for a, b_ in zip(t_reads, o_reads, strict=True))
    v = Verification(n, max_diff, argmax_mis, plate_mis, tuple(sizes))
    if max_diff > MAX_PROB_DIFF or plate_mis:
        raise LprRayError(
            f"ONNX export check failed: ONNX Runtime and PyTorch disagree (max |prob diff| "
            f"{max_diff:.2e}, {argmax_mis} argmax and {plate_mis} decoded-plate mismatches over "
            f"{n} images x batch sizes {sizes})"
        )
    return v


def _validation_images(val_tao: str | None, charset: Charset, n_synth: int, seed: int) -> np.ndarray:
    from lpr_ray.train.data import synthetic_validation_set

    parts = []
    if val_tao:
        from lpr_ray.core.dataset import load_tao_arrays

        parts.append(load_tao_arrays(val_tao, charset)[0])
    if n_synth:
        try:
            parts.append(synthetic_validation_set(n_synth, seed, charset)[0])
        except LprRayError:
            if not parts:
                raise
    if not parts:
        raise LprRayError("no validation images to check the export with")
    return np.concatenate(parts)


def export_checkpoint(
    checkpoint: str,
    out_dir: str,
    *,
    val_tao: str | None = None,
    val_synthetic: int = 256,
    opset: int = DEFAULT_OPSET,
    include_checkpoint: bool = False,
    temperature: float | str = 1.0,
    calibration_synthetic: int = 2000,
) -> dict:
    """checkpoint (.pt from `lpr-ray train`) -> out_dir/{model.onnx, characters_list.txt, config.json}."""
    from lpr_ray.train.checkpoint import load_model_from_checkpoint

    model, ckpt = load_model_from_checkpoint(checkpoint)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise LprRayError(f"--out {out} exists and is not a folder: expected a model folder to write")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _export(model, ckpt, checkpoint, out, val_tao, val_synthetic, opset, include_checkpoint,
                       temperature, calibration_synthetic)
    except BaseException:
        if created:  # a failed export leaves nothing behind that looks like a model folder
            shutil.rmtree(out, ignore_errors=True)
        raise


def _export(model, ckpt, checkpoint, out: Path, val_tao, val_synthetic, opset, include_checkpoint,
            temperature, calibration_synthetic) -> dict:
    from lpr_ray.models.flops import describe

    charset = Charset(tuple(ckpt["characters"]))
    config = dict(ckpt.get("config", {}))
    calibration = None
    if temperature == "auto":
        temperature, calibration = _calibrate(model, charset, calibration_synthetic, config)
    temperature = float(temperature)
    # Every file is made and checked in a temporary folder inside `out`, then moved into place
    # (same filesystem: each move is atomic), the ONNX file last: a failure while exporting
    # leaves the previous model whole. Only the moves themselves, microseconds apart, are not
    # one atomic step.
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        staged = Path(tmp)
        try:
            export_onnx(model, staged / "model.onnx", opset=opset, temperature=temperature)
        except Exception as exc:  # noqa: BLE001 - torch.onnx and onnx raise many types
            raise LprRayError(f"cannot export to ONNX with opset {opset}: {exc}") from exc
        images = _validation_images(val_tao, charset, val_synthetic, int(config.get("val_seed", 7919)))
        verification = verify_onnx(model, str(staged / "model.onnx"), images, charset, temperature)
        (staged / "characters_list.txt").write_text(charset.to_text(), encoding="utf-8")
        info = {
            "arch": ckpt["arch"],
            "epoch": ckpt.get("epoch"),
            # Set when the weights are an average of epochs (lpr-ray average).
            "averaged": ckpt.get("averaged"),
            "metrics": ckpt.get("metrics", {}),
            "opset": opset,
            "blank": charset.blank,
            "num_classes": charset.num_classes,
            "inputs": {INPUT_NAME: "float32 [N, 3, 48, 96] RGB / 255"},
            "outputs": {
                OUTPUT_ARGMAX: "int32 [N, 24]",
                OUTPUT_MAX: "float32 [N, 24]",
                OUTPUT_SOFTMAX: "float32 [N, 24, C]",
            },
            "verification": verification.to_dict(),
            "temperature": temperature,
            "calibration": calibration,
            **describe(model),
            "train_config": config,
        }
        (staged / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        names = ["characters_list.txt", "config.json"]
        if include_checkpoint:
            from lpr_ray.train.checkpoint import save_weights_only

            save_weights_only(checkpoint, staged / "model.pt")
            names.append("model.pt")
        if not include_checkpoint:  # a previous model's would be taken for this one's by --init-from
            (out / "model.pt").unlink(missing_ok=True)
        for name in [*names, "model.onnx"]:
            os.replace(staged / name, out / name)
    return info


def _calibrate(model, charset: Charset, n: int, config: dict) -> tuple[float, dict]:
    """Fit the softmax temperature on held-out synthetic plates (a seed distinct from both
    training and the validation seed), never on real validation data."""
    from lpr_ray.train.calibrate import fit_temperature, logits_of
    from lpr_ray.train.data import synthetic_validation_set

    seed = int(config.get("val_seed", 7919)) + 104_729
    images, labels = synthetic_validation_set(n, seed, charset)
    t, info = fit_temperature(logits_of(model, images), labels, charset.characters)
    return t, {"synthetic_plates": n, "synthetic_seed": seed, **info}
