"""Training: CTC with the blank last, loss goes down, checkpoints, resume, fine-tuning.

Uses a throwaway stand-in renderer (black text on light plates drawn with OpenCV) so the
tests do not depend on how realistic lpr_ray.synth is.
"""

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from standin import standin_render  # noqa: E402

from lpr_ray.core.charset import US  # noqa: E402
from lpr_ray.train import data as tdata  # noqa: E402
from lpr_ray.train.config import TrainConfig  # noqa: E402
from lpr_ray.train.loop import Trainer, ctc_loss, train  # noqa: E402


@pytest.fixture(autouse=True)
def _standin(monkeypatch):
    monkeypatch.setattr(tdata, "render_synthetic", standin_render)


def small_cfg(tmp_path, **kw):
    base = dict(
        out=str(tmp_path / "run"), epochs=1, steps_per_epoch=4, batch_size=8, synthetic=1,
        val_synthetic=16, workers=0, threads=1, log_every=0, warmup_steps=2, lr=3e-3,
    )
    base.update(kw)
    return TrainConfig(**base)


def write_tao(root, n: int, seed: int = 5):
    """A TAO dataset of n stand-in plates under root: images/i.png, labels/i.txt."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    imgs, labels = standin_render(seed, n)
    for i, (img, lab) in enumerate(zip(imgs, labels, strict=True)):
        cv2.imwrite(str(root / "images" / f"{i}.png"), img[:, :, ::-1])
        (root / "labels" / f"{i}.txt").write_text(lab + "\n")
    return imgs, labels


def test_ctc_blank_is_the_last_class():
    # All mass on the last class at every step = all blanks = the empty string: loss of an
    # empty target is ~0 only if the blank is the last class.
    logits = torch.full((1, 24, US.num_classes), -30.0)
    logits[..., US.blank] = 30.0
    loss = ctc_loss(logits, torch.zeros(0, dtype=torch.long), torch.tensor([0]), US.blank)
    assert float(loss) < 1e-6
    assert US.blank == US.num_classes - 1 == 35


def test_training_lowers_the_loss(tmp_path):
    cfg = small_cfg(tmp_path, steps_per_epoch=30, batch_size=16, augment=False)
    trainer = Trainer(cfg)
    x, t, lengths = tdata.collate(*standin_render(123, 32), trainer.charset, trainer.device)
    with torch.no_grad():
        before = float(ctc_loss(trainer.model.eval()(x), t, lengths, trainer.blank))
    trainer.run()
    with torch.no_grad():
        after = float(ctc_loss(trainer.model.eval()(x), t, lengths, trainer.blank))
    assert after < before * 0.8, (before, after)


def test_checkpoints_config_and_metrics_are_written(tmp_path):
    cfg = small_cfg(tmp_path, epochs=2)
    train(cfg)
    out = tmp_path / "run"
    for name in ("last.pt", "best.pt", "config.json", "metrics.jsonl"):
        assert (out / name).exists(), name
    saved = json.loads((out / "config.json").read_text())
    assert saved["arch"] == "lprnet_small" and saved["characters"] == "".join(US.characters)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert "synthetic" in lines[0]["val"]
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["epoch"] == 2 and {"model", "optimizer", "scheduler", "config"} <= set(ckpt)
    assert not list(out.glob(".*tmp*"))


def test_resume_continues_the_epoch_count(tmp_path):
    train(small_cfg(tmp_path, epochs=1))
    trainer = Trainer(small_cfg(tmp_path, epochs=2, resume=True))
    assert trainer.start_epoch == 2
    assert trainer.step == 4
    trainer.run()
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert ckpt["epoch"] == 2 and ckpt["step"] == 8
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(m)["epoch"] for m in lines] == [1, 2]


def test_resume_without_checkpoint_is_an_error(tmp_path):
    from lpr_ray.core.errors import LprRayError

    with pytest.raises(LprRayError, match="resume"):
        Trainer(small_cfg(tmp_path, resume=True))


def test_fine_tune_starts_from_the_given_weights(tmp_path):
    train(small_cfg(tmp_path))
    src = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["model"]
    trainer = Trainer(small_cfg(tmp_path, out=str(tmp_path / "ft"), init_from=str(tmp_path / "run" / "last.pt")))
    own = trainer.model.state_dict()
    for k, v in src.items():
        assert torch.equal(own[k], v), k
    assert trainer.start_epoch == 1


def test_fine_tune_with_another_dictionary_keeps_each_characters_classifier_row(tmp_path):
    """A dataset whose characters_list orders the same characters differently (A-Z then 0-9)
    reset the whole classifier: loss 8.5 and 0% after an epoch. Rows now follow the characters."""
    from lpr_ray.models import create_model
    from lpr_ray.train.checkpoint import init_weights_from

    train(small_cfg(tmp_path))
    ckpt = tmp_path / "run" / "last.pt"
    old = torch.load(ckpt, weights_only=False)
    reordered = tuple(sorted(US.characters, key=lambda c: (c.isdigit(), c))) + ("O",)
    model = create_model(old["arch"], len(reordered) + 1)
    fresh = init_weights_from(model, ckpt, reordered)
    assert fresh == ["classifier rows of the new characters ['O']"]
    reference = create_model(old["arch"], US.num_classes)
    reference.load_state_dict(old["model"])
    x = torch.rand(2, 3, 48, 96)
    with torch.no_grad():
        a, b = reference.eval()(x), model.eval()(x)  # [N, classes, T]
    for i, c in enumerate(reordered[:-1]):
        assert torch.allclose(b[..., i], a[..., US.characters.index(c)]), c
    assert torch.allclose(b[..., -1], a[..., -1])  # the blank


def test_tao_training_data(tmp_path):
    root = tmp_path / "tao"
    write_tao(root, 6)
    cfg = small_cfg(tmp_path, synthetic=0, train_tao=(str(root),), val_tao=str(root), epochs=1)
    metrics = train(cfg)
    assert metrics["val"]["tao"]["count"] == 6
    assert metrics["train_plates"] == 4 * 8


def test_bad_training_data_is_refused_without_leaving_a_config(tmp_path):
    from lpr_ray.core.errors import LprRayError

    root = tmp_path / "tao"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    imgs, _ = standin_render(5, 2)
    for i, img in enumerate(imgs):
        cv2.imwrite(str(root / "images" / f"{i}.png"), img[:, :, ::-1])
        (root / "labels" / f"{i}.txt").write_text("AB$12\n")  # '$' is not a plate character
    cfg = small_cfg(tmp_path, synthetic=0, train_tao=(str(root),), epochs=1)
    with pytest.raises(LprRayError, match=r"\$"):
        train(cfg)
    assert not (tmp_path / "run" / "config.json").exists()


def test_augmentation_keeps_shape_and_dtype():
    imgs, _ = standin_render(0, 8)
    out = tdata.augment_batch(imgs, np.random.default_rng(0))
    assert out.shape == imgs.shape and out.dtype == np.uint8


def test_cli_train_smoke(tmp_path, monkeypatch):
    from lpr_ray.cli.main import main

    rc = main([
        "train", "--out", str(tmp_path / "cli"), "--epochs", "1", "--synthetic", "8",
        "--batch-size", "4", "--val-synthetic", "8", "--workers", "0", "--threads", "1",
    ])
    assert rc == 0 and (tmp_path / "cli" / "best.pt").exists()
    saved = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert saved["steps_per_epoch"] == 2  # --synthetic 8 plates per epoch / batch 4


def test_best_restarts_when_the_validation_set_changes(tmp_path, monkeypatch):
    train(small_cfg(tmp_path, epochs=1))
    monkeypatch.setattr(tdata, "render_synthetic", lambda seed, n, region="us": standin_render(seed + 1, n, region))
    trainer = Trainer(small_cfg(tmp_path, epochs=2, resume=True))
    trainer.run()
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    assert best["epoch"] == 2


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT while ignored"])
def test_background_run_stops_cleanly_and_resumes(tmp_path, how):
    """`kill` or `kill -INT` on a run started in the background (where the shell makes it
    ignore SIGINT) stops it with the resume hint, keeping every finished epoch."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    args = [sys.executable, "-m", "lpr_ray.cli.main", "train", "--out", str(out), "--epochs", "500",
            "--steps-per-epoch", "2", "--batch-size", "4", "--val-synthetic", "8", "--workers", "0",
            "--threads", "1", "--log-every", "0", "--no-augment"]
    ignore_int = how.startswith("SIGINT")
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_int else None,
    )
    metrics = out / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no epoch finished in 120 s"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT if ignore_int else signal.SIGTERM)
    said, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "continue with --resume" in said + err
    done = len(metrics.read_text().splitlines())
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["epoch"] == done < 500
    resumed = Trainer(TrainConfig(out=str(out), resume=True, epochs=done + 1, workers=0, threads=1, log_every=0))
    assert resumed.start_epoch == done + 1


