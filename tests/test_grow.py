"""Growing an lprnet_small into lprnet_medium or lprnet_small_ctx keeps its reads, then trains on."""

import pytest

torch = pytest.importorskip("torch")

from lpr_ray.core.charset import US  # noqa: E402
from lpr_ray.core.errors import LprRayError  # noqa: E402
from lpr_ray.core.model import DEFAULT_MODEL_DIR  # noqa: E402
from lpr_ray.models import create_model  # noqa: E402
from lpr_ray.models.flops import count_flops  # noqa: E402
from lpr_ray.train.checkpoint import init_weights_from, load_model_from_checkpoint  # noqa: E402
from lpr_ray.train.grow import grow_state  # noqa: E402

SHIPPED = DEFAULT_MODEL_DIR / "model.pt"


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    """An lprnet_small checkpoint whose BatchNorms are not the identity, as a trained one's
    are not (the shipped model is lprnet_small_ctx, so it cannot be the source here)."""
    torch.manual_seed(3)
    model = create_model("lprnet_small", US.num_classes)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    path = tmp_path_factory.mktemp("small") / "small.pt"
    torch.save({"arch": "lprnet_small", "characters": "".join(US.characters), "model": model.state_dict()}, path)
    return path


def _plates(n=32):
    # Synthetic plates, not noise: the check must cover the activations real reads use.
    from lpr_ray.synth.generate import render_batch

    imgs, _ = render_batch(31, n)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0


def test_medium_is_wider_but_within_the_cpu_budget():
    small = count_flops(create_model("lprnet_small", US.num_classes))
    medium = count_flops(create_model("lprnet_medium", US.num_classes))
    assert 1.5 * small < medium <= 0.5e9


def _grown(ckpt, arch: str):
    """(the checkpoint's model, it grown into `arch`, plates), both models in eval mode."""
    src, _ = load_model_from_checkpoint(ckpt)
    grown = create_model(arch, US.num_classes)
    assert init_weights_from(grown, ckpt, US.characters) == []
    return src, grown.eval(), _plates()


def test_grown_small_model_reads_exactly_as_before(small_ckpt):
    src, wide, x = _grown(small_ckpt, "lprnet_medium")
    with torch.no_grad():
        a, b = src(x), wide(x)
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=1e-5), float((a - b).abs().max())
    # ... and it really is the wider model, with fresh channels that can learn.
    assert wide.classifier.weight.shape[1] == 256
    assert wide.features[0][0].weight[24:].abs().sum() > 0


def test_grown_model_trains_its_new_channels(small_ckpt):
    wide = create_model("lprnet_medium", US.num_classes)
    init_weights_from(wide, small_ckpt, US.characters)
    wide.train()
    out = wide(_plates(8))
    out.logsumexp(-1).sum().backward()
    # Zero weights reading the new hidden channels still get a gradient: they can grow.
    assert wide.classifier.weight.grad[:, 192:].abs().sum() > 0


def test_growing_into_a_smaller_or_different_model_is_refused(tmp_path):
    big = create_model("lprnet_medium", US.num_classes).state_dict()
    small = create_model("lprnet_small", US.num_classes).state_dict()
    with pytest.raises(LprRayError, match="cannot grow"):
        grow_state(big, small)
    torch.save({"arch": "lprnet_medium", "characters": "".join(US.characters), "model": big}, tmp_path / "m.pt")
    with pytest.raises(LprRayError, match="cannot be grown"):
        init_weights_from(create_model("lprnet_small", US.num_classes), tmp_path / "m.pt", US.characters)
    with pytest.raises(LprRayError, match="cannot be grown"):
        init_weights_from(create_model("baseline18", US.num_classes), SHIPPED, US.characters)
    # The shipped lprnet_small_ctx has context blocks lprnet_medium lacks.
    with pytest.raises(LprRayError, match="cannot be grown"):
        init_weights_from(create_model("lprnet_medium", US.num_classes), SHIPPED, US.characters)


