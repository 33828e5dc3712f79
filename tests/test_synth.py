"""Synthetic plate generator: determinism, shapes, labels, TAO output and the CLI."""

from __future__ import annotations

import random
import re

import cv2
import numpy as np
import pytest
from realdata import REAL

from lpr_ray.cli.main import main
from lpr_ray.core.charset import US
from lpr_ray.core.dataset import list_tao, load_tao_arrays
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import preprocess_bgr
from lpr_ray.synth import render_batch, render_plate, write_dataset


def test_render_batch_shapes_and_dtype():
    images, labels = render_batch(3, 16)
    assert images.shape == (16, 48, 96, 3)
    assert images.dtype == np.uint8
    assert len(labels) == 16
    assert images.std() > 10  # not blank


def test_same_seed_same_plates():
    a, la = render_batch(7, 12)
    b, lb = render_batch(7, 12)
    assert la == lb
    assert np.array_equal(a, b)


def test_different_seeds_differ():
    a, la = render_batch(1, 12)
    b, lb = render_batch(2, 12)
    assert la != lb
    assert not np.array_equal(a, b)


def test_plate_i_does_not_depend_on_batch_size():
    small, ls = render_batch(5, 4)
    big, lb = render_batch(5, 10)
    assert ls == lb[:4]
    assert np.array_equal(small, big[:4])


def test_labels_are_valid_us_plates():
    _, labels = render_batch(11, 400)
    allowed = set(US.characters)
    for label in labels:
        assert set(label) <= allowed, label
        assert "O" not in label
        assert 2 <= len(label) <= 8, label
        US.encode(label)
    # California's 1ABC234 dominates, as in the parking lots the model serves.
    ca = sum(bool(re.fullmatch(r"[0-9][A-Z]{3}[0-9]{3}", x)) for x in labels)
    assert ca / len(labels) > 0.25
    assert len(set(labels)) > 390


def test_source_sizes_vary_like_detector_crops():
    sizes = [render_plate(0, i).image.shape[:2] for i in range(200)]
    widths = np.array([w for _, w in sizes])
    heights = np.array([h for h, _ in sizes])
    assert widths.min() >= 35 and widths.max() <= 330
    assert 60 <= np.median(widths) <= 130
    assert 1.5 <= np.median(widths / heights) <= 2.6


def test_crop_widths_follow_real_crops_and_still_span_the_detector_range():
    """The bulk of crop widths follows us_real_val's (median 88 px, 5% under 58); a thin
    tail keeps 35..330 px. A heavier tail put 6% of plates under 50 px (real: none)."""

    from lpr_ray.synth import augment

    real = [cv2.imread(str(p)).shape[1] for p in sorted(REAL.glob("images/*"))]
    assert len(real) == 222
    w = np.array([augment.source_size(random.Random(i))[0] for i in range(20000)])
    assert abs(np.median(w) / np.median(real) - 1) < 0.08, (np.median(w), np.median(real))
    for q in (0.05, 0.25, 0.75, 0.95):
        assert abs(np.quantile(w, q) / np.quantile(real, q) - 1) < 0.12, q
    assert (w < 50).mean() < 0.04
    assert w.min() <= 37 and w.max() >= 300  # the detector's whole range still occurs


def test_small_crops_take_a_smaller_share_of_the_degradation(monkeypatch):
    """Blur, noise and JPEG act in source pixels; a crop under SMALL_W px takes a smaller
    share of them (augment.legible_share), so its strokes keep more contrast instead of
    being smeared into guesswork. Crops of SMALL_W px and more are drawn exactly as before."""
    from lpr_ray.synth import augment

    assert augment.legible_share(augment.MIN_W) == augment.SMALL_FLOOR
    assert augment.legible_share(augment.SMALL_W) == 1.0 == augment.legible_share(300)
    shares = [augment.legible_share(w) for w in range(augment.MIN_W, augment.SMALL_W + 1)]
    assert shares == sorted(shares)

    from lpr_ray.synth.render import draw_plate

    def capture(seed: int, plate) -> tuple[np.ndarray, float]:
        canvas, _, ink = plate
        image, _, contrast = augment.camera(
            canvas.copy(), random.Random(seed), np.random.default_rng(seed), ink
        )
        return image, contrast

    plates = [draw_plate(random.Random(f"plate{i}")) for i in range(1500)]
    shared = [capture(i, p) for i, p in enumerate(plates)]
    monkeypatch.setattr(augment, "legible_share", lambda width: 1.0)
    full = [capture(i, p) for i, p in enumerate(plates)]
    gain = []
    for (a, ca), (b, cb) in zip(shared, full, strict=True):
        assert a.shape == b.shape  # the size is drawn before the share
        if a.shape[1] >= augment.SMALL_W:
            assert np.array_equal(a, b)
        elif a.shape[1] < 50:
            gain.append(ca - cb)
    assert len(gain) > 20
    assert np.mean(gain) > 5, np.mean(gain)  # grey levels of stroke contrast kept