def test_ema_weights_are_validated_saved_and_resumed(tmp_path):
    """With --ema the averaged weights are what is validated and saved as "model" (what
    export and --init-from read); the raw weights ride along in last.pt for --resume."""
    trainer = Trainer(small_cfg(tmp_path, epochs=1, steps_per_epoch=6, ema=0.9))
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.run()
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    avg, raw = ckpt["model"], ckpt["raw_model"]
    moved = [k for k in raw if raw[k].is_floating_point() and not torch.equal(raw[k], start[k])]
    assert moved
    for k in moved:
        if "running" in k:  # BatchNorm statistics are taken from the raw model as they are
            assert torch.equal(avg[k], raw[k]), k
            continue
        # 6 steps at decay 0.9 keep 0.9**6 = 53% of the start: between the start and the raw
        assert not torch.equal(avg[k], raw[k]), k
        assert (avg[k] - start[k]).abs().sum() < (raw[k] - start[k]).abs().sum(), k
    again = Trainer(small_cfg(tmp_path, epochs=2, resume=True))
    for k, v in again.model.state_dict().items():
        assert torch.equal(v, raw[k]), k
    for k, v in again.ema.state_dict().items():
        assert torch.equal(v, avg[k]), k
    m = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert m["val"]["synthetic"]["count"] == 16


