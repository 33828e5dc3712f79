"""GPU backends: what can be checked without a GPU, plus `gpu` tests for the lent machine.

Here (no GPU, no TensorRT): the GPU probe, engine cache keys and invalidation, the FP16 ONNX
conversion and the graph handed to TensorRT (both run with ONNX Runtime on the CPU), backend
selection, `build-engine`'s error, the torch backend on the CPU against ONNX Runtime, and
GPU actors on a real local Ray cluster that declares a GPU it does not have.
"""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from contract_models import build_contract_model, write_contract_model
from realdata import REAL

from lpr_ray.backends import base, gpu_probe
from lpr_ray.backends.base import BackendOptions, load_backend, resolve_backend_name
from lpr_ray.backends.engine_cache import EngineCache, EngineKey
from lpr_ray.backends.fp16 import convert_to_fp16
from lpr_ray.backends.trt_build import (
    ENGINE_INPUT,
    BuildPlan,
    Profile,
    add_uint8_nhwc_input,
    plan_build,
    prepare_onnx,
)
from lpr_ray.core.charset import Charset
from lpr_ray.core.decode import ctc_greedy_decode
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import to_model_input
from lpr_ray.core.model import INPUT_NAME, OUTPUT_ARGMAX, OUTPUT_MAX, resolve_model

