"""`ppocr_v4`: PP-OCRv4's real-text weights from the rapidocr wheel, behind NVIDIA's contract.

Runs against the real wheel's ONNX file (`make setup` installs rapidocr 3.4.5 without its
dependencies); the PyTorch re-implementation must compute what ONNX Runtime computes."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from lpr_ray.core.charset import CN, US  # noqa: E402
from lpr_ray.core.errors import LprRayError  # noqa: E402
from lpr_ray.models import create_model  # noqa: E402
from lpr_ray.models import pretrained as P  # noqa: E402

try:
    WEIGHTS = P.find_weights()
except LprRayError as exc:  # pragma: no cover - make setup installs it
    pytest.skip(f"rapidocr's model file is not installed: {exc}", allow_module_level=True)


def _full_head_model():
    """ppocr_v4 with PP-OCR's whole dictionary as classes (blank last, as lpr-ray keeps it)."""
    tensors, chars = P.onnx_tensors(WEIGHTS)
    model = create_model("ppocr_v4", len(chars) + 2).eval()
    P.load_pretrained(model, [*chars, " "])
    head_w = dict(tensors)["linear_85.w_0"]
    head_b = dict(tensors)["linear_85.b_0"]
    with torch.no_grad():  # PP-OCR's space class, which has no character to map by
        model.classifier.weight[len(chars)] = torch.from_numpy(head_w[:, len(chars) + 1].copy())
        model.classifier.bias[len(chars)] = float(head_b[len(chars) + 1])
    return model


def test_pytorch_layers_compute_what_the_wheels_onnx_computes():
    model = _full_head_model()
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 48, 192)).astype(np.float32)
    ref = ort.InferenceSession(WEIGHTS, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with torch.no_grad():
        probs = model.classifier(model.features(torch.from_numpy(x)).transpose(1, 2)).softmax(-1).numpy()
    ours = np.concatenate([probs[..., -1:], probs[..., :-1]], axis=-1)  # PP-OCR's blank is class 0
    assert ours.shape == ref.shape == (3, 24, ref.shape[-1])
    assert np.abs(ours - ref).max() < 1e-4


@pytest.mark.parametrize("charset", [US, CN], ids=["us", "cn"])
def test_every_plate_character_keeps_its_pretrained_row(charset):
    model = create_model("ppocr_v4", charset.num_classes)
    assert P.load_pretrained(model, charset.characters) == []
    tensors, chars = P.onnx_tensors(WEIGHTS)
    head = dict(tensors)["linear_85.w_0"]
    row = chars.index(charset.characters[-1]) + 1
    assert np.allclose(model.classifier.weight[-2].detach().numpy(), head[:, row])
    assert np.allclose(model.classifier.weight[-1].detach().numpy(), head[:, 0])  # the blank


def test_reads_plates_before_any_fine_tuning():
    """The point of real-text weights: a crop of a plate is read at once (contract input)."""
    from lpr_ray.core.decode import ctc_greedy_decode
    from lpr_ray.synth import render_batch

    model = create_model("ppocr_v4", US.num_classes).eval()
    P.load_pretrained(model, US.characters)
    images, labels = render_batch(31337, 64)
    with torch.no_grad():
        probs = model(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255).softmax(-1)
    top, best = probs.max(-1)
    reads = ctc_greedy_decode(best.numpy().astype(np.int32), top.numpy(), US.characters)
    correct = sum(r.plate == lab for r, lab in zip(reads, labels, strict=True))
    assert correct >= 40, correct  # 84.7% of 2000 in the candidates' comparison


def test_weights_come_from_a_wheel_file_too(tmp_path):
    whl = tmp_path / "rapidocr-3.4.5-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(f"rapidocr/models/{P.ONNX_NAME}", WEIGHTS)
    assert P.find_weights(whl) == WEIGHTS
    empty = tmp_path / "other.whl"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("x/y.txt", "")
    with pytest.raises(LprRayError, match="holds no ch_PP-OCRv4_rec_infer.onnx"):
        P.find_weights(empty)
    with pytest.raises(LprRayError, match="do not exist"):
        P.find_weights(tmp_path / "missing.onnx")
    other = tmp_path / "other.onnx"
    other.write_bytes(WEIGHTS[:-1] + b"\0")
    with pytest.raises(LprRayError, match="not the PP-OCRv4 recogniser lpr-ray was built on"):
        P.find_weights(other)


def test_freeze_keeps_the_stem_and_first_blocks_and_their_batchnorm():
    model = create_model("ppocr_v4", US.num_classes)
    model.freeze(6)
    model.train()
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all(n.startswith(("stem.", *(f"blocks.{i}." for i in range(6)))) for n in frozen)
    assert all(p.requires_grad for n, p in model.named_parameters() if n.startswith("blocks.6."))
    assert not model.stem[1].training and model.blocks[6].training
    before = model.stem[1].running_mean.clone()
    model(torch.rand(4, 3, 48, 96))
    assert torch.equal(model.stem[1].running_mean, before)
    with pytest.raises(ValueError, match="0..14"):
        model.freeze(15)
