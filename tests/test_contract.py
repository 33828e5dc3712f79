"""Any model with NVIDIA's LPRNet contract runs unchanged, whatever its internals or classes."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from contract_models import build_contract_model, write_contract_model

from lpr_ray.backends import BackendOptions, load_backend
from lpr_ray.core.charset import US
from lpr_ray.core.decode import ctc_greedy_decode, softmax_to_contract
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.model import resolve_model
from lpr_ray.pipeline.fetch import fetch_and_decode
from lpr_ray.pipeline.recognizer import Recognizer

CHARS_67 = [chr(c) for c in range(0x41, 0x5B)] + [str(d) for d in range(10)] + [
    chr(c) for c in range(0x3041, 0x3041 + 30)
]  # 66 characters + blank = 67 classes, some outside ASCII


@pytest.fixture
def images():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(37, 48, 96, 3), dtype=np.uint8)


@pytest.mark.parametrize("characters", [list(US.characters), CHARS_67], ids=["us36", "classes67"])
def test_backend_runs_foreign_model_and_matches_its_softmax(tmp_path, images, characters):
    path = write_contract_model(tmp_path, characters, seed=3)
    spec = resolve_model(tmp_path)
    assert spec.charset.characters == tuple(characters)
    backend = load_backend("onnxruntime", spec, BackendOptions(threads=1))
    best, prob = backend.infer(images)
    assert best.shape == (37, 24) and best.dtype == np.int32
    assert prob.shape == (37, 24) and prob.dtype == np.float32
    # Reference: run the graph's own softmax output and apply the contract by hand.
    model = build_contract_model(len(characters) + 1, seed=3, extra_output=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    (softmax,) = sess.run(["softmax"], {"image_input": x})
    ref_best, ref_prob = softmax_to_contract(softmax)
    np.testing.assert_array_equal(best, ref_best)
    np.testing.assert_allclose(prob, ref_prob, rtol=1e-5)
    reads = ctc_greedy_decode(best, prob, characters)
    assert all(set(r.plate) <= set(characters) for r in reads)
    assert path.exists()


def test_recognizer_without_ray_one_row_per_object(tmp_path):
    write_contract_model(tmp_path / "m", CHARS_67)
    import cv2

    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((30, 90, 3), 200, np.uint8))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "page.jpg"
    text.write_bytes(b"<html>not found</html>")
    batch = fetch_and_decode(
        {"uri": np.array([str(good), str(empty), str(text), str(tmp_path / "gone.jpg")], object)}
    )
    rec = Recognizer(str(tmp_path / "m"), None, "onnxruntime", run_id="r1", threads=1)
    table = rec(batch)
    rows = table.to_pylist()
    assert [r["status"] for r in rows][1:] == ["empty_object", "not_an_image", "not_found"]
    assert rows[0]["status"] in ("ok", "too_short")
    assert rows[0]["plate"] is not None and len(rows[0]["char_confidences"]) == len(rows[0]["plate"])
    assert (rows[0]["width"], rows[0]["height"]) == (90, 30)
    for r in rows[1:]:
        assert r["plate"] is None and r["error"]
    assert {r["run_id"] for r in rows} == {"r1"} and rows[0]["model"].startswith("m@")


def test_model_missing_outputs_is_refused_with_names(tmp_path):
    model = build_contract_model(36)
    model.graph.output[0].name = "argmax_renamed"
    model.graph.node[-2].output[0] = "argmax_renamed"
    onnx.save(model, str(tmp_path / "model.onnx"))
    (tmp_path / "characters_list.txt").write_text("\n".join(US.characters))
    with pytest.raises(LprRayError, match="tf_op_layer_ArgMax"):
        load_backend("onnxruntime", resolve_model(tmp_path))


def test_missing_characters_list_is_explained(tmp_path):
    onnx.save(build_contract_model(36), str(tmp_path / "x.onnx"))
    with pytest.raises(LprRayError, match="characters_list.txt"):
        resolve_model(tmp_path / "x.onnx")
