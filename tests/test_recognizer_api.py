"""The Python API for notebooks: `from lpr_ray import Recognizer` reads crops in this process."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from lpr_ray import PlateResult, Recognizer
from lpr_ray.core.errors import LprRayError


@pytest.fixture(scope="module")
def plates():
    from lpr_ray.synth import render_batch

    images, labels = render_batch(4242, 64)  # RGB crops of held-out synthetic plates, with labels
    return np.asarray(images), list(labels)


def test_importing_the_package_loads_no_runtime():
    code = "import sys, lpr_ray; print([m for m in ('onnxruntime', 'torch', 'ray') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reads_paths_bytes_and_arrays_alike(plates, tmp_path):
    images, labels = plates
    rec = Recognizer(threads=1)
    paths, blobs = [], []
    for i, rgb in enumerate(images[:8]):
        data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
        (tmp_path / f"{i}.png").write_bytes(data)
        paths.append(str(tmp_path / f"{i}.png"))
        blobs.append(data)
    by_path, by_bytes, by_array = rec.read(paths), rec.read(blobs), rec.read(list(images[:8]))
    assert [r.source for r in by_path] == paths and by_bytes[0].source == "<bytes #0>"
    for a, b, c in zip(by_path, by_bytes, by_array, strict=True):
        assert a.plate == b.plate == c.plate and a.confidence == pytest.approx(c.confidence, abs=1e-6)
        assert len(a.char_confidences) == len(a.plate)


def test_the_default_reads_synthetic_plates(plates):
    images, labels = plates
    results = Recognizer(threads=1, batch_size=16).read(images)  # four batches
    assert all(isinstance(r, PlateResult) for r in results) and len(results) == 64
    assert sum(r.plate == lab for r, lab in zip(results, labels, strict=True)) >= 56  # ~98% on these


def test_unreadable_inputs_get_a_status_in_their_place(plates, tmp_path):
    images, _ = plates
    rec = Recognizer(threads=1)
    results = rec.read([images[0], b"not an image", str(tmp_path / "gone.png"), np.zeros((3, 3, 3), np.uint8)])
    assert [r.status for r in results] == ["ok", "not_an_image", "not_found", "image_too_small"]
    assert all(r.plate is None and r.error for r in results[1:])
    with pytest.raises(LprRayError, match=r"expected an RGB uint8 array"):
        rec.read([np.zeros((48, 96), np.float32)])


@pytest.mark.parametrize("name", ["onnxruntime", "torch", "standin"])
def test_every_cpu_backend_honours_the_protocol_and_closes(name, plates):
    from lpr_ray.backends.base import Backend, ProbsBackend, load_backend
    from lpr_ray.core.model import resolve_model

    backend = load_backend(name, resolve_model(None))
    assert isinstance(backend, Backend)
    # Grammar decoding needs per-class probabilities: the stand-in has no model to give them.
    assert isinstance(backend, ProbsBackend) == (name != "standin")
    best, prob = backend.infer(plates[0][:4])
    assert best.shape == prob.shape == (4, 24) and best.dtype == np.int32
    backend.close()
    backend.close()  # twice is fine
    with pytest.raises(LprRayError, match="closed"):
        backend.infer(plates[0][:4])


def test_recognizer_as_a_context_manager_frees_its_backend(plates):
    with Recognizer(threads=1) as rec:
        assert len(rec.read(list(plates[0][:2]))) == 2
    with pytest.raises(LprRayError, match="closed"):
        rec.read(list(plates[0][:2]))
