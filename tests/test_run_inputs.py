"""What `lpr-ray run` accepts before Ray starts, and how objects are listed and read: run
config and CLI validation, manifests, listings, reads over S3 and HTTP, labels.
No Ray here: these paths run on the driver or in plain functions (fetch, the recogniser)."""

from __future__ import annotations

import functools
import http.server
import threading

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from contract_models import write_contract_model

from lpr_ray.charset import US
from lpr_ray.cli.main import main
from lpr_ray.errors import LprRayError
from lpr_ray.pipeline import job as job_module
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.fetch import fetch_and_decode, read_object
from lpr_ray.pipeline.inputs import resolve_inputs
from lpr_ray.pipeline.recognizer import Recognizer
from lpr_ray.pipeline.summary import run_files


def png(i: int = 0) -> bytes:
    rng = np.random.default_rng(i)
    return cv2.imencode(".png", rng.integers(0, 256, size=(24, 80, 3), dtype=np.uint8))[1].tobytes()


# --- run config and CLI -------------------------------------------------------------------


@pytest.mark.parametrize("run_id", ["../../escape", "nightly/2026", "a.b", "", "-x", "x" * 101, "x y"])
def test_bad_run_id_is_refused_with_what_is_allowed(run_id):
    with pytest.raises(LprRayError, match=r"--run-id .* letters, digits, '_' or '-'"):
        RunConfig(input="in", output="out", run_id=run_id)


def test_run_id_named_like_a_rewrite_is_refused():
    # Its ledger file would be another run's rewritten ledger (_ledger/nightly_r1.parquet).
    with pytest.raises(LprRayError, match=r"--run-id 'nightly_r1'.*_r<N>"):
        RunConfig(input="in", output="out", run_id="nightly_r1")


@pytest.mark.parametrize("run_id", ["nightly", "nightly_retry", "2026-05-01_run-2", "20260501T000000Z-0a1b2c3d"])
def test_good_run_ids_pass(run_id):
    assert RunConfig(input="in", output="out", run_id=run_id).run_id == run_id


def test_default_run_id_is_valid():
    RunConfig(input="in", output="out")  # the generated id passes its own check


def test_config_refuses_threads_backend_and_rows_per_file_with_both_flags():
    with pytest.raises(LprRayError, match="--threads-per-actor must be >= 1.*got 0"):
        RunConfig(input="in", output="out", threads_per_actor=0)
    with pytest.raises(LprRayError, match="unknown --backend 'bogus'.*onnxruntime"):
        RunConfig(input="in", output="out", backend="bogus")
    with pytest.raises(LprRayError, match=r"--min-rows-per-file \(20000\).*--rows-per-file \(5000\)"):
        RunConfig(input="in", output="out", rows_per_file=5000)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--threads-per-actor", "-1"], "--threads-per-actor: expected a whole number >= 1, got '-1'"),
        (["--threads-per-actor", "0"], "--threads-per-actor: expected a whole number >= 1, got '0'"),
        (["--num-actors", "0"], "--num-actors: expected a whole number >= 1"),
        (["--batch-size", "x"], "--batch-size: expected a whole number, got 'x'"),
    ],
)
def test_cli_refuses_bad_numbers_before_anything_runs(flags, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--input", "in", "--output", "out", *flags])
    assert exc.value.code == 2
    assert expected in capsys.readouterr().err


def test_cli_bad_backend_and_run_id_are_one_line_errors(capsys, tmp_path):
    for flags, expected in [
        (["--backend", "bogus"], "lpr-ray run: error: unknown --backend 'bogus'"),
        (["--run-id", "../../escape"], "lpr-ray run: error: --run-id '../../escape' is not a valid run id"),
    ]:
        assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "out"), *flags]) == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape").exists()


def _no_ray(monkeypatch):
    def refuse():
        raise AssertionError("Ray must not start for a run that cannot write its output")

    monkeypatch.setattr(job_module, "connect_ray", refuse)