def test_render_batch_matches_plate_resize():
    images, labels = render_batch(9, 3)
    for i in range(3):
        p = render_plate(9, i)
        assert p.label == labels[i]
        assert np.array_equal(preprocess_bgr(p.image), images[i])


def test_write_dataset_is_tao_readable(tmp_path):
    out = tmp_path / "synth"
    write_dataset(str(out), 25, seed=4)
    assert (out / "characters_list.txt").read_text().split() == list(US.characters)
    samples = list_tao(str(out))
    assert len(samples) == 25
    assert all(s.label for s in samples)
    images, labels, uris = load_tao_arrays(str(out))
    assert images.shape == (25, 48, 96, 3)
    _, expected = render_batch(4, 25)
    assert labels == expected
    # Stored at source size: decoding and resizing gives render_batch's inputs back.
    batch, _ = render_batch(4, 25)
    assert np.array_equal(images, batch)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_write_dataset_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(LprRayError):
        write_dataset(str(tmp_path / "x"), 3)
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_write_dataset_workers_give_same_files(tmp_path):
    write_dataset(str(tmp_path / "a"), 600, seed=2, workers=1)
    write_dataset(str(tmp_path / "b"), 600, seed=2, workers=2)
    la = sorted(p.name for p in (tmp_path / "a" / "images").iterdir())
    lb = sorted(p.name for p in (tmp_path / "b" / "images").iterdir())
    assert la == lb and len(la) == 600
    for name in la[::97]:
        assert (tmp_path / "a" / "images" / name).read_bytes() == (
            tmp_path / "b" / "images" / name
        ).read_bytes()


def test_cli_writes_n_images(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["synth", "--count", "30", "--out", str(out), "--seed", "1", "--workers", "1"])
    assert rc == 0
    assert len(list((out / "images").iterdir())) == 30
    assert len(list((out / "labels").iterdir())) == 30
    assert (out / "characters_list.txt").exists()
    assert "wrote 30 plates" in capsys.readouterr().err