US = list("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 96, 3), dtype=np.uint8)


def ort_run(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    # ORT 1.32's full (layout) optimisations crash on some float16 graphs (LSTM) on the CPU.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run([OUTPUT_ARGMAX, OUTPUT_MAX], feed)


def plates(best, prob) -> list[str]:
    return [r.plate for r in ctc_greedy_decode(best, prob, tuple(US))]


# ---- GPU probe ---------------------------------------------------------------------------


class FakeCudart:
    """cuda.bindings.runtime's calling convention ((error, *values)), with a chosen machine."""

    class cudaError_t:  # noqa: N801 - mirrors the real name
        cudaSuccess = 0
        cudaErrorInsufficientDriver = 35
        cudaErrorNoDevice = 100

    def __init__(self, count_err=0, devices=(), driver=12020, runtime=13040):
        self.count_err, self.devices, self.driver, self.runtime = count_err, devices, driver, runtime

    def cudaGetDeviceCount(self):  # noqa: N802
        return (self.count_err, len(self.devices) if self.count_err == 0 else None)

    def cudaGetDeviceProperties(self, i):  # noqa: N802
        name, major, minor, mem = self.devices[i]
        return (0, types.SimpleNamespace(name=name.encode() + b"\0" * 8, major=major, minor=minor, totalGlobalMem=mem))

    def cudaDriverGetVersion(self):  # noqa: N802
        return (0, self.driver)

    def cudaRuntimeGetVersion(self):  # noqa: N802
        return (0, self.runtime)

    def cudaGetErrorName(self, err):  # noqa: N802
        return (0, f"cudaError{err}".encode())

    def cudaGetErrorString(self, err):  # noqa: N802
        return (0, b"some CUDA error")


def test_probe_on_this_machine_says_why_there_is_no_gpu():
    found = gpu_probe.probe_gpus()
    if isinstance(found, list):
        pytest.skip(f"this machine has GPUs: {found}")
    assert found  # a sentence
    assert any(w in found for w in ("cuda-python is not installed", "driver", "GPU")), found
    with pytest.raises(LprRayError, match="no GPU"):
        gpu_probe.require_gpu(0)


def test_probe_without_cuda_python(monkeypatch):
    def missing():
        raise ImportError("No module named 'cuda'")

    monkeypatch.setattr(gpu_probe, "import_cudart", missing)
    assert gpu_probe.probe_gpus() == "cuda-python is not installed (pip install 'lpr-ray[tensorrt]')"


@pytest.mark.parametrize(
    "fake, env, expected",
    [
        (FakeCudart(count_err=35, driver=0), None, "no NVIDIA driver"),
        (FakeCudart(count_err=35, driver=12020), None, "supports CUDA 12.2 but this cuda-python needs CUDA 13.4"),
        (FakeCudart(count_err=100), None, "no usable CUDA GPU (cudaError100"),
        (FakeCudart(count_err=100), "", "CUDA_VISIBLE_DEVICES='' hides every GPU"),
        (FakeCudart(count_err=0, devices=()), None, "no CUDA GPU is visible"),
    ],
)
def test_probe_reasons(monkeypatch, fake, env, expected):
    monkeypatch.setattr(gpu_probe, "import_cudart", lambda: fake)
    if env is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    found = gpu_probe.probe_gpus()
    assert isinstance(found, str) and expected in found, found


def test_probe_lists_gpus(monkeypatch):
    fake = FakeCudart(devices=[("Tesla T4", 7, 5, 16 * 2**30), ("NVIDIA A10G", 8, 6, 24 * 2**30)])
    monkeypatch.setattr(gpu_probe, "import_cudart", lambda: fake)
    gpus = gpu_probe.probe_gpus()
    assert [(g.index, g.name, g.compute_capability) for g in gpus] == [(0, "Tesla T4", "7.5"), (1, "NVIDIA A10G", "8.6")]
    assert gpu_probe.require_gpu(1).name == "NVIDIA A10G"
    with pytest.raises(LprRayError, match="cuda:2 does not exist"):
        gpu_probe.require_gpu(2)
    assert "Tesla T4 (sm 7.5, 16 GiB)" in gpus[0].describe()


def test_parse_device():
    assert gpu_probe.parse_device("auto") == 0
    assert gpu_probe.parse_device("cuda") == 0
    assert gpu_probe.parse_device("cuda:3") == 3
    with pytest.raises(LprRayError):
        gpu_probe.parse_device("cpu")


# ---- engine cache ------------------------------------------------------------------------

KEY = EngineKey(
    onnx_sha256="a" * 64, trt_version="10.3.0", gpu_name="Tesla T4", compute_capability="7.5",
    precision="fp16", min_batch=1, opt_batch=128, max_batch=128, graph_revision=1,
)


@pytest.mark.parametrize(
    "change",
    [
        {"onnx_sha256": "b" * 64}, {"trt_version": "10.4.0"}, {"trt_version": "11.0.0"},
        {"gpu_name": "NVIDIA A10G"}, {"compute_capability": "8.6"}, {"precision": "fp32"},
        {"min_batch": 8}, {"opt_batch": 64}, {"max_batch": 256}, {"graph_revision": 2},
    ],
)
def test_every_key_field_invalidates(change):
    other = dataclasses.replace(KEY, **change)
    assert other.digest != KEY.digest and other.stem != KEY.stem


def test_key_is_stable_and_readable():
    assert KEY.digest == dataclasses.replace(KEY).digest
    assert KEY.stem.startswith("tesla-t4-sm75-trt10.3.0-fp16-")


def test_model_change_changes_key(tmp_path):
    from lpr_ray.backends.tensorrt import engine_key

    gpu = gpu_probe.GpuInfo(0, "Tesla T4", "7.5", 16 * 2**30)
    a = resolve_model(write_contract_model(tmp_path / "a", US, seed=1))
    b = resolve_model(write_contract_model(tmp_path / "b", US, seed=2))
    prof = Profile()
    assert engine_key(a, "10.3.0", gpu, "fp16", prof) == engine_key(a, "10.3.0", gpu, "fp16", prof)
    assert engine_key(a, "10.3.0", gpu, "fp16", prof) != engine_key(b, "10.3.0", gpu, "fp16", prof)


def test_cache_roundtrip_and_corruption(tmp_path):
    cache = EngineCache(tmp_path / "c")
    assert cache.get(KEY) is None
    cache.put(KEY, b"engine-bytes")
    assert cache.get(KEY) == (b"engine-bytes", "local")
    assert cache.get(dataclasses.replace(KEY, precision="fp32")) is None
    path = cache.local_path(KEY)
    path.write_bytes(b"engine-bytez")  # torn or tampered file: its hash no longer matches
    assert cache.get(KEY) is None
    cache.put(KEY, b"engine-bytes")
    other = dataclasses.replace(KEY, trt_version="10.4.0")
    shutil.copy(path, cache.local_path(other))  # a hand-copied file under another key
    shutil.copy(path.with_suffix(".json"), cache.local_path(other).with_suffix(".json"))
    assert cache.get(other) is None


def test_cache_shares_through_object_storage(tmp_path):
    remote = (tmp_path / "bucket" / "engines").as_uri()  # file://... : any fsspec URL works alike
    node_a = EngineCache(tmp_path / "node-a", remote=remote)
    node_b = EngineCache(tmp_path / "node-b", remote=remote)
    node_a.put(KEY, b"built-on-a")
    assert node_b.get(KEY) == (b"built-on-a", remote)
    assert node_b.get(KEY) == (b"built-on-a", "local")  # copied to node b's disk


def test_cache_remote_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LPR_RAY_ENGINE_CACHE", "memory://lpr-test-engines")
    monkeypatch.setenv("LPR_RAY_ENGINE_CACHE_DIR", str(tmp_path / "local"))
    cache = EngineCache()
    assert cache.remote == "memory://lpr-test-engines" and cache.local_dir == tmp_path / "local"


def test_one_builder_per_node(tmp_path):
    cache = EngineCache(tmp_path / "c")
    calls = []

    def build():
        calls.append(threading.get_ident())
        time.sleep(0.5)
        return b"engine"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build(KEY, build))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(src for _, src in results) == ["built", "local", "local", "local"]
    assert all(data == b"engine" for data, _ in results)


def test_lock_times_out_with_a_clear_error(tmp_path):
    cache = EngineCache(tmp_path / "c")
    with cache.lock(KEY):
        other = EngineCache(tmp_path / "c")
        with pytest.raises(LprRayError, match="another process building"), other.lock(KEY, timeout_s=0.2):
            pass


# ---- FP16 conversion ---------------------------------------------------------------------


def _io_types(model):
    elem = lambda vi: vi.type.tensor_type.elem_type  # noqa: E731
    return {i.name: elem(i) for i in model.graph.input}, {o.name: elem(o) for o in model.graph.output}


def check_fp16_matches_fp32(model: onnx.ModelProto, n: int = 64, min_plates: float = 0.95):
    half = convert_to_fp16(model)
    assert _io_types(half) == _io_types(model)  # contract types kept: float32 in, int32 + float32 out
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in half.graph.initializer)
    assert not any(i.data_type == onnx.TensorProto.FLOAT for i in half.graph.initializer)
    x = {INPUT_NAME: to_model_input(images(n))}
    b32, p32 = ort_run(model, x)
    b16, p16 = ort_run(half, x)
    assert b16.dtype == np.int32 and p16.dtype == np.float32
    assert np.abs(p16 - p32).max() < 1e-2
    assert (b16 == b32).mean() > 0.99
    same = np.mean([a == b for a, b in zip(plates(b32, p32), plates(b16, p16), strict=True)])
    assert same >= min_plates
    return half