def test_an_ema_step_moves_each_weight_by_one_minus_the_decay(tmp_path):
    trainer = Trainer(small_cfg(tmp_path, ema=0.75))
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    before = {k: v.clone() for k, v in trainer.ema.state_dict().items()}
    raw = trainer.model.state_dict()
    trainer._update_ema()
    for k, v in trainer.ema.state_dict().items():
        if k in dict(trainer.model.named_parameters()):
            assert torch.allclose(v, 0.75 * before[k] + 0.25 * raw[k]), k
        else:  # BatchNorm statistics: the model's own
            assert torch.equal(v, raw[k]), k


def test_cli_rejects_an_ema_decay_outside_0_1(tmp_path, capsys):
    from lpr_ray.cli.main import main

    assert main(["train", "--out", str(tmp_path / "x"), "--ema", "1.5"]) != 0
    assert "--ema must be a decay in [0, 1), got 1.5" in capsys.readouterr().err


def test_style_augmentation_reaches_the_training_stream():
    def batches(style_p):
        stream = tdata.TrainStream(
            batch_size=8, steps=2, epoch=1, seed=5, val_seed=7919, synthetic=True, tao_images=None,
            tao_labels=None, tao_fraction=0.5, augment=True, style_p=style_p,
        )
        return list(stream)

    plain, styled = batches(0.0), batches(1.0)
    for (a, la), (b, lb) in zip(plain, styled, strict=True):
        assert la == lb and a.shape == b.shape == (8, 48, 96, 3) and b.dtype == np.uint8
        assert not np.array_equal(a, b)


