"""Synthetic Chinese plates (`lpr-ray synth --region cn`): determinism, plate types and
their patterns, the standard layout, province shares, glyph sources, TAO output and the CLI."""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
import pytest

from lpr_ray.cli.main import main
from lpr_ray.core.charset import CN, CN_PROVINCES
from lpr_ray.core.dataset import list_tao
from lpr_ray.synth import render_batch, render_plate, write_dataset
from lpr_ray.synth.cn import formats, glyphs
from lpr_ray.synth.cn import render as cn_render

PATTERNS = {
    "blue": r"[皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新][A-HJ-NP-Z][0-9A-HJ-NP-Z]{5}",
    "green_small": r"[^\W\d_A-Z][A-HJ-NP-Z][DF][0-9A-HJ-NP-Z][0-9]{4}",
    "green_large": r"[^\W\d_A-Z][A-HJ-NP-Z][0-9]{5}[DF]",
    "police": r"[^\W\d_A-Z][A-HJ-NP-Z][0-9A-HJ-NP-Z]{4}警",
    "learner": r"[^\W\d_A-Z][A-HJ-NP-Z][0-9A-HJ-NP-Z]{4}学",
}
PATTERNS["yellow"] = PATTERNS["blue"]


@pytest.fixture(scope="module")
def plates():
    return [render_plate(17, i, "cn") for i in range(600)]


def test_same_seed_same_plates_and_regions_are_separate_streams():
    a, la = render_batch(5, 8, "cn")
    b, lb = render_batch(5, 8, "cn")
    assert la == lb and np.array_equal(a, b)
    _, us = render_batch(5, 8, "us")
    assert us != la
    assert a.shape == (8, 48, 96, 3) and a.dtype == np.uint8 and a.std() > 10


def test_every_plate_type_appears_with_its_pattern(plates):
    kinds = Counter(p.kind for p in plates)
    assert set(kinds) == {t.name for t in formats.PLATE_TYPES}
    assert kinds["blue"] > len(plates) / 2  # most plates are blue, as on the road
    for p in plates:
        assert re.fullmatch(PATTERNS[p.kind], p.label), (p.kind, p.label)
        assert p.label[0] in CN_PROVINCES
        CN.encode(p.label)  # every character is in NVIDIA's Chinese dictionary
        assert len(p.label) == (8 if p.kind.startswith("green") else 7)


def test_provinces_follow_registered_vehicle_shares_not_one_province():
    r = random.Random(3)
    counts = Counter(
        formats.plate_text(formats.TYPES["blue"], r)[0] for _ in range(20000)
    )
    assert set(counts) == set(CN_PROVINCES)  # all 31, Tibet's 0.2% included
    shares = {p: counts[p] / 20000 for p in CN_PROVINCES}
    total = sum(formats.PROVINCE_SHARES.values())
    for p, share in formats.PROVINCE_SHARES.items():
        assert abs(shares[p] - share / total) < 0.01, (p, shares[p], share / total)
    assert shares["粤"] > 3 * shares["皖"] / 2  # Guangdong, not Anhui, leads
    assert max(shares.values()) < 0.12


def test_characters_sit_in_the_standard_cells_with_the_wide_gap_after_the_second():
    """GA 36-2018: seven 45 mm cells, 12 mm apart, 34 mm between the 2nd and 3rd (the dot);
    new energy: eight 43 mm cells, 9 mm apart, 51 mm for the mark."""
    s = cn_render.SCALE
    for seed in range(60):
        canvas, label, ink, kind = cn_render.draw_plate(random.Random(seed))
        assert canvas.shape[1] == round(kind.width_mm * s)
        cells = cn_render.CELLS_8 if kind.chars == 8 else cn_render.CELLS_7
        cell_w = 43 if kind.chars == 8 else 45
        assert len(label) == len(cells)
        cols = ink.max(axis=0)
        for x_mm in cells:  # every cell holds its character
            assert cols[round((x_mm - 2) * s) : round((x_mm + cell_w + 2) * s)].max() > 0.5, (label, x_mm)
        # nothing drawn as a character in the wide gap but the glyphs' 1.5 mm jitter
        gap = cols[round((cells[1] + cell_w + 3) * s) : round((cells[2] - 3) * s)]
        assert gap.size > 10 and gap.max() < 0.05, label


def test_glyphs_come_from_the_plate_bitmaps_and_open_fonts():
    for ch in CN.characters:
        plate = glyphs.glyph("plate", ch)
        assert plate.shape == (glyphs.CELL_H, glyphs.CELL_W) and plate.max() > 0.5, ch
        for face in glyphs.FONTS:
            mask = glyphs.glyph(face, ch)
            assert mask.shape == plate.shape and mask.max() > 0.5, (face, ch)
    # Distinct characters draw distinct shapes in every source (no tofu boxes).
    for source in ("plate", "green", *glyphs.FONTS):
        a, b = glyphs.glyph(source, "皖"), glyphs.glyph(source, "鄂")
        assert np.abs(a - b).mean() > 0.05, source
    # Both sources are used.
    faces = Counter()
    for seed in range(300):
        r = random.Random(seed)
        r.random()
        faces["bitmap" if r.random() < cn_render.BITMAP_P else "font"] += 1
    assert faces["font"] > 50 and faces["bitmap"] > 150


def test_police_characters_are_red(plates):
    p = next(p for p in plates if p.kind == "police")
    assert p.label.endswith("警")


def test_write_dataset_is_tao_with_the_chinese_dictionary(tmp_path):
    out = tmp_path / "cn"
    write_dataset(str(out), 30, seed=4, region="cn", workers=2)
    assert (out / "characters_list.txt").read_text(encoding="utf-8").split() == list(CN.characters)
    samples = list_tao(str(out))
    assert len(samples) == 30
    # One folder per plate type (eval reports accuracy by folder), files named by index.
    got = {s.uri.split("/images/")[1].rsplit(".", 1)[0]: s.label for s in samples}
    want = {f"{p.kind}/{i:06d}": p.label for i, p in ((i, render_plate(4, i, "cn")) for i in range(30))}
    assert got == want


def test_cli_region_cn(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["synth", "--region", "cn", "--count", "12", "--out", str(out), "--quiet"]) == 0
    files = sorted((out / "labels").rglob("*.txt"))
    assert len(files) == 12
    labels = [p.read_text(encoding="utf-8").strip() for p in files]
    assert all(label[0] in CN_PROVINCES for label in labels)
    with pytest.raises(SystemExit):
        main(["synth", "--region", "xx", "--count", "1", "--out", str(tmp_path / "e")])
    assert "invalid choice" in capsys.readouterr().err