def test_unusable_output_is_refused_before_ray(s3, tmp_path, monkeypatch):
    _no_ray(monkeypatch)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(png())
    (tmp_path / "a-file").write_text("x")
    cases = [
        (f"s3://no-such-bucket-{s3.bucket}/res/", "the bucket 'no-such-bucket-lpr-test' does not exist"),
        (str(tmp_path / "a-file"), "is a file; expected a folder"),
        (str(tmp_path / "a-file" / "below"), "is a file; expected a folder"),
    ]
    for output, expected in cases:
        with pytest.raises(LprRayError, match=expected) as exc:
            job_module.run_job(RunConfig(input=str(tmp_path / "in"), output=output))
        assert output in str(exc.value)
    with pytest.raises(LprRayError, match="--ledger .* is a file"):
        job_module.run_job(RunConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"),
                                     ledger=str(tmp_path / "a-file")))


# --- inputs -------------------------------------------------------------------------------


def test_bad_input_uris_and_manifests_are_clear_errors(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet at all PAR1")
    (tmp_path / "latin1.csv").write_bytes("uri,label\n/x/caf\xe9.png,ABC123\n".encode("latin-1"))
    cases = [
        ("s4://x/y", "input s4://x/y: cannot open its storage .*Protocol not known"),
        (str(tmp_path / "bad.parquet"), "manifest .*bad.parquet is not a readable Parquet file"),
        (str(tmp_path / "latin1.csv"), "manifest .*latin1.csv is not UTF-8 text"),
    ]
    for uri, expected in cases:
        with pytest.raises(LprRayError, match=expected):
            resolve_inputs(uri)


def test_header_only_csv_and_empty_parquet_manifests_are_zero_inputs(tmp_path):
    import pyarrow as pa

    (tmp_path / "m.csv").write_text("uri,label\n")
    pq.write_table(pa.table({"uri": pa.array([], pa.string())}), tmp_path / "m.parquet")
    for name in ("m.csv", "m.parquet"):
        inputs = resolve_inputs(str(tmp_path / name))
        assert (inputs.kind, inputs.count) == ("manifest", 0)


def test_output_and_ledger_inside_the_input_are_not_inputs(tmp_path):
    src = tmp_path / "archive"
    (src / "lot1").mkdir(parents=True)
    (src / "lot1" / "a.png").write_bytes(png())
    for rel in ("results/data/run_date=2026-05-01/r_x.parquet", "results/_runs/r/config.json",
                "ledger/r.parquet", "_SUCCESS", "lot1/.DS_Store"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"x")
    exclude = (str(src / "results") + "/", str(src / "ledger"))
    for uri in (str(src), str(src / "**")):
        listed = resolve_inputs(uri, exclude=exclude).table.column("uri").to_pylist()
        assert listed == [str(src / "lot1" / "a.png")], uri
    with pytest.raises(LprRayError, match="holds only the run's own output"):
        resolve_inputs(str(src / "results"), exclude=exclude)


def test_s3_folder_markers_are_not_inputs(s3):
    s3.put(f"s3://{s3.bucket}/markers/a.png", png())
    s3.boto3_client().put_object(Bucket=s3.bucket, Key="markers/sub/", Body=b"")
    s3.put(f"s3://{s3.bucket}/markers/sub/b.png", png(1))
    s3.put(f"s3://{s3.bucket}/markers/sub/_SUCCESS", b"")
    want = [f"s3://{s3.bucket}/markers/a.png", f"s3://{s3.bucket}/markers/sub/b.png"]
    for uri in (f"s3://{s3.bucket}/markers/", f"s3://{s3.bucket}/markers/**"):
        assert resolve_inputs(uri).table.column("uri").to_pylist() == want, uri


# --- reads --------------------------------------------------------------------------------


@pytest.fixture
def http_folder(tmp_path):
    """A folder served by Python's http.server on 127.0.0.1 (a free port)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_objects_are_read(http_folder):
    root, base = http_folder
    (root / "a.png").write_bytes(png())
    (root / "b.txt").write_text("not an image")
    out = fetch_and_decode({"uri": np.array([f"{base}/a.png", f"{base}/b.txt", f"{base}/gone.png"], dtype=object)})
    assert list(out["status"]) == ["ok", "not_an_image", "not_found"]
    assert (out["width"][0], out["height"][0]) == (80, 24)


def test_s3_access_denied_is_labelled_access_denied(s3, monkeypatch):
    from lpr_ray import storage

    uri = f"s3://{s3.bucket}/denied/4031.png"  # a 403-looking key must not decide the status
    s3.put(uri, png())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-a-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    storage._arrow_filesystem.cache_clear()  # the cached filesystem holds the good credentials
    try:
        data, status, error = read_object(uri, 1 << 20)
    finally:
        monkeypatch.undo()
        storage._arrow_filesystem.cache_clear()
    assert (data, status) == (None, "access_denied"), error
    assert read_object(f"s3://{s3.bucket}/denied/missing-4031.png", 1 << 20)[1] == "not_found"


# --- rows ---------------------------------------------------------------------------------


def test_manifest_labels_are_normalised_like_tao_labels(tmp_path):
    model = tmp_path / "model"
    write_contract_model(model, list(US.characters), seed=5)
    rec = Recognizer(model=str(model), characters=None, backend="onnxruntime", run_id="r")
    (tmp_path / "a.png").write_bytes(png())
    uris = [str(tmp_path / "a.png")] * 4
    batch = fetch_and_decode({"uri": np.array(uris, dtype=object),
                              "label": np.array(["svr-4986", "SVR 4986", "", None], dtype=object)})
    batch["image"].setflags(write=False)  # as Ray hands batches: read-only
    rows = rec(batch).to_pylist()
    assert [r["label"] for r in rows] == ["SVR4986", "SVR4986", None, None]
    assert rows[0]["correct"] == (rows[0]["plate"] == "SVR4986") and rows[2]["correct"] is None
    # O is read as 0 when the dictionary has no O (US plates), as for TAO labels.
    assert rec._labels(np.array(["ob0-1"], dtype=object)).tolist() == [US.normalize_label("ob0-1")]


# --- a run's files ------------------------------------------------------------------------


def test_run_files_match_the_writers_names_only(tmp_path):
    part = tmp_path / "data" / "run_date=2026-05-01"
    part.mkdir(parents=True)
    uuid = "0123456789abcdef0123456789abcdef"
    names = {
        "nightly": [f"nightly_{uuid}_000000-0.parquet", f"nightly_{uuid}_000001-0.parquet"],
        "nightly_r1": ["nightly_r1-0.parquet"],  # "nightly"'s first rewrite, not a run
        "nightly_retry": [f"nightly_retry_{uuid}_000000-0.parquet", "nightly_retry_r2-0.parquet"],
    }
    for files in names.values():
        for n in files:
            (part / n).write_bytes(b"x")
    base = lambda paths: sorted(p.rsplit("/", 1)[1] for p in paths)  # noqa: E731
    assert base(run_files(str(tmp_path), "nightly")) == sorted(names["nightly"] + names["nightly_r1"])
    assert base(run_files(str(tmp_path), "nightly", rewrite=0)) == sorted(names["nightly"])
    assert base(run_files(str(tmp_path), "nightly", rewrite=1)) == ["nightly_r1-0.parquet"]
    assert base(run_files(str(tmp_path), "nightly_retry")) == sorted(names["nightly_retry"])
    assert base(run_files(str(tmp_path), "nightly_retry", rewrite=2)) == ["nightly_retry_r2-0.parquet"]


def test_manifest_mixing_schemes_gets_every_objects_version(s3, tmp_path):
    """A local path after an s3:// URI (and the reverse) is stat'ed with its own filesystem."""
    from lpr_ray.pipeline.ledger import stat_uris

    local = tmp_path / "a.png"
    local.write_bytes(png())
    remote = f"s3://{s3.bucket}/mixed/b.png"
    s3.put(remote, png(1))
    for uris in ([remote, str(local)], [str(local), remote]):
        table = stat_uris(uris)
        rows = {r["uri"]: r for r in table.to_pylist()}
        assert rows[str(local)]["size"] == local.stat().st_size, uris
        assert rows[remote]["etag"], uris
        assert None not in table.column("version").to_pylist(), uris