def test_cli_fine_tunes_the_checkpoints_architecture_unless_told(tmp_path, small_ckpt):
    """`lpr-ray train --init-from X` trains X's architecture (a medium or ctx default model
    must not be squeezed into lprnet_small); `--arch lprnet_medium` grows a small one."""
    import json

    from lpr_ray.cli.main import main

    common = ["--epochs", "1", "--synthetic", "4", "--batch-size", "4", "--val-synthetic", "4",
              "--workers", "0", "--threads", "1", "--log-every", "0"]
    assert main(["train", "--out", str(tmp_path / "grown"), "--arch", "lprnet_medium",
                 "--init-from", str(small_ckpt), *common]) == 0
    assert json.loads((tmp_path / "grown" / "config.json").read_text())["arch"] == "lprnet_medium"
    assert main(["train", "--out", str(tmp_path / "ft"), "--init-from",
                 str(tmp_path / "grown" / "last.pt"), *common]) == 0
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["arch"] == "lprnet_medium"
    assert main(["train", "--out", str(tmp_path / "shipped"), "--init-from", str(SHIPPED), *common]) == 0
    assert json.loads((tmp_path / "shipped" / "config.json").read_text())["arch"] == "lprnet_small_ctx"
    assert main(["train", "--out", str(tmp_path / "plain"), *common]) == 0
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["arch"] == "lprnet_small"


def _receptive_columns(model, step: int) -> set[int]:
    """Input columns that reach one time step's logits."""
    model.eval()
    x = torch.rand(1, 3, 48, 96, requires_grad=True)
    model(x)[0, step].sum().backward()
    return set(torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2))).flatten().tolist())


def test_ctx_blocks_let_a_step_see_the_whole_plate_within_the_budget():
    small = create_model("lprnet_small", US.num_classes)
    ctx = create_model("lprnet_small_ctx", US.num_classes)
    for block in ctx.context:  # a trained block: its residual branch is not zero
        torch.nn.init.ones_(block.out_bn.weight)
    seen = _receptive_columns(small, 12)
    assert max(seen) - min(seen) < 48  # about three characters of a 96 px plate
    assert _receptive_columns(ctx, 12) == set(range(96))  # a middle step sees it all
    assert count_flops(small) < count_flops(ctx) <= 1.5 * count_flops(small)


def test_small_model_grows_into_ctx_reading_exactly_as_before_and_its_blocks_learn(small_ckpt):
    src, ctx, x = _grown(small_ckpt, "lprnet_small_ctx")
    with torch.no_grad():
        assert torch.equal(src(x), ctx(x))
    ctx.train()
    ctx(x).logsumexp(-1).sum().backward()
    # The zero-scaled last BatchNorm of each new block still gets a gradient: they can learn.
    assert all(b.out_bn.weight.grad.abs().sum() > 0 for b in ctx.context)


def test_only_the_models_new_blocks_may_be_missing_from_the_source():
    small = create_model("lprnet_small", US.num_classes).state_dict()
    ctx = create_model("lprnet_small_ctx", US.num_classes).state_dict()
    assert grow_state(small, ctx, ("context.",)).keys() == ctx.keys()
    with pytest.raises(LprRayError, match="cannot grow"):
        grow_state(small, ctx)  # the model did not declare the blocks new
    without_classifier = {k: v for k, v in small.items() if not k.startswith("classifier.")}
    with pytest.raises(LprRayError, match="cannot grow"):
        grow_state(without_classifier, ctx, ("context.",))
    with pytest.raises(LprRayError, match="cannot grow"):
        grow_state(ctx, small)  # shrinking drops the blocks


def test_shipped_us_model_grows_into_a_wider_chinese_one_keeping_its_latin_reads():
    """us_lprnet_small (lprnet_small_ctx, US dictionary) -> lprnet_medium_ctx with NVIDIA's
    Chinese dictionary: the way cn_lprnet_medium starts (recipes/cn_lprnet_medium.sh)."""
    from lpr_ray.core.charset import CN

    src, _ = load_model_from_checkpoint(SHIPPED)
    wide = create_model("lprnet_medium_ctx", CN.num_classes)
    fresh = init_weights_from(wide, SHIPPED, CN.characters)
    assert len(fresh) == 1 and "'皖'" in fresh[0] and "'A'" not in fresh[0]
    x = _plates()
    with torch.no_grad():
        a, b = src.eval()(x), wide.eval()(x)
    us_rows = [US.characters.index(c) for c in US.characters if c in CN.characters] + [US.blank]
    cn_rows = [CN.characters.index(c) for c in US.characters if c in CN.characters] + [CN.blank]
    assert len(us_rows) == 35  # 0-9 and A-Z without I and O, then the blank
    assert torch.equal(a[..., us_rows], b[..., cn_rows])
    assert count_flops(wide) <= 2 * count_flops(src)
