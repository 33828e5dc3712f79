"""Format-aware decoding (`--decode grammar`): hand-made probabilities, the real backends, a
run through Ray, and `lpr-ray eval` on the real validation plates."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from contract_models import write_contract_model
from realdata import REAL, assert_run_matches_eval

from lpr_ray.backends import BackendOptions, load_backend
from lpr_ray.core.charset import US
from lpr_ray.core.decode import ctc_greedy_decode, softmax_to_contract
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.grammar import ClassPrior, grammar_decode, us_class_prior
from lpr_ray.core.model import resolve_model
from lpr_ray.core.reading import check_decode, read_batch

CHARS = US.characters
BLANK = len(CHARS)


def probs_for(steps: list[dict[str, float]], length: int = 24) -> np.ndarray:
    """[1, T, C]: step i puts the given mass on its characters and the rest on blank; a
    blank step between characters keeps repeats apart."""
    p = np.zeros((1, length, BLANK + 1), np.float32)
    p[0, :, BLANK] = 1.0
    for i, chars in enumerate(steps):
        t = 2 * i + 1
        p[0, t, BLANK] = 1.0 - sum(chars.values())
        for c, v in chars.items():
            p[0, t, CHARS.index(c)] = v
    return p


def test_prior_is_a_distribution_led_by_california_serials():
    prior = us_class_prior()
    assert math.isclose(sum(prior.probs.values()), 1.0, rel_tol=1e-9)
    ranked = sorted(prior.probs, key=prior.probs.get, reverse=True)
    assert ranked[0] == "DLLLDDD"  # 1ABC234
    assert prior.probs["LLLDDDD"] > 100 * prior.probs["LLLDDLD"]  # AZ/TX serial vs a vanity shape
    assert 0 < prior.floor < min(prior.probs.values())


def test_a_letter_in_a_digit_group_is_read_as_the_digit():
    # Arizona's AKS4329 with its 2 drawn like a Z: greedy reads the Z.
    steps = [{c: 0.98} for c in "AKS43"] + [{"Z": 0.7, "2": 0.25}, {"9": 0.97}]
    p = probs_for(steps)
    greedy = ctc_greedy_decode(*softmax_to_contract(p), CHARS)[0]
    read = grammar_decode(p, CHARS)[0]
    assert greedy.plate == "AKS43Z9"
    assert read.plate == "AKS4329"
    # The corrected character's confidence is its probability given the other steps'
    # classes: far above the raw 0.25, below the character mass 0.95.
    assert 0.25 < read.char_confidences[5] <= 0.95
    assert read.confidence == pytest.approx(math.prod(read.char_confidences), rel=1e-6)


def test_a_digit_where_california_serials_have_a_letter():
    steps = [{"6": 0.97}, {"T": 0.6, "1": 0.35}] + [{c: 0.97} for c in "IX874"]
    assert grammar_decode(probs_for(steps), CHARS)[0].plate == "6TIX874"
    steps = [{"I": 0.55, "1": 0.4}] + [{c: 0.97} for c in "AMW240"]
    assert grammar_decode(probs_for(steps), CHARS)[0].plate == "1AMW240"


def test_a_0_is_never_turned_into_a_letter_and_keeps_its_confidence():
    """The letter O is labelled 0 (California's 5LOD951 is 5L0D951), so a 0 where the
    formats want a letter may be an O: it stays 0 and keeps greedy's confidence, where
    before it became the nearest letter (Q, D) once the generator drew Os in serials."""
    for zero in ({"0": 0.97}, {"0": 0.5, "D": 0.45}, {"0": 0.6, "Q": 0.3}):
        steps = [{c: 0.97} for c in "5L"] + [zero] + [{c: 0.97} for c in "D951"]
        p = probs_for(steps)
        read = grammar_decode(p, CHARS)[0]
        greedy = ctc_greedy_decode(*softmax_to_contract(p), CHARS)[0]
        assert read.plate == "5L0D951", zero
        assert read.char_confidences[2] == pytest.approx(greedy.char_confidences[2], rel=0.05), zero
    # Where a digit is due, a D or Q the model is unsure of still becomes the 0.
    steps = [{c: 0.97} for c in "12682"] + [{"D": 0.5, "0": 0.45}, {"5": 0.97}]
    assert grammar_decode(probs_for(steps), CHARS)[0].plate == "1268205"


def test_confident_reads_and_lone_glyphs_are_left_as_greedy_reads_them():
    # A vanity plate read with no rival: the formats have nothing to choose between.
    sure = probs_for([{c: 0.99} for c in "LUCKY7"])
    # A rival below MIN_RATIO (1e-3 of the best) is not considered however odd the plate.
    faint = probs_for([{c: 0.99} for c in "AKS43"] + [{"Z": 0.99, "2": 0.0005}, {"9": 0.99}])
    for p in (sure, faint):
        greedy = ctc_greedy_decode(*softmax_to_contract(p), CHARS)[0]
        read = grammar_decode(p, CHARS)[0]
        assert read.plate == greedy.plate
    # With no rival at all, the confidences are greedy's, exactly.
    g = ctc_greedy_decode(*softmax_to_contract(sure), CHARS)[0]
    r = grammar_decode(sure, CHARS)[0]
    assert r.char_confidences == pytest.approx(g.char_confidences, rel=1e-6)


def test_the_prior_decides_only_between_letters_and_digits():
    """A flat prior changes nothing; a prior that wants L at step 2 picks the best letter."""
    steps = [{"1": 0.9}, {"8": 0.6, "B": 0.3, "3": 0.05}, {"5": 0.9}]
    p = probs_for(steps)
    flat = ClassPrior(probs={}, floor=1e-6)
    assert grammar_decode(p, CHARS, flat)[0].plate == "185"
    wants_letter = ClassPrior(probs={"DLD": 0.99, "DDD": 0.01}, floor=1e-9)
    read = grammar_decode(p, CHARS, wants_letter)[0]
    assert read.plate == "1B5"
    # p(B | image, classes D?D) = 0.3 * 0.99 / (0.3 * 0.99 + 0.65 * 0.01) * 0.95
    assert read.char_confidences[1] == pytest.approx(0.3 * 0.99 / (0.3 * 0.99 + 0.65 * 0.01) * 0.95, rel=1e-5)


def test_alignment_is_greedys_so_nothing_is_added_or_dropped():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(200, 24, BLANK + 1))
    logits[..., BLANK] += 2.0
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    greedy = ctc_greedy_decode(*softmax_to_contract(p), CHARS)
    reads = grammar_decode(p, CHARS)
    assert [len(r.plate) for r in reads] == [len(g.plate) for g in greedy]
    for r, g in zip(reads, greedy, strict=True):
        for a, b in zip(r.plate, g.plate, strict=True):
            assert a == b or a.isalpha() != b.isalpha()  # only letter <-> digit swaps


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"\[N, T, 36\]"):
        grammar_decode(np.zeros((2, 24, 35)), CHARS)
    other = [c for c in CHARS] + ["O"]
    with pytest.raises(LprRayError, match="US plate formats only"):
        grammar_decode(np.zeros((1, 24, len(other) + 1)), other)


def test_onnxruntime_gives_the_probabilities_its_contract_outputs_come_from(tmp_path):
    spec = resolve_model(None)  # the shipped model has a softmax output
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=1))
    images = np.random.default_rng(3).integers(0, 256, size=(9, 48, 96, 3), dtype=np.uint8)
    probs = backend.infer_probs(images)
    best, prob = backend.infer(images)
    assert probs.shape == (9, 24, BLANK + 1)
    np.testing.assert_array_equal(probs.argmax(-1), best)
    np.testing.assert_allclose(probs.max(-1), prob, rtol=1e-5)
    assert len(read_batch(backend, images, CHARS, "grammar")) == 9


def test_a_model_without_softmax_output_is_refused_before_any_image(tmp_path):
    write_contract_model(tmp_path, list(CHARS))  # only the contract's two outputs
    backend = load_backend("onnxruntime", resolve_model(tmp_path), BackendOptions(threads=1))
    with pytest.raises(LprRayError, match="no 'softmax' output"):
        check_decode(backend, CHARS, "grammar")
    check_decode(backend, CHARS, "greedy")  # greedy needs nothing more
    with pytest.raises(LprRayError, match="unknown decoding 'beam'"):
        check_decode(backend, CHARS, "beam")


def test_a_backend_with_only_the_contract_outputs_is_refused_by_name():
    class ContractOnly:  # what the TensorRT runner offers: infer() and nothing more
        name = "tensorrt"

        def infer(self, images):
            raise AssertionError("not called")

    with pytest.raises(LprRayError, match="tensorrt backend gives only"):
        check_decode(ContractOnly(), CHARS, "grammar")


@pytest.mark.slow
def test_torch_backend_reads_what_onnxruntime_reads():
    pytest.importorskip("torch")
    spec = resolve_model(None)
    images = np.random.default_rng(4).integers(0, 256, size=(16, 48, 96, 3), dtype=np.uint8)
    ort_reads = read_batch(load_backend("onnxruntime", spec, BackendOptions(threads=1)), images, CHARS, "grammar")
    torch_reads = read_batch(load_backend("torch", spec, BackendOptions(threads=1)), images, CHARS, "grammar")
    assert [r.plate for r in torch_reads] == [r.plate for r in ort_reads]
    np.testing.assert_allclose(
        [r.confidence for r in torch_reads], [r.confidence for r in ort_reads], rtol=1e-3, atol=1e-5
    )


@pytest.mark.slow
def test_eval_cli_grammar_on_real_plates(tmp_path):
    """On us_real_val with the shipped model: a report that says which decoding made it, and
    no more misreads than greedy (measured: 29 greedy, 25 grammar)."""
    out = {}
    for decode in ("greedy", "grammar"):
        proc = subprocess.run(
            [sys.executable, "-m", "lpr_ray.cli.main", "eval", str(REAL), "--decode", decode, "--json", "--threads", "2"],
            capture_output=True, text=True, check=True, timeout=300,
        )
        out[decode] = json.loads(proc.stdout)
    assert out["grammar"]["decode"] == "grammar" and out["greedy"]["decode"] == "greedy"
    assert out["grammar"]["count"] == out["greedy"]["count"] == 222
    assert out["grammar"]["full_plate_accuracy"] >= out["greedy"]["full_plate_accuracy"]


@pytest.mark.slow
def test_run_with_grammar_writes_what_eval_reads(s3, ray_cluster, tmp_path):
    """Through Ray: rows carry the grammar reads of the same images, and the saved config says so."""
    config = assert_run_matches_eval(s3, tmp_path, "grammar", 40, decode="grammar")
    assert config["decode"] == "grammar"
