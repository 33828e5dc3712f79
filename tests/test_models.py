"""Architectures: shapes, the CTC class layout, parameter and FLOP counts."""

import pytest

torch = pytest.importorskip("torch")

from lpr_ray.core.charset import US  # noqa: E402
from lpr_ray.models import ARCHITECTURES, DEFAULT_ARCH, create_model  # noqa: E402
from lpr_ray.models.flops import count_flops, count_params  # noqa: E402


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("num_classes", [US.num_classes, 67])
def test_output_is_24_steps_by_classes(arch, num_classes):
    model = create_model(arch, num_classes).eval()
    with torch.no_grad():
        out = model(torch.rand(3, 3, 48, 96))
    assert out.shape == (3, 24, num_classes)
    assert torch.isfinite(out).all()


def test_default_is_small_enough_for_cpus():
    model = create_model(DEFAULT_ARCH, US.num_classes)
    flops = count_flops(model)
    assert 20e6 <= flops <= 100e6, flops  # well under the 0.5 GFLOP per plate ceiling
    assert count_params(model) < 1_000_000


def test_baseline18_matches_nvidia_size():
    model = create_model("baseline18", US.num_classes)
    params = count_params(model)
    assert 14.0e6 < params < 14.8e6, params  # NVIDIA: 14.4M
    flops = count_flops(model)
    assert 5.3e9 < flops < 6.3e9, flops  # NVIDIA: 5.66 GFLOP


def test_baseline18_sums_rgb():
    model = create_model("baseline18", US.num_classes).eval()
    x = torch.rand(2, 3, 48, 96)
    perm = x[:, [2, 0, 1]]
    with torch.no_grad():
        assert torch.allclose(model(x), model(perm), atol=1e-4)


def test_unknown_arch_is_a_clear_error():
    from lpr_ray.core.errors import LprRayError

    with pytest.raises(LprRayError, match="unknown architecture"):
        create_model("resnet999", 36)


def test_core_imports_do_not_pull_torch():
    import subprocess
    import sys

    code = (
        "import sys, lpr_ray, lpr_ray.core.decode, lpr_ray.core.image, lpr_ray.core.dataset, lpr_ray.core.model;"
        "import lpr_ray.cli.train, lpr_ray.cli.export;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
