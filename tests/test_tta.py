"""Test-time views (`--tta zoom3`): the vote on hand-made reads, the zoom on hand-made images,
the shipped model through ONNX Runtime, `lpr-ray eval` and a run through Ray."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from realdata import REAL, assert_run_matches_eval

from lpr_ray.backends import BackendOptions, load_backend
from lpr_ray.core.charset import US
from lpr_ray.core.dataset import load_tao
from lpr_ray.core.decode import PlateRead
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.model import resolve_model
from lpr_ray.core.reading import TTAS, read_batch
from lpr_ray.core.tta import VIEW_SETS, check_tta, vote, zoom


def read(plate: str, *chars: float) -> PlateRead:
    assert len(chars) == len(plate)
    return PlateRead(plate=plate, confidence=math.prod(chars) if chars else 0.0, char_confidences=chars)


def test_unanimous_views_average_each_character():
    views = [[read("AB1", 0.9, 0.8, 1.0)], [read("AB1", 0.7, 0.8, 0.9)], [read("AB1", 0.8, 0.5, 0.8)]]
    (r,) = vote(views)
    assert r.plate == "AB1"
    assert r.char_confidences == pytest.approx((0.8, 0.7, 0.9))
    assert r.confidence == pytest.approx(0.8 * 0.7 * 0.9)


def test_the_majority_wins_and_its_confidence_carries_the_share_that_agreed():
    views = [[read("7ABC123", *[0.99] * 7)], [read("7ABC128", *[0.999] * 7)], [read("7ABC123", *[0.97] * 7)]]
    (r,) = vote(views)
    assert r.plate == "7ABC123"
    # two of three views: at most 2/3, however sure each of them was
    assert r.confidence == pytest.approx(2 / 3 * 0.98**7, rel=1e-6)
    assert math.prod(r.char_confidences) == pytest.approx(r.confidence, rel=1e-9)
    assert r.confidence < 2 / 3


def test_ties_go_to_the_surer_plate_then_to_the_first_view():
    three_ways = [[read("AAA", 0.5, 0.5, 0.5)], [read("BBB", 0.9, 0.9, 0.9)], [read("CCC", 0.6, 0.6, 0.6)]]
    assert vote(three_ways)[0].plate == "BBB"
    even = [[read("AAA", 0.5, 0.5, 0.5)], [read("BBB", 0.5, 0.5, 0.5)]]
    assert vote(even)[0].plate == "AAA"


def test_empty_reads_vote_like_any_other_and_keep_confidence_zero():
    (r,) = vote([[read("")], [read("")], [read("AB", 0.9, 0.9)]])
    assert r.plate == "" and r.confidence == 0.0 and r.char_confidences == ()


def test_one_view_is_passed_through_and_crops_stay_in_order():
    reads = [read("AB1", 0.9, 0.9, 0.9), read("CD2", 0.5, 0.6, 0.7)]
    assert vote([reads]) == reads
    three = vote([reads, reads[::-1], reads])  # crop 0: AB1, CD2, AB1; crop 1: CD2, AB1, CD2
    assert [r.plate for r in three] == ["AB1", "CD2"]


def test_bad_vote_input_is_refused():
    with pytest.raises(ValueError, match="at least one view"):
        vote([])
    with pytest.raises(ValueError, match=r"\[2, 1\]"):
        vote([[read("A", 1.0), read("B", 1.0)], [read("A", 1.0)]])


def test_zoom_scales_about_the_centre_and_replicates_edges():
    img = np.zeros((1, 48, 96, 3), np.uint8)
    img[0, 14:34, 28:68] = 255  # a 40 x 20 white box in the middle
    assert zoom(img, 1.0) is img
    out = zoom(img, 0.5)
    assert out.shape == img.shape and out.dtype == np.uint8
    white = np.argwhere(out[0, :, :, 0] > 127)
    assert white[:, 1].min() >= 37 and white[:, 1].max() <= 58  # 20 px wide, centred
    assert white[:, 0].min() >= 18 and white[:, 0].max() <= 29
    bigger = np.argwhere(zoom(img, 1.25)[0, :, :, 0] > 127)
    assert bigger[:, 1].min() <= 24 and bigger[:, 1].max() >= 71
    flat = np.full((2, 48, 96, 3), 77, np.uint8)
    assert (zoom(flat, 0.8) == 77).all()  # no black border comes in when zooming out
    with pytest.raises(ValueError, match="expected images"):
        zoom(img[0], 0.9)


def test_view_sets_are_named_the_same_everywhere():
    assert TTAS == tuple(VIEW_SETS)
    assert VIEW_SETS["off"] == (1.0,)
    with pytest.raises(LprRayError, match="zoom3"):
        check_tta("zoom5")


@pytest.mark.parametrize("decode", ["greedy", "grammar"])
def test_read_batch_votes_over_the_models_reads_of_each_view(decode):
    """With the shipped model through ONNX Runtime on real crops: the reads are the vote of
    the model's own reads of the three zoomed views, for either decoder."""
    spec = resolve_model(None)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=1))
    images = load_tao(str(REAL), spec.charset).images[:64]
    chars = US.characters
    got = read_batch(backend, images, chars, decode, "zoom3")
    per_view = [read_batch(backend, zoom(images, s), chars, decode) for s in VIEW_SETS["zoom3"]]
    assert got == vote(per_view)
    assert read_batch(backend, images, chars, decode, "off") == per_view[0]
    changed = sum(g.plate != v.plate for g, v in zip(got, per_view[0], strict=True))
    disagreed = sum(len({v[i].plate for v in per_view}) > 1 for i in range(len(images)))
    assert disagreed > 0  # real crops do read differently when zoomed: the vote is not a no-op
    assert changed <= disagreed
    for r in got:
        assert r.confidence == pytest.approx(math.prod(r.char_confidences), rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_eval_cli_reports_its_views(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "eval", str(REAL), "--tta", "zoom3", "--json", "--threads", "2"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    out = json.loads(proc.stdout)
    assert out["tta"] == "zoom3" and out["decode"] == "greedy" and out["count"] == 222
    bad = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "eval", str(REAL), "--tta", "zoom9"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode != 0 and "zoom3" in bad.stderr


@pytest.mark.slow
def test_run_with_views_writes_what_eval_reads(s3, ray_cluster, tmp_path):
    """Through Ray: rows carry the same voted reads as `lpr-ray eval --tta zoom3`, and the
    saved config says which views made them."""
    from lpr_ray.pipeline.config import RunConfig

    config = assert_run_matches_eval(s3, tmp_path, "tta", 30, tta="zoom3")
    assert config["tta"] == "zoom3"
    with pytest.raises(LprRayError, match="zoom3"):
        RunConfig(input="x", output="y", tta="zoom9")
