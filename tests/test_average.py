"""Weight averaging (`lpr-ray average`, lpr_ray.train.average): the mean of the weights, BatchNorm statistics
measured again, and a checkpoint that exports and fine-tunes like any other."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from standin import standin_render  # noqa: E402

from lpr_ray.cli.main import main as cli_main  # noqa: E402
from lpr_ray.core.errors import LprRayError  # noqa: E402
from lpr_ray.train import average as avg  # noqa: E402
from lpr_ray.train import data as tdata  # noqa: E402
from lpr_ray.train.checkpoint import load_checkpoint, load_model_from_checkpoint  # noqa: E402
from lpr_ray.train.config import TrainConfig  # noqa: E402
from lpr_ray.train.evaluation import predict  # noqa: E402
from lpr_ray.train.loop import train  # noqa: E402


@pytest.fixture(autouse=True)
def _standin(monkeypatch):
    monkeypatch.setattr(tdata, "render_synthetic", standin_render)


def test_states_average_element_wise_and_counters_take_the_largest():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)}
    out = avg.average_states([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0])) and int(out["n"]) == 5
    assert out["w"].dtype == torch.float32


def test_states_of_other_architectures_are_refused():
    with pytest.raises(LprRayError, match="other weights"):
        avg.average_states([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}])
    with pytest.raises(LprRayError, match="different shapes"):
        avg.average_states([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}])
    with pytest.raises(LprRayError, match="at least one"):
        avg.average_states([])


def test_batchnorm_statistics_become_the_plain_average_over_the_batches():
    bn = torch.nn.BatchNorm2d(2)
    bn.running_mean.fill_(100.0)
    bn.momentum = 0.1
    model = torch.nn.Sequential(bn).eval()
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(4, 2, 3, 3, generator=g) * s + m for s, m in ((1, 0), (2, 5), (3, -1))]
    assert avg.recompute_batchnorm(model, batches) == 1
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    variances = torch.stack([b.transpose(0, 1).reshape(2, -1).var(dim=1) for b in batches]).mean(0)
    assert torch.allclose(bn.running_mean, means, atol=1e-5)
    assert torch.allclose(bn.running_var, variances, atol=1e-4)
    assert bn.momentum == 0.1 and not model.training


def run_with_epochs(tmp_path, epochs=2):
    cfg = TrainConfig(
        out=str(tmp_path / "run"), epochs=epochs, steps_per_epoch=6, batch_size=8, synthetic=1, val_synthetic=16,
        workers=0, threads=1, log_every=0, warmup_steps=2, lr=3e-3, save_epochs=True,
    )
    train(cfg)
    return sorted((tmp_path / "run" / "epochs").glob("e*.pt"))


def test_training_keeps_each_epoch_and_the_average_is_their_mean(tmp_path):
    paths = run_with_epochs(tmp_path)
    assert [p.name for p in paths] == ["e001.pt", "e002.pt"]
    first, second = (load_checkpoint(p) for p in paths)
    assert "optimizer" not in first and first["epoch"] == 1 and second["epoch"] == 2

    ckpt, model = avg.average_checkpoints([str(p) for p in paths], bn_plates=32)
    conv = next(k for k, v in first["model"].items() if v.ndim == 4)
    assert torch.allclose(ckpt["model"][conv], (first["model"][conv] + second["model"][conv]) / 2)
    assert ckpt["averaged"]["epochs"] == [1, 2] and ckpt["epoch"] == 2
    bn = next(k for k in first["model"] if k.endswith("running_mean"))
    assert not torch.allclose(ckpt["model"][bn], (first["model"][bn] + second["model"][bn]) / 2)


def test_one_checkpoint_averaged_without_batchnorm_update_reads_the_same(tmp_path):
    paths = run_with_epochs(tmp_path, epochs=1)
    original, _ = load_model_from_checkpoint(paths[0])
    _, same = avg.average_checkpoints([str(paths[0])], bn_plates=0)
    imgs, _ = standin_render(99, 24)
    chars = load_checkpoint(paths[0])["characters"]
    a, b = predict(original, imgs, chars, "cpu"), predict(same, imgs, chars, "cpu")
    assert [r.plate for r in a] == [r.plate for r in b]
    assert np.allclose([r.confidence for r in a], [r.confidence for r in b], atol=1e-6)


def test_cli_writes_a_checkpoint_that_fine_tunes_and_exports(tmp_path, capsys):
    from lpr_ray.train.export import export_checkpoint

    paths = run_with_epochs(tmp_path)
    out = tmp_path / "avg.pt"
    rc = cli_main(["average", *map(str, paths), "--out", str(out), "--bn-plates", "32", "--val-synthetic", "16"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "averaged 2 checkpoints (epochs [1, 2])" in printed and "val[synthetic]" in printed
    saved = load_checkpoint(out)
    assert saved["metrics"]["val"]["synthetic"]["count"] == 16
    cfg = TrainConfig(
        out=str(tmp_path / "ft"), epochs=1, steps_per_epoch=2, batch_size=8, synthetic=1, val_synthetic=16,
        workers=0, threads=1, log_every=0, warmup_steps=1, init_from=str(out),
    )
    train(cfg)
    assert (tmp_path / "ft" / "best.pt").exists()
    info = export_checkpoint(str(out), str(tmp_path / "model"), val_synthetic=16, include_checkpoint=True)
    assert info["averaged"]["epochs"] == [1, 2] and info["verification"]["plate_mismatches"] == 0
    assert load_checkpoint(tmp_path / "model" / "model.pt")["averaged"]["bn_plates"] == 32


def test_checkpoints_of_different_architectures_are_refused(tmp_path):
    paths = run_with_epochs(tmp_path, epochs=1)
    other = load_checkpoint(paths[0])
    other["arch"] = "lprnet_medium"
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(LprRayError, match="only checkpoints of one architecture"):
        avg.average_checkpoints([str(paths[0]), str(tmp_path / "other.pt")])


def test_cli_names_a_missing_checkpoint(tmp_path, capsys):
    assert cli_main(["average", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "avg.pt")]) == 2
    assert f"checkpoint {tmp_path / 'nope.pt'} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "avg.pt").exists()


def test_batchnorm_plates_come_from_the_runs_own_training_data(tmp_path):
    # A user's fine-tuning run on their own TAO plates only: BatchNorm must be re-measured
    # on those plates, not on synthetic ones.
    import cv2

    root = tmp_path / "tao"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    imgs, labels = standin_render(5, 6)
    imgs[:, :24] = 0  # unlike any stand-in synthetic plate
    for i, (img, lab) in enumerate(zip(imgs, labels, strict=True)):
        cv2.imwrite(str(root / "images" / f"{i}.png"), img[:, :, ::-1])
        (root / "labels" / f"{i}.txt").write_text(lab + "\n")
    cfg = TrainConfig(out="x", synthetic=0, train_tao=(str(root),), augment=False,
                      characters=tuple("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")).to_dict()
    batches = list(avg.bn_batches(cfg, 20, batch_size=8))
    assert sum(len(b) for b in batches) == 24
    seen = torch.cat(batches).permute(0, 2, 3, 1).mul(255).round().to(torch.uint8).numpy()
    assert all(any(np.array_equal(s, t) for t in imgs) for s in seen)