def test_cli_help_mentions_options(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = capsys.readouterr().out
    for option in ("--count", "--out", "--seed", "--workers"):
        assert option in text


def test_cli_rejects_bad_count(tmp_path, capsys):
    rc = main(["synth", "--count", "0", "--out", str(tmp_path / "z")])
    assert rc == 2
    assert "--count" in capsys.readouterr().err


def test_plate_face_draws_every_character():
    from lpr_ray.synth import fonts, plate_font

    for j in range(plate_font.JITTERS):
        face = f"{plate_font.PREFIX}2:1:{j}"
        for ch in (*US.characters, "O"):
            g = fonts.glyph(face, ch)
            assert g.dtype == np.float32 and g.shape[0] == fonts.ATLAS_H + 4, ch
            assert 4 <= g.shape[1] <= fonts.ATLAS_H, ch
            assert g.max() > 0.9, ch
            # The cap spans the same rows as the shipped faces' H.
            rows = np.flatnonzero(g.max(axis=1) > 0.5)
            assert rows[0] <= 3 and rows[-1] >= fonts.ATLAS_H, ch


def test_plate_face_m_and_w_have_short_middle_strokes():
    """Plate M: an H-like pair of stems with a V that stops near mid-height; plate W: a
    short middle peak, or Texas's Ws: narrow with the peak at the cap line, or upright-sided
    like an H with a peak between the stems. The shipped faces' M reaches the baseline, which
    is why real Ms were read as H; with only wide, short-peaked Ws, real Texas Ws were read
    as N or M."""
    from lpr_ray.synth import fonts, plate_font

    h = fonts.ATLAS_H
    for s in range(len(plate_font.STROKES)):
        for j in range(plate_font.JITTERS):
            face = f"{plate_font.PREFIX}{s}:1:{j}"
            m = fonts.glyph(face, "M")
            mid = m[:, m.shape[1] // 2 - 1 : m.shape[1] // 2 + 2]
            assert mid[-h // 5 :].max() < 0.1  # no ink near the baseline between the stems
            assert m[-4:, :3].max() > 0.5 and m[-4:, -3:].max() > 0.5  # stems reach it
            w = fonts.glyph(face, "W")
            mid = w[:, w.shape[1] // 2 - 1 : w.shape[1] // 2 + 2]
            if j < 2:
                assert mid[2 : 2 + h // 5].max() < 0.1  # the middle peak stays low
                left = [np.flatnonzero(w[row] > 0.5)[0] for row in (4, h - 2)]
                slant = (left[1] - left[0]) / w.shape[1]
                if j == 0:  # Texas's upright-sided W (an H with a peak inside: read N)
                    assert slant < 0.1, slant
                else:
                    assert slant > 0.12, slant
            else:
                assert mid[2 : 2 + h // 10].max() > 0.5  # Texas: the peak reaches the cap line
                lo = 2 + int(0.9 * h)
                assert mid[lo : lo + h // 20].max() < 0.3  # ... and the W open below it


def test_plate_face_used_on_about_half_the_plates(monkeypatch):
    from lpr_ray.synth import render

    calls = []
    real = render.plate_font.face_name
    monkeypatch.setattr(render.plate_font, "face_name", lambda r: calls.append(1) or real(r))
    render_batch(13, 200)
    assert 0.35 <= len(calls) / 200 <= 0.65


def test_separators_between_groups_never_reach_the_label():
    from lpr_ray.core import plate_formats as formats
    from lpr_ray.core import plate_styles as styles
    from lpr_ray.synth import render

    r = random.Random(0)
    changed = 0
    for _ in range(2000):
        style = styles.pick_style(r)
        text = formats.random_text(styles.pick_pattern(style, r), r)
        sep = render._with_separator(text, style, r)
        changed += sep != text
        assert formats.label_of(sep) == formats.label_of(text)
    assert changed > 200  # stickers, dots, stars between the groups are common


def test_california_serials_use_the_letter_i():
    """California issues serials with I (6XIU641, 7CID930 in us_real_val); a generator that
    left it to vanity plates taught the model to read the serif I as T."""
    from lpr_ray.core import plate_formats as formats
    from lpr_ray.core import plate_styles as styles

    ca = next(s for s in styles.STYLES if s.name == "california")
    r = random.Random(0)
    texts = [formats.random_text(styles.pick_pattern(ca, r), r, ca.letters) for _ in range(3000)]
    letters = "".join(c for t in texts for c in t if c.isalpha())
    assert letters.count("I") > len(letters) / 40
    # O and Q too (5LOD951, 5TQY867), at about a quarter of the other letters' rate; the
    # O is labelled 0, which a plain letter count would miss.
    for rare in "OQ":
        assert len(letters) / 200 < letters.count(rare) < len(letters) / 60
    assert "O" not in formats.label_of("5LOD951") and formats.label_of("5LOD951") == "5L0D951"


def test_other_states_serials_skip_o_and_q():
    from lpr_ray.core import plate_formats as formats
    from lpr_ray.core import plate_styles as styles

    tx = next(s for s in styles.STYLES if s.name == "texas")
    r = random.Random(0)
    texts = [formats.random_text(styles.pick_pattern(tx, r), r, tx.letters) for _ in range(2000)]
    assert not set("OQ") & set("".join(texts))


@pytest.mark.parametrize("seed", range(40))
def test_marks_beside_the_serial_stay_beside_it(seed):
    """Stacked small characters and the access symbol are drawn left or right of the serial,
    never over it: the label does not name them, so they must not cover a character."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    x, y, h = 40, 30, 50  # the serial's left edge, top and height
    for draw in (marks.stacked_marks, marks.wheelchair):
        canvas = np.zeros((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
        r = random.Random(seed)
        span = x - 4
        if draw is marks.stacked_marks:
            draw(canvas, span / 2, y, span, h, (255, 255, 255), r)
        else:
            draw(canvas, span / 2, y + h / 2, min(span * 0.95, h * 0.9), (255, 255, 255), r)
        inked = np.flatnonzero(canvas.max(axis=(0, 2)) > 0)
        assert inked.size > 0, draw.__name__
        assert inked.max() < x, (draw.__name__, inked.max())


def test_every_serial_face_draws_a_serifed_i():
    """Plates serif the I so that it is not a 1: ink across the top and bottom of the cap
    is much wider than the stem in every face the generator draws serials in."""
    from lpr_ray.synth import fonts, plate_font

    faces = [f for f, _ in fonts.SERIAL_FONTS]
    faces += [f"{plate_font.PREFIX}{s}:1:{j}" for s in (0, 4) for j in range(plate_font.JITTERS)]
    for face in faces:
        g = fonts.glyph(face, "I") > 0.5
        stem = g[g.shape[0] // 2].sum()
        top = max(g[r].sum() for r in range(2, 6))
        bottom = max(g[r].sum() for r in range(fonts.ATLAS_H - 2, fonts.ATLAS_H + 2))
        assert top >= 1.8 * stem and bottom >= 1.8 * stem, (face, stem, top, bottom)


def test_every_serial_face_draws_a_q_that_is_not_its_o():
    """A Q is labelled Q, an O is labelled 0: the tail must show. Most faces hang it below
    the baseline, outside the glyph frame, and PTN77F's Q was drawn as its O exactly. At a
    cap height of 16 pixels (a small crop) the Q's ink differs from the O's by at least 4%
    of the O's ink in every face (it was 0-1.5% in five faces before the tail was drawn)."""
    from lpr_ray.synth import fonts, plate_font

    faces = [(f, "O") for f, _ in fonts.SERIAL_FONTS]
    faces += [
        (f"{plate_font.PREFIX}{s}:{w}:{j}", "0")
        for s in range(len(plate_font.STROKES))
        for w in range(len(plate_font.WIDTHS))
        for j in range(plate_font.JITTERS)
    ]
    for face, o_char in faces:
        q, o = fonts.glyph(face, "Q"), fonts.glyph(face, o_char)
        w = max(q.shape[1], o.shape[1])
        q, o = (np.pad(m, ((0, 0), (0, w - m.shape[1]))) for m in (q, o))
        size = (max(1, round(w * 16 / q.shape[0])), 16)
        q, o = (cv2.resize(m, size, interpolation=cv2.INTER_AREA) for m in (q, o))
        assert np.abs(q - o).sum() >= 0.04 * o.sum(), face


def test_glyphs_that_hang_below_the_baseline_keep_their_hook():
    """DejaVu's and Open Sans's J hang their hook below the baseline; cut at the glyph frame
    they were bare bars labelled J (an I or a 1 to any reader). Every serial face's J is at
    least 1.4x as wide near the baseline as its stem (1.0 for those two before)."""
    from lpr_ray.synth import fonts, plate_font

    h = fonts.ATLAS_H
    faces = [f for f, _ in fonts.SERIAL_FONTS]
    faces += [f"{plate_font.PREFIX}{s}:1:{j}" for s in (0, 4) for j in range(plate_font.JITTERS)]
    for face in faces:
        g = fonts.glyph(face, "J") > 0.5
        stem = g[2 + h // 3].sum()
        foot = max(np.ptp(np.flatnonzero(g[r])) + 1 for r in range(2 + int(0.8 * h), h + 2) if g[r].any())
        assert foot >= 1.4 * stem, (face, stem, foot)


def test_plate_face_draws_some_ones_as_nearly_bare_bars():
    """California's 1 is footless with a short flag: in a small crop nearly a bare bar. The
    face must draw such 1s (a model that only saw long flags and feet read real ones as I),
    and never with a top serif reaching right of the stem the way the I's does."""
    from lpr_ray.synth import fonts, plate_font

    bare = 0
    for s in range(len(plate_font.STROKES)):
        for j in range(plate_font.JITTERS):
            g = fonts.glyph(f"{plate_font.PREFIX}{s}:1:{j}", "1") > 0.5
            stem = g[g.shape[0] // 2]
            right = np.flatnonzero(stem)[-1]
            assert not g[: fonts.ATLAS_H // 3, right + 3 :].any(), (s, j)  # the flag is left
            widest = max(g[r].sum() for r in range(2, fonts.ATLAS_H + 2))
            if widest <= 1.5 * stem.sum():
                bare += 1
    assert bare >= 3, bare


def test_plate_face_draws_flat_footed_vs_with_slanted_sides():
    """Arizona's V ends in a short flat foot (real ones were read U). Its sides still close
    in from the top corners, where a U's stay apart until the bowl."""
    from lpr_ray.synth import fonts, plate_font

    def widths(face: str, ch: str) -> tuple[int, int]:
        g = fonts.glyph(face, ch) > 0.5
        ink = [np.flatnonzero(g[r]) for r in (4, 2 + round(0.7 * fonts.ATLAS_H))]
        return tuple(int(c[-1] - c[0] + 1) for c in ink)

    feet = []
    for j in range(plate_font.JITTERS):
        face = f"{plate_font.PREFIX}1:1:{j}"
        g = fonts.glyph(face, "V") > 0.5
        feet.append(int(g[fonts.ATLAS_H].sum()))
        top, low = widths(face, "V")
        assert low < 0.7 * top, (j, top, low)
        u_top, u_low = widths(face, "U")
        assert u_low > 0.9 * u_top, (j, u_top, u_low)
    assert max(feet) >= 1.3 * min(feet), feet
    # a condensed V as narrow as a U (Arizona's current face; real ones were read U)
    v_widths = [fonts.glyph(f"{plate_font.PREFIX}1:1:{j}", "V").shape[1] for j in range(plate_font.JITTERS)]
    assert min(v_widths) <= fonts.glyph(f"{plate_font.PREFIX}1:1:1", "U").shape[1], v_widths


def test_plate_face_draws_narrow_ts_that_only_the_bottom_serif_tells_from_an_i():
    """California's T is narrow, its bar hardly wider than an I's serifs (real ones were read
    I). Every face, light or heavy, wide or condensed, draws such Ts; every T's bar still
    overhangs its stem, and no T has ink at the foot beside the stem, which is what an I has."""
    from lpr_ray.synth import fonts, plate_font

    for s in range(len(plate_font.STROKES)):
        for w in range(len(plate_font.WIDTHS)):
            i_width = fonts.glyph(f"{plate_font.PREFIX}{s}:{w}:1", "I").shape[1]
            t_widths = []
            for j in range(plate_font.JITTERS):
                g = fonts.glyph(f"{plate_font.PREFIX}{s}:{w}:{j}", "T") > 0.5
                stem = g[g.shape[0] // 2].sum()
                bar = max(g[r].sum() for r in range(2, 6))
                foot = max(g[r].sum() for r in range(fonts.ATLAS_H - 2, fonts.ATLAS_H + 2))
                assert bar >= 2 * stem and foot <= stem + 1, (s, w, j, stem, bar, foot)
                t_widths.append(g.shape[1])
            assert min(t_widths) <= 1.35 * i_width, (s, w, t_widths, i_width)


def _corner_ink(face: str, stroke: float, ch: str, right: bool, bottom: bool) -> float:
    """Mean ink in a stroke-sized square at one corner of a glyph's cap box."""
    from lpr_ray.synth import fonts

    g = fonts.glyph(face, ch)
    k = max(2, round(stroke * fonts.ATLAS_H / 4))
    # one pixel in from the edges: the outermost row and column are antialiasing
    rows = slice(fonts.ATLAS_H + 1 - k, fonts.ATLAS_H + 1) if bottom else slice(3, 3 + k)
    cols = slice(g.shape[1] - 1 - k, -1) if right else slice(1, 1 + k)
    return float(g[rows, cols].mean())


def test_plate_face_straight_strokes_end_square():
    """Z and B have square corners and 2 and 8 round ones: with round joins everywhere the
    plate face drew Z like 2 and B like 8, the commonest confusions on real plates."""
    from lpr_ray.synth import plate_font

    for s, stroke in enumerate(plate_font.STROKES):
        face = f"{plate_font.PREFIX}{s}:1:1"
        assert _corner_ink(face, stroke, "Z", right=True, bottom=False) > 0.5, face
        assert _corner_ink(face, stroke, "B", right=False, bottom=False) > 0.5, face
        assert _corner_ink(face, stroke, "B", right=False, bottom=True) > 0.5, face
        assert _corner_ink(face, stroke, "2", right=False, bottom=False) < 0.5, face
        assert _corner_ink(face, stroke, "8", right=False, bottom=False) < 0.5, face


def test_plate_face_draws_some_eights_with_straight_sides_and_round_corners():
    """Missouri's, Arizona's and California's condensed 8 has loops with straight sides;
    with only elliptical 8s in training, real ones were read B (8951283, 78188, YF2U68).
    Its corners stay round, which is all that tells it from the B's square ones."""
    from lpr_ray.synth import fonts, plate_font

    def left_run(face: str, ch: str) -> int:
        """Rows of the lower loop whose leftmost ink is within a pixel of its left edge."""
        g = fonts.glyph(face, ch) > 0.5
        low = g[2 + fonts.ATLAS_H // 2 : 2 + fonts.ATLAS_H]
        lefts = [np.flatnonzero(row)[0] for row in low if row.any()]
        return sum(x <= min(lefts) + 1 for x in lefts)

    for s, stroke in enumerate(plate_font.STROKES):
        straight, round_ = f"{plate_font.PREFIX}{s}:1:0", f"{plate_font.PREFIX}{s}:1:1"
        assert left_run(straight, "8") >= 1.25 * left_run(round_, "8"), s
        assert _corner_ink(straight, stroke, "8", right=False, bottom=False) < 0.5, s
        assert _corner_ink(straight, stroke, "8", right=False, bottom=True) < 0.5, s


@pytest.mark.parametrize("seed", range(30))
def test_frames_bolts_and_corner_stickers_leave_the_serial_alone(seed):
    """Drawn after the serial, they must not cover any of it: a frame over the foot of a Z
    leaves a 7 in the picture and a Z in the label."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    r = random.Random(seed)
    top, bottom = r.randint(2, 30), r.randint(62, 94)
    canvas = np.zeros((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
    marks.frame(canvas, r, (top, bottom))
    marks.bolts(canvas, r, (top, bottom))
    marks.corner_stickers(canvas, r, top)
    serial = canvas[top:bottom, 5 : pc.PLATE_W - 5]  # render keeps the serial 5 px in
    assert not serial.any(), (top, bottom)
    assert canvas.any()  # something was drawn around it


def test_some_bottom_frame_bars_reach_the_serials_feet():
    """Dealer frames on California plates often run right under the characters (a narrow
    T above one was read I at 0.99): a third of wide bottom bars start on the row below
    the serial's, the rest at least two rows lower, and none covers a row of the serial."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    top, bottom = 20, 80
    touching = wide = 0
    for seed in range(300):
        canvas = np.zeros((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
        marks.frame(canvas, random.Random(seed), (top, bottom))
        middle = canvas[:, pc.PLATE_W // 2].any(axis=1)  # clear of the side bars
        assert not middle[top:bottom].any(), seed
        if middle[-1] and middle[-round(0.08 * pc.PLATE_H)]:
            wide += 1
            touching += bool(middle[bottom])
    assert 0.2 * wide < touching < 0.5 * wide, (touching, wide)


@pytest.mark.parametrize("seed", range(60))
def test_side_objects_never_reach_the_serial(seed):
    """Bolts, stickers, emblems, frame bars, glyph slivers, stacked print and the access
    symbol beside the serial, at render's tightest layout (6 px of room each side): no ink
    on the serial's columns."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    r = random.Random(seed)
    x = r.randint(6, 40)
    w = pc.PLATE_W - x - r.randint(6, 40)
    y, h = r.randint(18, 30), r.randint(44, 58)
    for _ in range(10):
        canvas = np.zeros((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
        marks.side_objects(canvas, x, y, w, h, (255, 255, 255), r)
        assert not canvas[:, x : x + w].any(), (x, w)


def test_some_stickers_are_faded_towards_the_plate_but_still_visible():
    """Old plates carry faded or dirty stickers that barely stand out; without them a model
    read a faded sticker's edges in the gap between groups as a 1."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    plate = (200.0, 200.0, 205.0)
    contrasts = []
    for seed in range(300):
        canvas = np.full((pc.PLATE_H, pc.PLATE_W, 3), plate, np.float32)
        marks.sticker(canvas, 100, 50, 30, 30, random.Random(seed))
        inside = canvas[45:55, 95:105].reshape(-1, 3).mean(axis=0)
        contrasts.append(float(np.abs(inside - np.asarray(plate)).max()))
    contrasts = np.asarray(contrasts)
    faint = (contrasts < 45).mean()
    assert 0.2 < faint < 0.5, faint  # about FADED_STICKER_P of them, the rest vivid
    assert (contrasts > 3).all()  # faded, never invisible


@pytest.mark.parametrize("seed", range(40))
def test_cacti_stay_pale_and_near_the_plate_ends(seed):
    """Arizona's saguaros stand beside the serial in pale paint; an ink-dark trunk behind
    the characters hid them and looked like an unlabelled 1."""
    from lpr_ray.synth import background
    from lpr_ray.synth import canvas as pc

    bg = (235.0, 235.0, 230.0)
    canvas = np.empty((pc.PLATE_H, pc.PLATE_W, 3), np.float32)
    canvas[:] = bg
    background.graphic(canvas, "cactus", bg, random.Random(seed))
    drawn = np.abs(canvas - np.asarray(bg, np.float32)).max(axis=2)
    assert drawn.max() > 10  # a cactus was drawn
    assert not drawn[:, round(0.3 * pc.PLATE_W) : round(0.7 * pc.PLATE_W)].any()
    # The darkest tone is (30, 70, 50); at most 60% of the way there from the plate colour.
    assert drawn.max() <= 0.6 * (235 - 30) + 2


def test_ink_contrast_measures_what_is_left_of_the_strokes():
    """Hand-made crops: dark strokes on a light plate, then the same blurred and hazed."""

    from lpr_ray.synth.augment import ink_contrast

    ink = np.zeros((40, 80), np.float32)
    for x in range(10, 70, 12):
        ink[10:30, x : x + 3] = 1.0
    crop = np.full((40, 80, 3), 200, np.uint8)
    crop[ink > 0] = 40
    assert ink_contrast(crop, ink) == pytest.approx(160, abs=1)
    blurred = cv2.GaussianBlur(crop, (0, 0), 2.0)
    assert 20 < ink_contrast(blurred, ink) < 120
    hazed = (crop.astype(np.float32) * 0.2 + 150).astype(np.uint8)
    assert ink_contrast(hazed, ink) == pytest.approx(32, abs=1)
    assert ink_contrast(crop, np.zeros_like(ink)) == 0.0  # no serial in the crop at all


def test_plates_too_faint_to_read_are_drawn_again(monkeypatch):
    from lpr_ray.synth import augment, generate

    plates = [render_plate(11, i) for i in range(300)]
    assert all(p.ink_contrast >= augment.MIN_INK_CONTRAST for p in plates)
    # A higher floor redraws more plates: every kept plate meets it unless all draws failed.
    monkeypatch.setattr(generate, "MIN_INK_CONTRAST", 90.0)
    strict = [render_plate(11, i) for i in range(300)]
    below = sum(p.ink_contrast < 90.0 for p in strict)
    # About 40% of first draws are under 90, so three redraws leave some 0.4**3 of those
    # (8-14% on seeds 11-14: designs differ in how often they come out faint); without
    # redrawing it would be all of them.
    assert below < 0.2 * sum(p.ink_contrast < 90.0 for p in plates)
    assert [p.label for p in strict] != [p.label for p in plates]


def test_a_share_of_crops_is_flat_like_night_captures():
    """A fifth of real labelled crops have a middle band with a grey-level std under 30
    (night, dull overcast); the generator must draw such crops often, not once in twelve."""

    images, _ = render_batch(21, 600)
    std = np.array([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[12:36].std() for im in images])
    assert (std < 30).mean() > 0.15, (std < 30).mean()
    assert (std < 20).mean() > 0.04, (std < 20).mean()


def test_some_serials_fill_the_plate_to_its_edges():
    """Serials that run from edge to edge (Illinois, older plates) touch a tight crop's
    edges: a generator that always left a wide margin taught the model to drop real end
    characters there. None comes closer to the edge than the 2.5% margin (5 px)."""
    from lpr_ray.synth.canvas import PLATE_W
    from lpr_ray.synth.render import draw_plate

    edges = []
    for i in range(400):
        _, _, ink = draw_plate(random.Random(f"edges:{i}"))
        cols = np.flatnonzero(ink.max(axis=0) > 0.5)
        edges.append(min(cols[0], PLATE_W - 1 - cols[-1]) / PLATE_W)
    edges = np.array(edges)
    assert (edges < 0.028).mean() > 0.03, (edges < 0.028).mean()  # 3% (6 px) before
    assert edges.min() >= 5 / PLATE_W, edges.min()


def test_gap_stickers_can_fill_the_gap_between_groups():
    """Registration stickers in the gap between character groups reach up to the serial's
    height and across the whole gap; their edges next to a character were read as a 1."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    plate = (200.0, 200.0, 205.0)
    h, room = 50.0, 30.0
    tall = wide = 0
    for seed in range(300):
        canvas = np.full((pc.PLATE_H, pc.PLATE_W, 3), plate, np.float32)
        marks.slot_object(canvas, 96, 48, h, room, (20, 20, 25), random.Random(seed))
        drawn = np.abs(canvas - np.asarray(plate, np.float32)).max(axis=2) > 1
        rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
        if rows.size:
            tall += rows[-1] - rows[0] + 1 >= 0.9 * h
            wide += cols[-1] - cols[0] + 1 >= room
    assert tall >= 10 and wide >= 10, (tall, wide)


def test_some_gap_objects_spread_under_the_neighbouring_characters():
    """Real gap graphics are often wider than the gap, so a character's edge prints over
    a coloured blob; a model that never saw that read 0 as B and 2 as Z beside one."""
    from lpr_ray.synth import canvas as pc
    from lpr_ray.synth import marks

    plate = (200.0, 200.0, 205.0)
    h, room = 50.0, 30.0
    widths = []
    for seed in range(400):
        canvas = np.full((pc.PLATE_H, pc.PLATE_W, 3), plate, np.float32)
        marks.slot_object(canvas, 96, 48, h, room, (20, 20, 25), random.Random(seed))
        drawn = np.abs(canvas - np.asarray(plate, np.float32)).max(axis=2) > 1
        cols = np.flatnonzero(drawn.any(axis=0))
        widths.append(cols[-1] - cols[0] + 1 if cols.size else 0)
    spread = (np.asarray(widths) > 1.2 * room).mean()
    assert 0.05 < spread < 0.35, spread  # some of them; most still fit the gap
    assert max(widths) <= 1.8 * room


def test_florida_plates_carry_an_orange_between_their_groups(monkeypatch):
    """Florida's serials are split by an orange, which is never part of the label."""
    from lpr_ray.core import plate_styles as styles
    from lpr_ray.synth import render

    florida = next(s for s in styles.STYLES if s.name == "florida")
    monkeypatch.setattr(styles, "pick_style", lambda r: florida)
    with_orange = 0
    for seed in range(60):
        canvas, label, _ = render.draw_plate(random.Random(seed))
        assert re.fullmatch(r"[0-9A-Z]{4,8}", label), label
        rgb = canvas.reshape(-1, 3)
        orange = (rgb[:, 0] > 190) & (rgb[:, 1] > 90) & (rgb[:, 1] < 175) & (rgb[:, 2] < 90)
        with_orange += orange.sum() > 30
    assert with_orange >= 45, with_orange  # 90% of gaps, minus vanity plates


def test_arizona_plates_come_in_the_current_sky_design_too(monkeypatch):
    """Besides maroon-on-beige, Arizona's current plates: a dark blue serial under a sky-blue
    top, with purple mountains and a desert strip along the bottom."""
    from lpr_ray.core import plate_styles as styles
    from lpr_ray.synth import render

    names = [s.name for s in styles.STYLES]
    assert "arizona" in names and "arizona_sky" in names
    sky = next(s for s in styles.STYLES if s.name == "arizona_sky")
    assert all(b > r + 40 for r, _, b in sky.text_colours)  # blue ink, not maroon
    monkeypatch.setattr(styles, "pick_style", lambda r: sky)
    blue_tops = desert_bottoms = 0
    for seed in range(40):
        canvas, label, _ = render.draw_plate(random.Random(seed))
        assert re.fullmatch(r"[0-9A-Z]{3,8}", label), label
        h = canvas.shape[0]
        # Medians: frames, bolts and stickers cover parts of the plate's edges.
        top = np.median(canvas[: h // 10].reshape(-1, 3), axis=0)
        strip = np.median(canvas[int(0.955 * h) : int(0.975 * h)].reshape(-1, 3), axis=0)
        blue_tops += top[2] - top[0] > 20
        desert_bottoms += strip[0] > strip[2] + 60
    assert blue_tops >= 28 and desert_bottoms >= 24, (blue_tops, desert_bottoms)  # 31, 30 measured


def test_dark_flat_captures_are_often_blue_grey_like_night_crops():
    """Real night crops are dark and blue-grey; flat synthetic ones used to be neutral grey."""
    from lpr_ray.synth import augment

    rng = np.random.default_rng(0)
    tinted = dark = 0
    for seed in range(200):
        plate = rng.uniform(0, 255, (48, 96, 3)).astype(np.float32)
        plate[..., :] = plate.mean(axis=2, keepdims=True)  # a neutral grey start
        augment._flatten(plate, random.Random(seed))
        mean = plate.reshape(-1, 3).mean(0)
        if mean.mean() < 90:
            dark += 1
            tinted += mean[0] < mean[2] - 5
    assert dark >= 70 and 0.5 <= tinted / dark <= 0.9, (dark, tinted)


def _character_band(bgr: np.ndarray) -> float:
    """Share of the model input's height taken by the rows of strong vertical strokes."""
    from lpr_ray.core.image import preprocess_bgr

    grey = cv2.cvtColor(preprocess_bgr(bgr), cv2.COLOR_RGB2GRAY).astype(np.float32)
    profile = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))[:, 8:-8].mean(axis=1)
    profile = np.convolve(profile, np.ones(3) / 3, "same")
    rows = np.flatnonzero(profile >= 0.5 * profile.max())
    return (rows[-1] - rows[0] + 1) / profile.size


def test_some_detector_boxes_hug_the_serial(monkeypatch):
    """Some detectors box the characters, not the plate: in 27% of us_real_val's crops the
    characters' rows fill 60% or more of the height (most of its Missouri night crops, the
    worst read), in 13% of synthetic crops before such boxes were drawn."""
    from lpr_ray.synth import augment

    ink = np.zeros((200, 400), np.float32)
    ink[60:120, 40:360] = 1.0  # a serial from 30% to 60% of the plate's height
    for seed in range(20):
        top, bottom = augment._hug_serial(ink, random.Random(seed))
        # negative margins cut the plate: 5..30% of the serial's height is kept
        assert -0.3 + 0.05 * 0.3 <= top <= -0.3 + 0.3 * 0.3 + 1e-9, top
        assert -0.4 + 0.05 * 0.3 <= bottom <= -0.4 + 0.3 * 0.3 + 1e-9, bottom

    def tall_share(p: float) -> float:
        monkeypatch.setattr(augment, "HUG_P", p)
        return float(np.mean([_character_band(render_plate(3, j).image) >= 0.6 for j in range(150)]))

    assert tall_share(0.0) < 0.2
    assert tall_share(1.0) > 0.7
    monkeypatch.undo()
    assert 0.15 < float(np.mean([_character_band(render_plate(4, j).image) >= 0.6 for j in range(300)])) < 0.4

