import pytest

from lpr_ray.metrics import edit_distance, evaluate_reads


def test_edit_distance():
    assert edit_distance("7ABC123", "7ABC123") == 0
    assert edit_distance("7ABC123", "7A8C123") == 1
    assert edit_distance("", "ABC") == 3
    assert edit_distance("ABCD", "ABD") == 1


def test_report_accuracy_thresholds_and_confusions():
    plates = ["7ABC123", "7A8C123", "XYZ", "5SS"]
    confs = [0.99, 0.6, 0.95, 0.2]
    labels = ["7ABC123", "7ABC123", "XYZ", "555"]
    r = evaluate_reads(plates, confs, labels, thresholds=(0.0, 0.9))
    assert r.full_plate_accuracy == pytest.approx(0.5)
    assert r.char_accuracy == pytest.approx(1 - 3 / 20)
    t0, t9 = r.thresholds
    assert (t0.coverage, t0.accuracy) == (1.0, 0.5)
    assert (t9.count, t9.accuracy) == (2, 1.0)
    assert ("5", "S", 2) in r.confusions and ("B", "8", 1) in r.confusions
    assert sum(b.count for b in r.reliability) == 4


def test_empty_is_refused():
    with pytest.raises(ValueError):
        evaluate_reads([], [], [])
