"""decode_crop on hostile bytes: every object gets a status, never an exception."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hostile import BOMB_NAME, make_hostile_objects

from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH, decode_crop

OBJECTS = make_hostile_objects(seed=0)
TESTS_DIR = Path(__file__).resolve().parent


def test_generator_is_large_varied_and_deterministic():
    assert len(OBJECTS) >= 200
    kinds = Counter(status for _, _, status in OBJECTS)
    for status in (
        "ok",
        "empty_object",
        "not_an_image",
        "truncated_image",
        "image_too_small",
        "image_too_large",
    ):
        assert kinds[status] > 0, status
    again = make_hostile_objects(seed=0)
    assert [(n, d) for n, d, _ in again] == [(n, d) for n, d, _ in OBJECTS]


@pytest.mark.parametrize("name,data,expected", OBJECTS, ids=[n for n, _, _ in OBJECTS])
def test_decode_crop_status(name, data, expected):
    crop = decode_crop(data)
    assert crop.status == expected, (name, crop.error)
    if expected == "ok":
        assert crop.error is None
        assert isinstance(crop.image, np.ndarray)
        assert crop.image.shape == (MODEL_HEIGHT, MODEL_WIDTH, 3)
        assert crop.image.dtype == np.uint8
        assert crop.width and crop.height
    else:
        assert crop.image is None
        assert isinstance(crop.error, str) and crop.error.strip(), name


def _run_isolated(code: str) -> dict:
    """Run decode_crop in a fresh interpreter and report its status, time and peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TESTS_DIR,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


_MEASURE = """
    import json, resource, sys, time
    sys.path.insert(0, ".")
    import hostile
    from lpr_ray.core.image import decode_crop
    data = {build}
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    crop = decode_crop(data)
    seconds = time.perf_counter() - t0
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps({{"status": crop.status, "seconds": seconds, "grew_mb": grew_mb,
                      "bytes": len(data), "width": crop.width, "height": crop.height}}))
"""


def test_png_bomb_is_refused_fast_and_small():
    data = dict((n, d) for n, d, _ in OBJECTS)[BOMB_NAME]
    assert len(data) < 300_000  # a small file...
    out = _run_isolated(_MEASURE.format(build="hostile.png_bomb()"))
    assert out["status"] == "image_too_large"
    assert (out["width"], out["height"]) == (30000, 30000)  # ...declaring 2.7 GB of pixels
    assert out["seconds"] < 0.5
    assert out["grew_mb"] < 50


def test_tiff_bomb_is_refused_fast_and_small():
    out = _run_isolated(_MEASURE.format(build="hostile.tiff_bomb(12000, 12000)"))
    assert out["status"] == "image_too_large"
    assert out["seconds"] < 0.5
    assert out["grew_mb"] < 50


def test_a_header_without_a_readable_size_is_refused_and_comments_do_not_hide_one():
    """Decoding is refused when the header's size cannot be read, so nothing is allocated
    beyond max_pixels; PNM comment lines before the size are read past."""
    import cv2

    img = np.full((30, 90, 3), 200, np.uint8)
    ppm = cv2.imencode(".ppm", img)[1].tobytes()
    commented = b"P6\n" + b"# a long camera comment line\n" * 40 + ppm[3:]
    assert decode_crop(commented).status == "ok"
    bomb = b"P6\n" + b"# comment\n" * 40 + b"5000 5000\n255\n" + bytes(3000)
    assert decode_crop(bomb).status == "image_too_large"
    tiff = bytearray(cv2.imencode(".tiff", img)[1].tobytes())
    ifd = int.from_bytes(tiff[4:8], "little")
    for k in range(int.from_bytes(tiff[ifd : ifd + 2], "little")):
        at = ifd + 2 + 12 * k
        if int.from_bytes(tiff[at : at + 2], "little") == 257:  # ImageLength -> an unknown tag
            tiff[at : at + 2] = (65000).to_bytes(2, "little")
    crop = decode_crop(bytes(tiff))
    assert crop.status == "not_an_image" and "declares no size" in crop.error