def test_cli_checks_the_style_augment_probability(tmp_path, capsys):
    from lpr_ray.cli.main import main

    assert main(["train", "--out", str(tmp_path / "x"), "--style-augment", "1.5"]) != 0
    assert "--style-augment must be a probability in [0, 1], got 1.5" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "x"), "--style-augment", "0.5", "--no-augment"]) != 0
    assert "needs augmentation on" in capsys.readouterr().err
    rc = main([
        "train", "--out", str(tmp_path / "cli"), "--epochs", "1", "--synthetic", "8", "--batch-size", "4",
        "--val-synthetic", "8", "--workers", "0", "--threads", "1", "--style-augment", "0.5",
    ])
    assert rc == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["style_augment"] == 0.5


@pytest.mark.parametrize(
    "fraction, batch, want",
    [(0.5, 64, 32), (0.02, 16, 1), (0.1, 4, 1), (0.99, 8, 7), (0.5, 1, 1), (0.0, 8, 0), (1.0, 8, 8)],
)
def test_a_mixed_batch_always_takes_some_of_the_users_plates(fraction, batch, want):
    """round(0.02 * 16) is 0: the user's TAO plates were announced, then never trained on."""
    assert tdata.tao_share(fraction, batch) == want


def test_training_log_names_left_out_images_and_the_batch_mix(tmp_path, capsys):
    root = tmp_path / "tao"
    imgs, _ = write_tao(root, 4)
    (root / "images" / "broken.png").write_bytes(b"not a png")
    (root / "labels" / "broken.txt").write_text("ABC123\n")
    cv2.imwrite(str(root / "images" / "nolabel.png"), imgs[0][:, :, ::-1])
    train(small_cfg(tmp_path, train_tao=(str(root),), tao_fraction=0.02, epochs=1))
    log = capsys.readouterr().out
    assert "TAO training data: 4 plates" in log
    assert "2 images left out (not_an_image=1, unlabelled=1)" in log
    assert "each batch: 1 TAO + 7 synthetic plates" in log


def test_resuming_a_finished_run_says_so_and_steps_are_counted_at_epoch_end(tmp_path, capsys):
    train(small_cfg(tmp_path, epochs=2))
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [4, 8]  # 4 steps per epoch, counted when the epoch ends
    capsys.readouterr()
    train(small_cfg(tmp_path, epochs=0, resume=True))
    assert "nothing to train: the run already finished epoch 2 of 2" in capsys.readouterr().out


def test_cli_saves_local_data_paths_absolute_for_resume_elsewhere(tmp_path, monkeypatch):
    from lpr_ray.cli.main import main

    root = tmp_path / "tao"
    write_tao(root, 4)
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "--out", "cli", "--epochs", "1", "--train-tao", "tao", "--val-tao", "tao",
               "--steps-per-epoch", "2", "--batch-size", "4", "--workers", "0", "--threads", "1"])
    assert rc == 0
    saved = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert saved["train_tao"] == [str(root)] and saved["val_tao"] == str(root)
    monkeypatch.chdir(root)  # resume from another working directory
    assert main(["train", "--out", str(tmp_path / "cli"), "--resume", "--epochs", "2", "--workers", "0"]) == 0


def test_a_stop_while_an_epoch_is_saved_waits_for_the_save():
    """kill during torch.save used to end in torch's own error (exit 1) instead of the resume hint."""
    import signal

    from lpr_ray.train.loop import _Stop

    stop, saved = _Stop(), []
    with pytest.raises(KeyboardInterrupt), stop.deferred():
        stop.handle(signal.SIGTERM, None)
        saved.append("last.pt")  # the rest of the save still runs
    assert saved == ["last.pt"]
    with pytest.raises(KeyboardInterrupt):  # outside a save it stops at once
        stop.handle(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt), stop.deferred():  # and a second stop does not wait
        stop.handle(signal.SIGTERM, None)
        stop.handle(signal.SIGINT, None)
        saved.append("never")
    assert saved == ["last.pt"]
