"""Greedy CTC decoding and confidences on hand-made arrays."""

import numpy as np
import pytest

from lpr_ray.core.charset import US, Charset
from lpr_ray.core.decode import ctc_greedy_decode, emitted_mask, softmax_to_contract

CH = US.characters
B = US.blank  # 35


def idx(s: str) -> list[int]:
    return [CH.index(c) for c in s]


def test_collapses_repeats_and_drops_blanks():
    a, b7 = idx("A")[0], idx("7")[0]
    best = np.array([[a, a, B, a, b7, b7, B, B]])
    prob = np.array([[0.9, 0.5, 0.99, 0.8, 0.7, 0.1, 0.9, 0.9]], dtype=np.float32)
    (read,) = ctc_greedy_decode(best, prob, CH)
    assert read.plate == "AA7"
    # The first step of each run carries the character's probability (DeepStream's rule).
    assert read.char_confidences == pytest.approx((0.9, 0.8, 0.7))
    assert read.confidence == pytest.approx(0.9 * 0.8 * 0.7)
    assert not read.too_short


def test_all_blank_is_empty_and_too_short():
    best = np.full((2, 24), B)
    prob = np.ones((2, 24), np.float32)
    reads = ctc_greedy_decode(best, prob, CH)
    assert [r.plate for r in reads] == ["", ""]
    assert reads[0].confidence == 0.0 and reads[0].char_confidences == ()
    assert reads[0].too_short


def test_two_character_read_is_too_short_but_kept():
    best = np.array([[*idx("7"), B, *idx("X"), B]])
    (read,) = ctc_greedy_decode(best, np.full((1, 4), 0.5, np.float32), CH)
    assert read.plate == "7X" and read.too_short
    assert read.confidence == pytest.approx(0.25)


def test_repeat_separated_by_blank_is_two_characters():
    one = idx("1")[0]
    mask = emitted_mask(np.array([[one, B, one, one]]), B)
    assert mask.tolist() == [[True, False, True, False]]


def test_batch_rows_are_independent():
    best = np.array([idx("ABC") + [B], [B] + idx("123")])
    prob = np.full((2, 4), 0.5, np.float32)
    assert [r.plate for r in ctc_greedy_decode(best, prob, CH)] == ["ABC", "123"]


def test_other_dictionary_with_67_classes():
    chars = tuple(f"c{i}" for i in range(66))  # multi-letter tokens, blank = 66
    best = np.array([[0, 66, 65, 65, 1]])
    (read,) = ctc_greedy_decode(best, np.ones((1, 5), np.float32), chars)
    assert read.plate == "c0c65c1"


def test_class_outside_dictionary_is_refused():
    with pytest.raises(ValueError, match="characters_list"):
        ctc_greedy_decode(np.array([[36]]), np.ones((1, 1), np.float32), CH)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        ctc_greedy_decode(np.zeros((1, 24), int), np.zeros((1, 23), np.float32), CH)


def test_softmax_to_contract():
    probs = np.array([[[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]]], np.float32)
    best, top = softmax_to_contract(probs)
    assert best.dtype == np.int32 and best.tolist() == [[1, 0]]
    assert top[0].tolist() == pytest.approx([0.7, 0.6])


def test_charset_normalizes_o_to_zero_and_encodes():
    assert US.normalize_label(" 7ab-o12 ") == "7AB012"
    assert US.encode("7AB") == [7, 10, 11]
    with pytest.raises(Exception, match="not in characters_list"):
        US.encode("O")
    with pytest.raises(Exception, match="duplicate"):
        Charset(("A", "A"))


def test_batch_decoding_matches_the_rule_row_by_row():
    """Rows of different lengths in one batch (the decoder slices one flat selection per
    row): each row must decode exactly as the rule says, taken one step at a time."""
    rng = np.random.default_rng(3)
    # Many blanks and repeats, a row of all blanks, a row with no blank at all.
    best = rng.choice([B, B, B, *range(5)], size=(64, 24)).astype(np.int32)
    best[5] = B
    best[6] = np.arange(24) % 5
    prob = rng.uniform(0.3, 1.0, size=best.shape).astype(np.float32)
    reads = ctc_greedy_decode(best, prob, CH)
    assert len(reads) == 64
    for row_best, row_prob, read in zip(best, prob, reads, strict=True):
        chars, confs, prev = [], [], None
        for k, p in zip(row_best.tolist(), row_prob.tolist(), strict=True):
            if k != B and k != prev:
                chars.append(CH[k])
                confs.append(p)
            prev = k
        assert read.plate == "".join(chars)
        assert read.char_confidences == tuple(confs)  # exactly the model's float32 values
        assert read.confidence == pytest.approx(float(np.prod(confs)) if confs else 0.0, rel=1e-12)
    assert reads[5].plate == "" and reads[6].plate == "".join(CH[k] for k in np.arange(24) % 5)
