import pytest

from lpr_ray.core.metrics import edit_distance, evaluate_reads


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


def test_accuracy_by_source_crop_width():
    """Small crops are where reading fails first; eval shows accuracy per width band."""
    plates = ["AAA", "BBB", "CCX", "DDD", "EEX", "FFF"]
    labels = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
    widths = [35, 49, 50, 63, 120, 500]
    r = evaluate_reads(plates, [1.0] * 6, labels, widths=widths)
    rows = {(w.low, w.high): (w.count, w.accuracy) for w in r.by_width}
    assert rows[(0, 50)] == (2, 1.0)
    assert rows[(50, 64)] == (2, 0.5)
    assert rows[(64, 80)] == (0, None)
    assert rows[(100, 140)] == (1, 0.0)
    assert rows[(140, None)] == (1, 1.0)
    assert sum(w.count for w in r.by_width) == 6
    text = r.format()
    assert "accuracy by source crop width" in text and "50-63" in text and ">= 140" in text


def test_width_breakdown_only_with_widths():
    r = evaluate_reads(["AB"], [0.9], ["AB"])
    assert r.by_width == [] and "crop width" not in r.format()
    with pytest.raises(ValueError, match="2 widths for 1 labels"):
        evaluate_reads(["AB"], [0.9], ["AB"], widths=[40, 50])