def test_fp16_contract_model_matches_fp32():
    check_fp16_matches_fp32(build_contract_model(len(US) + 1, seed=3))


def test_fp16_keeps_extra_outputs_and_does_not_touch_input():
    model = build_contract_model(len(US) + 1, seed=4, extra_output=True)
    before = model.SerializeToString()
    half = convert_to_fp16(model)
    assert model.SerializeToString() == before
    assert _io_types(half)[1]["softmax"] == onnx.TensorProto.FLOAT


def test_fp16_keeps_resize_scales_float32():
    from onnx import TensorProto, helper, numpy_helper

    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
        initializer=[scales],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    half = convert_to_fp16(model)
    assert {i.name: i.data_type for i in half.graph.initializer}["scales"] == TensorProto.FLOAT
    sess = ort.InferenceSession(half.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    assert sess.run(None, {"x": x})[0].shape == (1, 1, 4, 4)


def test_fp16_refuses_subgraphs():
    from onnx import TensorProto, helper

    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["y1"])], "b", [], [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [1])])
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)],
        "g",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(LprRayError, match="subgraphs"):
        convert_to_fp16(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))


def _torch_model(arch: str, seed: int, sharpen: float = 1.0):
    torch = pytest.importorskip("torch")
    from lpr_ray.models import create_model

    torch.manual_seed(seed)
    model = create_model(arch, len(US) + 1).eval()
    with torch.no_grad():  # random weights give flat softmaxes: make them pick classes
        for name, p in model.named_parameters():
            if name.startswith(("classifier.", "dense.")):
                p.mul_(sharpen)
    return model


@pytest.mark.parametrize("arch, sharpen", [("lprnet_small", 30.0), ("baseline18", 30.0), ("ppocr_v4", 30.0)])
def test_fp16_real_architectures_match_fp32(tmp_path, arch, sharpen):
    from lpr_ray.train.export import export_onnx

    export_onnx(_torch_model(arch, seed=0, sharpen=sharpen), tmp_path / "model.onnx")
    check_fp16_matches_fp32(onnx.load(str(tmp_path / "model.onnx")), n=32, min_plates=0.9)


# ---- the graph handed to TensorRT --------------------------------------------------------


@pytest.mark.parametrize(
    "version, precision, plan",
    [
        ("10.3.0", "fp16", BuildPlan(strongly_typed=False, fp16_flag=True, fp16_onnx=False)),
        ("10.13.2.6", "fp32", BuildPlan(strongly_typed=False, fp16_flag=False, fp16_onnx=False)),
        ("11.0.0", "fp16", BuildPlan(strongly_typed=True, fp16_flag=False, fp16_onnx=True)),
        ("11.4.1", "fp32", BuildPlan(strongly_typed=True, fp16_flag=False, fp16_onnx=False)),
    ],
)
def test_build_plan(version, precision, plan):
    assert plan_build(version, precision) == plan


