"""Style randomisation (lpr_ray.train.style): label-preserving, deterministic, off means off."""

import cv2
import numpy as np
import pytest

from lpr_ray.train.style import OPS, style_augment


def plate(seed: int = 0) -> np.ndarray:
    """A light plate with dark characters and a coloured band, like a real crop."""
    rng = np.random.default_rng(seed)
    img = np.full((48, 96, 3), (205, 215, 225), np.uint8)
    img[:8] = (30, 60, 160)
    cv2.putText(img, "7ABC123", (4, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 40), 2, cv2.LINE_AA)
    return np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def test_off_returns_the_crop_untouched_and_draws_nothing():
    # With P = 0 a run's training stream must stay what it was before the option existed.
    img = plate()
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    assert style_augment(img, rng, 0.0) is img
    assert rng.random() == ref.random()


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_operation_changes_the_look_and_keeps_the_format(name):
    img = plate()
    out = OPS[name](img.copy(), np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 0.5, name


@pytest.mark.parametrize("name", sorted(OPS))
def test_operations_are_deterministic_for_a_seed(name):
    img = plate()
    a = OPS[name](img.copy(), np.random.default_rng(7))
    b = OPS[name](img.copy(), np.random.default_rng(7))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["channel_shuffle", "hue_rotate", "posterize", "equalize", "gamma", "invert"])
def test_tone_and_colour_operations_leave_the_characters_where_they_are(name):
    # Strokes are where the luminance edges are; a tone or colour change may flip their sign
    # (inversion) but must not move them.
    img = plate()
    def edges(x):  # the strongest third of the horizontal gradient: noise stretched by
        grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32)  # equalising stays below
        g = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0))
        return g > g.max() / 3
    before = edges(img)
    after = edges(OPS[name](img.copy(), np.random.default_rng(2)))
    kept = (before & after).sum() / before.sum()
    moved = (after & ~cv2.dilate(before.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)).sum()
    assert kept > 0.5 and moved < 0.05 * before.sum(), (name, kept, moved)


def test_bend_moves_rows_by_at_most_two_pixels():
    # Each row of this image holds its own index: after the bend a pixel's value says which
    # source row it came from.
    rows = np.repeat(np.arange(48, dtype=np.uint8)[:, None], 96, axis=1) * 5
    img = np.repeat(rows[..., None], 3, axis=2)
    for seed in range(20):
        out = OPS["bend"](img.copy(), np.random.default_rng(seed))
        shift = out[..., 0].astype(float) / 5 - np.arange(48)[:, None]
        assert np.abs(shift[2:-2]).max() <= 2.0 + 1e-6


def test_probability_sets_the_share_of_changed_crops():
    img = plate()
    rng = np.random.default_rng(0)
    changed = sum(not np.array_equal(style_augment(img, rng, 0.3), img) for _ in range(400))
    assert 0.22 < changed / 400 < 0.38
