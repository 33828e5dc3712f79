"""Export: the contract's names, types and dynamic batch; ONNX Runtime agrees with PyTorch."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from test_train import standin_render  # noqa: E402

from lpr_ray.backends import BackendOptions, load_backend  # noqa: E402
from lpr_ray.core.charset import US  # noqa: E402
from lpr_ray.core.decode import ctc_greedy_decode  # noqa: E402
from lpr_ray.core.errors import LprRayError  # noqa: E402
from lpr_ray.core.model import INPUT_NAME, OUTPUT_ARGMAX, OUTPUT_MAX, resolve_model  # noqa: E402
from lpr_ray.models import create_model  # noqa: E402
from lpr_ray.train import data as tdata  # noqa: E402
from lpr_ray.train.config import TrainConfig  # noqa: E402
from lpr_ray.train.export import export_checkpoint, export_onnx, verify_onnx  # noqa: E402
from lpr_ray.train.loop import train  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(tdata, "render_synthetic", standin_render)
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(
        out=str(out), epochs=1, steps_per_epoch=3, batch_size=8, synthetic=1, val_synthetic=8,
        workers=0, threads=1, log_every=0,
    )
    try:
        train(cfg)
    finally:  # a module-scope patch must not outlive a failed set-up
        mp.undo()
    return out / "best.pt"


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(tdata, "render_synthetic", standin_render)
    out = tmp_path_factory.mktemp("export")
    try:
        info = export_checkpoint(str(checkpoint), str(out), val_synthetic=32, include_checkpoint=True)
    finally:
        mp.undo()
    return out, info


def test_export_writes_contract_names_and_types(exported):
    out, info = exported
    for name in ("model.onnx", "characters_list.txt", "config.json", "model.pt"):
        assert (out / name).exists(), name
    model = onnx.load(str(out / "model.onnx"))
    inputs = {i.name: i for i in model.graph.input}
    outputs = {o.name: o for o in model.graph.output}
    assert list(inputs) == [INPUT_NAME]
    dims = inputs[INPUT_NAME].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 48, 96]
    assert outputs[OUTPUT_ARGMAX].type.tensor_type.elem_type == onnx.TensorProto.INT32
    assert outputs[OUTPUT_MAX].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_value for d in outputs[OUTPUT_ARGMAX].type.tensor_type.shape.dim[1:]] == [24]
    # BatchNorm is folded into the convolutions.
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    saved = json.loads((out / "config.json").read_text())
    assert saved["arch"] == "lprnet_small" and saved["blank"] == 35
    assert saved["verification"]["plate_mismatches"] == 0
    assert info["params"] > 0 and info["flops_per_plate"] > 0


def test_pipeline_backend_runs_the_export_like_torch(exported, checkpoint):
    out, _ = exported
    spec = resolve_model(out)
    assert spec.charset == US
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=1))
    images, _ = standin_render(99, 19)
    best, prob = backend.infer(images)
    assert best.dtype == np.int32 and best.shape == (19, 24) and prob.shape == (19, 24)
    from lpr_ray.train.checkpoint import load_model_from_checkpoint

    model, _ = load_model_from_checkpoint(checkpoint)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        top, tbest = torch.softmax(model(x), -1).max(-1)
    np.testing.assert_allclose(prob, top.numpy(), atol=1e-4)
    a = [r.plate for r in ctc_greedy_decode(best, prob, US.characters)]
    b = [r.plate for r in ctc_greedy_decode(tbest.numpy(), top.numpy(), US.characters)]
    assert a == b


def test_shipped_checkpoint_loads_for_fine_tuning(exported):
    from lpr_ray.train.checkpoint import load_model_from_checkpoint

    out, _ = exported
    model, ckpt = load_model_from_checkpoint(out / "model.pt")
    assert "optimizer" not in ckpt and ckpt["arch"] == "lprnet_small"


def test_verification_fails_loudly_on_a_wrong_model(tmp_path):
    torch.manual_seed(0)
    a = create_model("lprnet_small", US.num_classes).eval()
    b = create_model("lprnet_small", US.num_classes).eval()
    export_onnx(a, tmp_path / "a.onnx")
    images, _ = standin_render(1, 8)
    v = verify_onnx(a, str(tmp_path / "a.onnx"), images, US)
    assert v.max_prob_diff < 1e-4 and v.plate_mismatches == 0
    with pytest.raises(LprRayError, match="disagree"):
        verify_onnx(b, str(tmp_path / "a.onnx"), images, US)


def test_baseline18_exports(tmp_path):
    model = create_model("baseline18", US.num_classes).eval()
    export_onnx(model, tmp_path / "b18.onnx")
    images, _ = standin_render(2, 3)
    v = verify_onnx(model, str(tmp_path / "b18.onnx"), images, US)
    assert v.plate_mismatches == 0


def test_cli_export(checkpoint, tmp_path, monkeypatch):
    from lpr_ray.cli.main import main

    monkeypatch.setattr(tdata, "render_synthetic", standin_render)
    rc = main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "e"), "--val-synthetic", "16"])
    assert rc == 0 and (tmp_path / "e" / "model.onnx").exists()
    rc = main(["export", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "f")])
    assert rc == 2


def test_temperature_changes_confidence_not_reads(tmp_path):
    from lpr_ray.train.calibrate import fit_temperature, logits_of

    torch.manual_seed(1)
    model = create_model("lprnet_small", US.num_classes).eval()
    images, labels = standin_render(3, 12)
    export_onnx(model, tmp_path / "t1.onnx")
    export_onnx(model, tmp_path / "t2.onnx", temperature=2.0)
    verify_onnx(model, str(tmp_path / "t2.onnx"), images, US, temperature=2.0)
    import onnxruntime as ort

    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    a = ort.InferenceSession(str(tmp_path / "t1.onnx")).run(None, {INPUT_NAME: x})
    b = ort.InferenceSession(str(tmp_path / "t2.onnx")).run(None, {INPUT_NAME: x})
    np.testing.assert_array_equal(a[0], b[0])
    assert (b[1] <= a[1] + 1e-6).all()
    t, info = fit_temperature(logits_of(model, images), labels, US.characters)
    assert 0.5 < t <= 3.0 and info["brier"] <= info["brier_at_1"]


def test_a_failed_export_over_a_model_folder_leaves_the_old_model_whole(checkpoint, tmp_path, monkeypatch):
    """The folder a job reads keeps its previous model.onnx, characters list and config when an
    export over it fails late (here: copying the checkpoint, the last file written)."""
    from lpr_ray.core.model import file_sha256
    from lpr_ray.train import checkpoint as ckpt_module

    monkeypatch.setattr(tdata, "render_synthetic", standin_render)
    out = tmp_path / "deployed"
    export_checkpoint(str(checkpoint), str(out), val_synthetic=8, temperature=1.0)
    before = {p.name: file_sha256(str(p)) for p in out.iterdir()}

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt_module, "save_weights_only", disk_full)
    with pytest.raises(OSError, match="No space"):
        export_checkpoint(str(checkpoint), str(out), val_synthetic=8, temperature=2.0, include_checkpoint=True)
    assert {p.name: file_sha256(str(p)) for p in out.iterdir()} == before
    assert json.loads((out / "config.json").read_text())["temperature"] == 1.0


def test_export_without_checkpoint_removes_a_previous_models_checkpoint(checkpoint, tmp_path, monkeypatch):
    """A stale model.pt beside a new model.onnx would be taken for it by `train --init-from`."""
    monkeypatch.setattr(tdata, "render_synthetic", standin_render)
    out = tmp_path / "deployed"
    export_checkpoint(str(checkpoint), str(out), val_synthetic=8, include_checkpoint=True)
    assert (out / "model.pt").exists()
    export_checkpoint(str(checkpoint), str(out), val_synthetic=8, temperature=2.0)
    assert sorted(p.name for p in out.iterdir()) == ["characters_list.txt", "config.json", "model.onnx"]