def test_build_plan_refusals():
    with pytest.raises(LprRayError, match="too old"):
        plan_build("8.6.1", "fp16")
    with pytest.raises(LprRayError, match="precision"):
        plan_build("10.3.0", "int8")
    with pytest.raises(LprRayError, match="min <= opt <= max"):
        Profile(1, 256, 128)


def test_uint8_nhwc_front_normalises_like_the_contract():
    model = build_contract_model(len(US) + 1, seed=5, extra_output=True)
    wrapped = add_uint8_nhwc_input(model)
    assert [i.name for i in wrapped.graph.input] == [ENGINE_INPUT]
    assert [o.name for o in wrapped.graph.output] == [OUTPUT_ARGMAX, OUTPUT_MAX]
    imgs = images(16, seed=1)
    b_ref, p_ref = ort_run(model, {INPUT_NAME: to_model_input(imgs)})
    b, p = ort_run(wrapped, {ENGINE_INPUT: imgs})
    np.testing.assert_array_equal(b, b_ref)
    np.testing.assert_allclose(p, p_ref, rtol=0, atol=1e-6)


def test_trt11_graph_is_fp16_with_uint8_front():
    model = build_contract_model(len(US) + 1, seed=6)
    graph = prepare_onnx(model, plan_build("11.0.0", "fp16"))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph.graph.initializer)
    imgs = images(32, seed=2)
    b_ref, p_ref = ort_run(model, {INPUT_NAME: to_model_input(imgs)})
    b, p = ort_run(graph, {ENGINE_INPUT: imgs})
    assert (b == b_ref).mean() > 0.99 and np.abs(p - p_ref).max() < 1e-2
    # TensorRT 10 keeps the FP32 graph (the builder flag does the FP16)
    graph10 = prepare_onnx(model, plan_build("10.3.0", "fp16"))
    assert not any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph10.graph.initializer)


# ---- backend selection -------------------------------------------------------------------


def test_registry_and_availability_here():
    avail = base.available_backends()
    assert set(avail) >= {"onnxruntime", "torch", "tensorrt"}
    assert avail["onnxruntime"][0]
    if importlib.util.find_spec("tensorrt") is None:
        assert avail["tensorrt"][0] is False
        assert "TensorRT is not installed" in avail["tensorrt"][1]


def test_auto_picks_tensorrt_then_torch_on_cuda_then_onnxruntime(monkeypatch):
    trt_mod = base._module("tensorrt")
    torch_mod = base._module("torch")
    monkeypatch.setattr(trt_mod, "is_available", lambda: (False, "no TensorRT"))
    monkeypatch.setattr(torch_mod, "is_available", lambda: (True, "torch"))
    monkeypatch.setattr(torch_mod, "prefer_in_auto", lambda: False)  # CPU only
    assert resolve_backend_name("auto") == "onnxruntime"
    monkeypatch.setattr(torch_mod, "prefer_in_auto", lambda: True)  # CUDA
    assert resolve_backend_name("auto") == "torch"
    monkeypatch.setattr(trt_mod, "is_available", lambda: (True, "TensorRT on a T4"))
    assert resolve_backend_name("auto") == "tensorrt"
    assert resolve_backend_name("onnxruntime") == "onnxruntime"  # explicit always wins
    with pytest.raises(LprRayError, match="unknown backend"):
        resolve_backend_name("cuda")


def test_auto_on_this_machine():
    if gpu_probe.probe_gpus() and not isinstance(gpu_probe.probe_gpus(), str):
        pytest.skip("this machine has a GPU")
    assert resolve_backend_name("auto") == "onnxruntime"


def test_tensorrt_backend_refuses_clearly(tmp_path):
    spec = resolve_model(write_contract_model(tmp_path / "m", US))
    ok, reason = base._module("tensorrt").is_available()
    if ok:
        pytest.skip("TensorRT and a GPU are here")
    with pytest.raises(LprRayError, match="backend 'tensorrt' is not available: "):
        load_backend("tensorrt", spec)


def test_default_profile_matches_build_engine_defaults():
    from lpr_ray.backends.tensorrt import profile_for
    from lpr_ray.cli.main import build_parser

    args = build_parser().parse_args(["build-engine"])
    cli = Profile(args.min_batch, args.opt_batch, args.max_batch or args.opt_batch)
    assert profile_for(BackendOptions()) == cli == Profile(1, 128, 128)
    assert args.precision == "fp16"


@pytest.fixture
def fake_tensorrt(monkeypatch):
    """A `tensorrt` module that imports but must never be used: with no GPU, creating any
    TensorRT object would crash a real process."""
    mod = types.ModuleType("tensorrt")
    mod.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    mod.__version__ = "10.3.0"

    def boom(*a, **k):
        raise AssertionError("a TensorRT object was created without a GPU")

    mod.Builder = mod.Runtime = mod.Logger = boom
    monkeypatch.setitem(sys.modules, "tensorrt", mod)
    return mod


