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

from lpr_ray.cli.main import main
from lpr_ray.core.charset import US
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.objects import read_object
from lpr_ray.pipeline import job as job_module
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.fetch import fetch_and_decode
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
    # Markers are objects of the archive like any other: they get rows (issue 21).
    want = [str(src / "_SUCCESS"), str(src / "lot1" / ".DS_Store"), str(src / "lot1" / "a.png")]
    for uri in (str(src), str(src / "**")):
        listed = resolve_inputs(uri, exclude=exclude).table.column("uri").to_pylist()
        assert listed == want, uri
    with pytest.raises(LprRayError, match="holds only the run's own output"):
        resolve_inputs(str(src / "results"), exclude=exclude)


def test_s3_folder_markers_are_inputs_too(s3):
    """Every key gets a row, _SUCCESS too (an empty_object row, issue 21); an empty "sub/" key
    is a folder, not an object."""
    s3.put(f"s3://{s3.bucket}/markers/a.png", png())
    s3.boto3_client().put_object(Bucket=s3.bucket, Key="markers/sub/", Body=b"")
    s3.put(f"s3://{s3.bucket}/markers/sub/b.png", png(1))
    s3.put(f"s3://{s3.bucket}/markers/sub/_SUCCESS", b"")
    want = [f"s3://{s3.bucket}/markers/{k}" for k in ("a.png", "sub/_SUCCESS", "sub/b.png")]
    for uri in (f"s3://{s3.bucket}/markers/", f"s3://{s3.bucket}/markers/**"):
        assert sorted(resolve_inputs(uri).table.column("uri").to_pylist()) == sorted(want), uri


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
    from lpr_ray.core import storage

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
    # A labelled object that cannot be read counts as not read correctly (the run's accuracy
    # is over every labelled image, not only the decodable ones).
    (tmp_path / "bad.png").write_bytes(b"not an image")
    bad = fetch_and_decode({"uri": np.array([str(tmp_path / "bad.png")], dtype=object),
                            "label": np.array(["ABC123"], dtype=object)})
    row = rec(bad).to_pylist()[0]
    assert (row["status"], row["plate"], row["correct"]) == ("not_an_image", None, False)
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
    from lpr_ray.results.ledger import stat_uris

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


def test_a_model_that_cannot_run_is_refused_before_ray(tmp_path, monkeypatch):
    """A corrupt model.onnx passed the driver's checks and failed in every recogniser actor,
    with Ray tracebacks; so did --decode grammar with a model that has no softmax output."""
    _no_ray(monkeypatch)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(png())
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.onnx").write_bytes(b"garbage")
    (corrupt / "characters_list.txt").write_text("\n".join(US.characters) + "\n")
    with pytest.raises(LprRayError, match="ONNX Runtime cannot load"):
        job_module.run_job(RunConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), model=str(corrupt)))
    plain = tmp_path / "plain"
    write_contract_model(plain, list(US.characters))
    with pytest.raises(LprRayError, match="no 'softmax' output"):
        job_module.run_job(RunConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"),
                                     model=str(plain), decode="grammar"))


def test_refused_credentials_are_one_line_naming_the_uri(s3, tmp_path):
    """A wrong secret key ended `run`, `query` and `report` in a 60-line s3fs or pyarrow traceback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **s3.env(), "AWS_SECRET_ACCESS_KEY": "wrong" * 8}
    s3.put(f"s3://{s3.bucket}/creds/a.png", png())
    cases = [
        (["run", "--input", f"s3://{s3.bucket}/creds/", "--output", str(tmp_path / "out")],
         f"cannot read the input s3://{s3.bucket}/creds/: access denied"),
        (["run", "--input", str(tmp_path), "--output", f"s3://{s3.bucket}/creds-out/"],
         f"cannot use --output s3://{s3.bucket}/creds-out/: access denied"),
        (["query", "--results", f"s3://{s3.bucket}/creds-out", "--plate", "ABC123"],
         f"cannot read the results s3://{s3.bucket}/creds-out: access denied"),
        (["report", "--results", f"s3://{s3.bucket}/creds-out", "--out", str(tmp_path / "r.html")],
         f"cannot make the report from s3://{s3.bucket}/creds-out: access denied"),
    ]
    for argv, says in cases:
        done = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", *argv], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (argv, done.stderr[-2000:])
        assert says in done.stderr and "check the credentials" in done.stderr, (argv, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (argv, done.stderr[-2000:])
        assert env["AWS_SECRET_ACCESS_KEY"] not in done.stderr  # never the secret itself


def test_an_incremental_run_keeps_the_first_row_of_each_uri_in_input_order():
    import pyarrow as pa

    table = pa.table({"uri": ["A", "A", "B", "C", "B", "D"], "label": ["a1", "a2", "b1", "c", "b2", "d"]})
    got = job_module._unique_uris(table).to_pydict()
    assert got == {"uri": ["A", "B", "C", "D"], "label": ["a1", "b1", "c", "d"]}
