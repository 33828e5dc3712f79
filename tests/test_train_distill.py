"""Training beyond the default recipe: the ppocr_v4 architecture from real-text weights, a
frozen backbone, distillation from a teacher, Chinese plates, shipped models by name."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from lpr_ray.cli.main import main  # noqa: E402
from lpr_ray.core.charset import CN, US  # noqa: E402
from lpr_ray.core.errors import LprRayError  # noqa: E402
from lpr_ray.core.model import DEFAULT_MODEL_DIR, resolve_model, shipped_checkpoint, shipped_models  # noqa: E402
from lpr_ray.train.config import TrainConfig  # noqa: E402
from lpr_ray.train.loop import Trainer, distill_loss, train  # noqa: E402


def cfg(tmp_path, name="run", **kw):
    base = dict(out=str(tmp_path / name), epochs=1, steps_per_epoch=2, batch_size=8, synthetic=1,
                val_synthetic=16, workers=0, threads=1, log_every=0, warmup_steps=1, lr=1e-4)
    base.update(kw)
    return TrainConfig(**base)


def test_distill_loss_is_zero_only_when_the_model_matches_its_teacher():
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(2, 24, 5)), dtype=torch.float32, requires_grad=True)
    same = torch.softmax(logits.detach() / 2.0, dim=-1)
    assert float(distill_loss(logits, same, 2.0).detach()) == pytest.approx(0.0, abs=1e-6)
    other = torch.softmax(torch.tensor(rng.normal(size=(2, 24, 5)), dtype=torch.float32), dim=-1)
    loss = distill_loss(logits, other, 2.0)
    assert float(loss.detach()) > 0.01
    loss.backward()  # a step against the gradient moves the model towards the teacher
    with torch.no_grad():
        assert float(distill_loss(logits - 0.5 * logits.grad, other, 2.0)) < float(loss.detach())


def test_ppocr_v4_starts_from_real_text_weights_trains_frozen_and_exports_the_contract(tmp_path):
    train(cfg(tmp_path, arch="ppocr_v4", freeze=6))
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    assert ckpt["arch"] == "ppocr_v4" and ckpt["config"]["freeze"] == 6
    # The frozen stem kept PP-OCRv4's weights exactly; the classifier rows trained.
    from lpr_ray.models import create_model
    from lpr_ray.models.pretrained import load_pretrained

    fresh = create_model("ppocr_v4", US.num_classes)
    load_pretrained(fresh, US.characters)
    assert torch.equal(ckpt["model"]["stem.0.weight"], fresh.state_dict()["stem.0.weight"])
    assert not torch.equal(ckpt["model"]["classifier.weight"], fresh.state_dict()["classifier.weight"])

    out = tmp_path / "model"
    assert main(["export", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--out", str(out),
                 "--val-synthetic", "16"]) == 0
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image_input"]
    best, top, probs = sess.run(None, {"image_input": np.zeros((3, 3, 48, 96), np.float32)})
    assert best.dtype == np.int32 and best.shape == (3, 24) and top.shape == (3, 24)
    assert probs.shape == (3, 24, US.num_classes)
    assert json.loads((out / "config.json").read_text())["arch"] == "ppocr_v4"


def test_a_teacher_must_read_the_same_characters(tmp_path):
    train(cfg(tmp_path, name="us"))
    with pytest.raises(LprRayError, match="same characters list"):
        Trainer(cfg(tmp_path, name="cn", region="cn", teacher=str(tmp_path / "us" / "last.pt")))
    t = Trainer(cfg(tmp_path, name="student", teacher=str(tmp_path / "us" / "last.pt")))
    assert t.teacher is not None and not t.teacher.training
    assert all(not p.requires_grad for p in t.teacher.parameters())


def test_region_cn_trains_on_chinese_plates_with_the_chinese_dictionary(tmp_path):
    train(cfg(tmp_path, region="cn"))
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert tuple(ckpt["characters"]) == CN.characters
    assert ckpt["config"]["region"] == "cn"
    with pytest.raises(LprRayError, match="unknown region"):
        Trainer(cfg(tmp_path, name="x", region="eu"))


def test_shipped_models_are_found_by_name(tmp_path, monkeypatch):
    assert "us_lprnet_small" in shipped_models()
    assert resolve_model("us_lprnet_small") == resolve_model(None)
    assert shipped_checkpoint("us_lprnet_small") == str(DEFAULT_MODEL_DIR / "model.pt")
    with pytest.raises(LprRayError, match="shipped models, by name: .*us_lprnet_small"):
        resolve_model("no_such_model")
    # A folder of that name in the working directory wins over the shipped one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "us_lprnet_small").mkdir()
    with pytest.raises(LprRayError, match="holds no .onnx"):
        resolve_model("us_lprnet_small")


def test_models_command_lists_every_shipped_model(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in shipped_models():
        assert name in out
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["name"] for m in listed} == set(shipped_models())
    assert all(m["params"] > 0 and m["megabytes"] > 0 for m in listed)


def test_the_train_command_line_restarts_once_with_heap_settings(monkeypatch):
    import os
    import platform
    import sys

    from lpr_ray.cli import train as cli_train

    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the heap settings are glibc's")
    calls = []
    monkeypatch.setattr(os, "execv", lambda exe, args: calls.append((exe, args)))
    monkeypatch.delenv("MALLOC_MMAP_MAX_", raising=False)
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "/venv/bin/lpr-ray", "train", "--out", "x"])
    cli_train.reexec_with_heap_settings()
    assert calls == [(sys.executable, [sys.executable, "/venv/bin/lpr-ray", "train", "--out", "x"])]
    assert os.environ["MALLOC_MMAP_MAX_"] == "0"
    cli_train.reexec_with_heap_settings()  # already set: no second restart
    assert len(calls) == 1