def test_tensorrt_installed_but_no_gpu(fake_tensorrt, monkeypatch):
    monkeypatch.setattr(gpu_probe, "import_cudart", lambda: FakeCudart(count_err=100))
    ok, reason = base._module("tensorrt").is_available()
    assert not ok and "no usable CUDA GPU" in reason


# ---- build-engine ------------------------------------------------------------------------


def test_build_engine_without_tensorrt_fails_clearly(tmp_path, capsys):
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    from lpr_ray.cli.main import main

    model_dir = tmp_path / "m"
    write_contract_model(model_dir, US)
    rc = main(["build-engine", "--model", str(model_dir), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "lpr-ray build-engine: error: cannot build a TensorRT engine here" in err
    assert "pip install 'lpr-ray[tensorrt]'" in err
    assert not (tmp_path / "cache").exists()


def test_build_engine_with_tensorrt_but_no_gpu(tmp_path, capsys, fake_tensorrt, monkeypatch):
    from lpr_ray.cli.main import main

    monkeypatch.setattr(gpu_probe, "import_cudart", lambda: FakeCudart(count_err=35, driver=0))
    write_contract_model(tmp_path / "m", US)
    rc = main(["build-engine", "--model", str(tmp_path / "m"), "--out", (tmp_path / "shared").as_uri()])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no usable GPU: no NVIDIA driver is installed" in err
    assert "TensorRT is not installed" not in err


def test_build_engine_is_a_command():
    out = subprocess.run(
        [sys.executable, "-m", "lpr_ray.cli.main", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "build-engine" in out


# ---- torch backend on the CPU ------------------------------------------------------------


def _write_torch_model(folder: Path, arch: str = "lprnet_small", seed: int = 0, ckpt_seed: int | None = None):
    """model.onnx (export) + characters_list.txt + model.pt (weights-only checkpoint)."""
    torch = pytest.importorskip("torch")
    from lpr_ray.train.export import export_onnx

    folder.mkdir(parents=True, exist_ok=True)
    model = _torch_model(arch, seed, sharpen=30.0)
    export_onnx(model, folder / "model.onnx")
    (folder / "characters_list.txt").write_text(Charset(tuple(US)).to_text(), encoding="utf-8")
    saved = model if ckpt_seed is None else _torch_model(arch, ckpt_seed, sharpen=30.0)
    torch.save({"arch": arch, "characters": list(US), "model": saved.state_dict()}, folder / "model.pt")
    return folder


def _test_images(n: int) -> np.ndarray:
    parts = [images(n, seed=9)]
    if REAL.exists():
        from lpr_ray.core.dataset import load_tao_arrays

        parts.append(load_tao_arrays(str(REAL), Charset(tuple(US)))[0][:n])
    return np.concatenate(parts)


@pytest.mark.parametrize("arch", ["lprnet_small", "baseline18"])
def test_torch_cpu_plates_match_onnxruntime(tmp_path, arch):
    spec = resolve_model(_write_torch_model(tmp_path / "m", arch))
    torch_be = load_backend("torch", spec, BackendOptions(threads=1, device="cpu"))
    ort_be = load_backend("onnxruntime", spec, BackendOptions(threads=1))
    assert torch_be.name == "torch" and "cpu" in torch_be.describe() and "fp32" in torch_be.describe()
    imgs = _test_images(48 if arch == "lprnet_small" else 16)
    tb, tp = torch_be.infer(imgs)
    ob, op = ort_be.infer(imgs)
    assert tb.dtype == np.int32 and tp.dtype == np.float32 and tb.shape == ob.shape
    assert plates(tb, tp) == plates(ob, op)
    assert np.abs(tp - op).max() < 1e-4


def test_torch_needs_its_checkpoint(tmp_path):
    pytest.importorskip("torch")
    folder = _write_torch_model(tmp_path / "m")
    (folder / "model.pt").unlink()
    with pytest.raises(LprRayError, match="--with-checkpoint"):
        load_backend("torch", resolve_model(folder), BackendOptions(device="cpu"))


def test_torch_refuses_a_stale_checkpoint(tmp_path):
    folder = _write_torch_model(tmp_path / "m", seed=0, ckpt_seed=1)
    with pytest.raises(LprRayError, match="does not compute what"):
        load_backend("torch", resolve_model(folder), BackendOptions(device="cpu"))


def test_torch_refuses_other_characters(tmp_path):
    folder = _write_torch_model(tmp_path / "m")
    (folder / "characters_list.txt").write_text("\n".join(US[::-1]) + "\n", encoding="utf-8")
    with pytest.raises(LprRayError, match="other characters"):
        load_backend("torch", resolve_model(folder), BackendOptions(device="cpu"))


# ---- the recogniser's fallback (no Ray) --------------------------------------------------


def test_recognizer_auto_falls_back_when_gpu_backend_fails(tmp_path, monkeypatch, caplog):
    from lpr_ray.pipeline.recognizer import Recognizer

    model_dir = tmp_path / "m"
    write_contract_model(model_dir, US)  # no model.pt: the torch backend cannot load it
    torch_mod = base._module("torch")
    monkeypatch.setattr(torch_mod, "prefer_in_auto", lambda: True)
    monkeypatch.setattr(base._module("tensorrt"), "is_available", lambda: (False, "no TensorRT"))
    with caplog.at_level("WARNING"):
        rec = Recognizer(str(model_dir), None, "auto", run_id="r")
    assert rec.backend.name == "onnxruntime"
    assert "FALLING BACK to onnxruntime" in caplog.text and "torch failed to load" in caplog.text


def test_recognizer_auto_on_a_cpu_machine_is_quiet(tmp_path, caplog):
    from lpr_ray.pipeline.recognizer import Recognizer

    if not isinstance(gpu_probe.probe_gpus(), str):
        pytest.skip("this machine has a GPU")
    write_contract_model(tmp_path / "m", US)
    with caplog.at_level("WARNING"):
        rec = Recognizer(str(tmp_path / "m"), None, "auto", run_id="r")
    assert rec.backend.name == "onnxruntime" and "FALLING BACK" not in caplog.text


# ---- GPU actors on a real local Ray cluster that declares a GPU --------------------------

RAY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import ray
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import run_job
    from lpr_ray.pipeline.plan import plan_actors

    model, inp, out = sys.argv[1:4]
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False)
    res = ray.cluster_resources()
    print("PLAN", json.dumps(plan_actors(res["CPU"], res.get("GPU", 0), use_gpu=True).__dict__), flush=True)
    summary = run_job(RunConfig(input=inp, output=out, model=model, backend="auto", batch_size=4))
    print("ROWS", summary.rows, flush=True)
    ray.shutdown()
    """
)


@pytest.mark.slow
def test_gpu_actors_fall_back_to_onnxruntime_on_a_node_without_gpu(tmp_path):
    pytest.importorskip("ray")
    import cv2
    import pyarrow.parquet as pq

    if not isinstance(gpu_probe.probe_gpus(), str):
        pytest.skip("this machine has a GPU: the actor would use it")
    model_dir = tmp_path / "model"
    write_contract_model(model_dir, US)
    inp = tmp_path / "in"
    inp.mkdir()
    for i, img in enumerate(images(6, seed=11)):
        cv2.imwrite(str(inp / f"{i:03d}.png"), cv2.resize(img, (120, 40)))
    (inp / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    # Short private temp dir (socket paths are length-limited); deleted afterwards.
    ray_tmp = tempfile.mkdtemp(prefix="lprgpu", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_TMPDIR=ray_tmp, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", RAY_SCRIPT, str(model_dir), str(inp), str(out)],
            capture_output=True, text=True, env=env, timeout=300,
        )
        logs = "".join(p.read_text(errors="replace") for p in Path(ray_tmp).rglob("worker-*.err"))
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert '"num_gpus": 1.0' in output  # the job planned GPU actors
    assert "ROWS 7" in output
    table = pq.read_table(out)
    assert table.num_rows == 7
    ok = [r for r in table.to_pylist() if r["status"] != "not_an_image"]
    assert len(ok) == 6 and {r["backend"] for r in ok} == {"onnxruntime"}
    warning = "FALLING BACK to onnxruntime on the CPU"
    assert warning in output or warning in logs, (output[-3000:], logs[-3000:])


# ---- on the lent GPU machine -------------------------------------------------------------


def _cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    return torch


@pytest.mark.gpu
@pytest.mark.parametrize("arch", ["lprnet_small", "baseline18", "ppocr_v4"])
def test_torch_cuda_fp16_matches_onnxruntime(tmp_path, arch):
    _cuda()
    spec = resolve_model(_write_torch_model(tmp_path / "m", arch))
    assert resolve_backend_name("auto") in ("torch", "tensorrt")
    gpu_be = load_backend("torch", spec, BackendOptions(device="cuda", precision="fp16"))
    ort_be = load_backend("onnxruntime", spec, BackendOptions(threads=4))
    assert "cuda" in gpu_be.describe() and "fp16" in gpu_be.describe()
    imgs = _test_images(300)  # several full batches (CUDA graph) and a partial one (eager)
    gb, gp = gpu_be.infer(imgs)
    ob, op = ort_be.infer(imgs)
    assert gb.dtype == np.int32 and gp.dtype == np.float32
    same = np.mean([a == b for a, b in zip(plates(gb, gp), plates(ob, op), strict=True)])
    assert same >= 0.97, same
    assert np.abs(gp - op).max() < 5e-2


@pytest.mark.gpu
def test_torch_cuda_called_from_another_thread(tmp_path):
    _cuda()
    spec = resolve_model(_write_torch_model(tmp_path / "m"))
    be = load_backend("torch", spec, BackendOptions(device="cuda", precision="fp16"))
    imgs = _test_images(128)
    here = be.infer(imgs)
    there = []
    t = threading.Thread(target=lambda: there.append(be.infer(imgs)))  # as Ray Data does
    t.start()
    t.join()
    np.testing.assert_array_equal(here[0], there[0][0])


@pytest.mark.gpu
def test_gpu_probe_finds_the_gpu():
    if importlib.util.find_spec("cuda") is None:
        pytest.skip("cuda-python is not installed")
    _cuda()
    gpus = gpu_probe.probe_gpus()
    assert isinstance(gpus, list) and gpus, gpus
    assert gpus[0].compute_capability.count(".") == 1


@pytest.mark.gpu
def test_tensorrt_engine_matches_onnxruntime(tmp_path, monkeypatch):
    if importlib.util.find_spec("tensorrt") is None:
        pytest.skip("TensorRT is not installed (it cannot be on this project's machines)")
    spec = resolve_model(_write_torch_model(tmp_path / "m"))
    monkeypatch.setenv("LPR_RAY_ENGINE_CACHE_DIR", str(tmp_path / "engines"))
    be = load_backend("tensorrt", spec, BackendOptions(precision="fp16"))
    imgs = _test_images(200)
    tb, tp = be.infer(imgs)
    ob, op = load_backend("onnxruntime", spec).infer(imgs)
    same = np.mean([a == b for a, b in zip(plates(tb, tp), plates(ob, op), strict=True)])
    assert same >= 0.97


# ---- simulated TensorRT + CUDA: lpr-ray's own builder/runner logic, not TensorRT's ------
# The fakes keep TensorRT's and cuda-python's calling conventions; "device memory" is host
# memory and the "engine" is the graph lpr-ray hands to TensorRT, run by ONNX Runtime. This
# checks the call sequence, buffer sizes, offsets, dtypes, batching and the cache flow.


class SimCudart(FakeCudart):
    cudaStreamNonBlocking = 1
    cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def __init__(self):
        super().__init__(devices=[("Tesla T4", 7, 5, 16 * 2**30)])
        self.buffers, self.current = {}, {}

    def _alloc(self, n):
        import ctypes

        buf = ctypes.create_string_buffer(n)
        self.buffers[ctypes.addressof(buf)] = buf
        return (0, ctypes.addressof(buf))

    cudaMallocHost = cudaMalloc = _alloc  # noqa: N815

    def cudaFree(self, ptr):  # noqa: N802
        self.buffers.pop(ptr)
        return (0,)

    cudaFreeHost = cudaFree  # noqa: N815

    def cudaSetDevice(self, d):  # noqa: N802
        self.current[threading.get_ident()] = d
        return (0,)

    def cudaMemcpyAsync(self, dst, src, n, kind, stream):  # noqa: N802
        import ctypes

        assert self.current.get(threading.get_ident()) == 0, "no device set on this thread"
        ctypes.memmove(dst, src, n)
        return (0,)

    def cudaStreamCreateWithFlags(self, flags):  # noqa: N802
        return (0, 7)

    def cudaStreamSynchronize(self, s):  # noqa: N802
        return (0,)

    def cudaStreamDestroy(self, s):  # noqa: N802
        return (0,)


def sim_tensorrt(version: str, log: list):
    import ctypes
    import pickle

    trt = types.ModuleType("tensorrt")
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)
    trt.__version__ = version
    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None})
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16")
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.nptype = lambda t: t

    class Builder:
        def __init__(self, logger):
            self.state = {"flags": [], "profile": {}}

        def create_network(self, flags):
            self.state["network_flags"] = flags
            return self.state

        def create_builder_config(self):
            b = self

            class Config:
                def set_memory_pool_limit(self, pool, size):
                    b.state["workspace"] = size

                def set_flag(self, flag):
                    b.state["flags"].append(flag)

                def add_optimization_profile(self, p):
                    pass

            return Config()

        def create_optimization_profile(self):
            b = self

            class Prof:
                def set_shape(self, name, mn, opt, mx):
                    b.state["profile"][name] = (mn, opt, mx)

            return Prof()

        def build_serialized_network(self, network, config):
            log.append(dict(self.state))
            return pickle.dumps(self.state)

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger):
            self.network = network

        def parse(self, data):
            self.network["onnx"] = data
            return True

    class Engine:
        def __init__(self, state):
            self.state = state
            self.sess = ort.InferenceSession(state["onnx"], providers=["CPUExecutionProvider"])
            self.io = [ENGINE_INPUT, OUTPUT_ARGMAX, OUTPUT_MAX]
            self.num_io_tensors = 3

        def get_tensor_name(self, i):
            return self.io[i]

        def get_tensor_profile_shape(self, name, index):
            return self.state["profile"][name]

        def get_tensor_shape(self, name):
            return (-1, 24) if name != ENGINE_INPUT else (-1, 48, 96, 3)

        def get_tensor_dtype(self, name):
            return {ENGINE_INPUT: np.uint8, OUTPUT_ARGMAX: np.int32, OUTPUT_MAX: np.float32}[name]

        def create_execution_context(self):
            engine = self

            class Context:
                addr, shape = {}, None

                def set_tensor_address(self, name, ptr):
                    self.addr[name] = ptr
                    return True

                def set_input_shape(self, name, shape):
                    self.shape = tuple(shape)
                    return shape[0] <= engine.state["profile"][ENGINE_INPUT][2][0]

                def execute_async_v3(self, stream):
                    n = self.shape[0]
                    raw = (ctypes.c_uint8 * (n * 48 * 96 * 3)).from_address(self.addr[ENGINE_INPUT])
                    x = np.frombuffer(raw, np.uint8).reshape(self.shape)
                    for name, out in zip((OUTPUT_ARGMAX, OUTPUT_MAX), engine.sess.run([OUTPUT_ARGMAX, OUTPUT_MAX], {ENGINE_INPUT: x}), strict=True):
                        out = np.ascontiguousarray(out)
                        ctypes.memmove(self.addr[name], out.ctypes.data, out.nbytes)
                    log.append(("execute", n))
                    return True

            return Context()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            return Engine(pickle.loads(data))

    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, OnnxParser, Runtime
    return trt


@pytest.mark.parametrize("version", ["10.3.0", "11.0.0"])
def test_simulated_tensorrt_build_cache_and_run(tmp_path, monkeypatch, version):
    from lpr_ray.backends import tensorrt as trt_backend

    log: list = []
    cudart = SimCudart()
    monkeypatch.setitem(sys.modules, "tensorrt", sim_tensorrt(version, log))
    monkeypatch.setattr(gpu_probe, "import_cudart", lambda: cudart)
    monkeypatch.setattr(trt_backend, "import_cudart", lambda: cudart)
    monkeypatch.setenv("LPR_RAY_ENGINE_CACHE_DIR", str(tmp_path / "engines"))
    spec = resolve_model(write_contract_model(tmp_path / "m", US, seed=7))
    assert trt_backend.is_available()[0]
    assert resolve_backend_name("auto") == "tensorrt"

    be = load_backend("tensorrt", spec, BackendOptions(precision="fp16", batch_size=8))
    build = log[0]
    assert build["profile"][ENGINE_INPUT] == ((1, 48, 96, 3), (8, 48, 96, 3), (8, 48, 96, 3))
    if version.startswith("10"):
        assert build["flags"] == ["FP16"] and build["network_flags"] == 0
    else:
        assert build["flags"] == [] and build["network_flags"] == 2
    assert be.source == "built" and "Tesla T4" in be.describe()
    imgs = images(19, seed=3)  # 8 + 8 + 3: the max batch splits it
    ref_b, ref_p = load_backend("onnxruntime", spec).infer(imgs)
    got = []
    t = threading.Thread(target=lambda: got.append(be.infer(imgs)))  # another thread, as Ray does
    t.start()
    t.join()
    b, p = got[0]
    assert [e for e in log if isinstance(e, tuple)] == [("execute", 8), ("execute", 8), ("execute", 3)]
    assert b.dtype == np.int32 and p.dtype == np.float32 and b.shape == (19, 24)
    if version.startswith("10"):  # the FP32 graph (the builder flag would do FP16 on a GPU)
        np.testing.assert_array_equal(b, ref_b)
        np.testing.assert_allclose(p, ref_p, atol=1e-6)
    else:  # the FP16 graph
        assert (b == ref_b).mean() > 0.99 and np.abs(p - ref_p).max() < 1e-2
    be.close()
    assert not cudart.buffers  # every host and device buffer freed

    again = load_backend("tensorrt", spec, BackendOptions(precision="fp16", batch_size=8))
    assert again.source == "local" and len([e for e in log if isinstance(e, dict)]) == 1
    again.close()
