"""`lpr-ray spans`: where a model emits a serial's first and last character."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from realdata import REAL

from lpr_ray.train.spans import serial_spans, summary

B = 35  # blank


def row(steps: dict[int, int], length: int = 24) -> list[int]:
    r = [B] * length
    for t, c in steps.items():
        r[t] = c
    return r


def test_first_last_span_and_pitch_from_hand_made_classes():
    best = np.array([
        row({3: 1, 6: 2, 9: 3, 12: 4, 15: 5, 18: 6, 21: 7}),  # 7 characters, 3 steps apart
        row({5: 1, 6: 1, 9: 2, 12: 3, 15: 4, 18: 5}),  # a repeat run counts once: 5 characters
        row({2: 1, 4: 2}),  # too short: left out
    ])
    s = serial_spans(best, B)
    assert s["first"].tolist() == [3, 5] and s["last"].tolist() == [21, 18]
    assert s["span"].tolist() == [18, 13] and s["chars"].tolist() == [7, 5]
    assert s["pitch"].tolist() == pytest.approx([3.0, 13 / 4])
    out = summary(s)
    assert out["plates"] == 2 and out["pitch_7_chars_mean"] == 3.0
    assert summary(serial_spans(best[2:], B)) == {"plates": 0}
    with pytest.raises(ValueError, match=r"\[N, T\]"):
        serial_spans(best[0], B)


@pytest.mark.skipif(not REAL.exists(), reason="needs ../shared/data/us_real_val")
def test_cli_compares_real_and_synthetic_crops():
    proc = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "spans", "--val-tao", str(REAL), "--synthetic", "200", "--threads", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    out = json.loads(proc.stdout)
    for name in ("tao", "synthetic"):
        assert out[name]["plates"] > 0.9 * (222 if name == "tao" else 200)
        assert 0 <= out[name]["first"][2] < out[name]["last"][2] < 24
        assert 2.0 < out[name]["pitch_7_chars_mean"] < 4.0
