"""Chinese plates end to end: synthetic plates of every type and real CCPD crops through the
real Ray job on the local S3 server with the shipped `cn_lprnet_small`, UTF-8 rows, `eval`
by plate type, and `query` exact, wildcard and fuzzy over Chinese text."""

from __future__ import annotations

from collections import Counter

import pytest
from realdata import REAL

from lpr_ray.cli.main import main
from lpr_ray.core.charset import CN
from lpr_ray.core.dataset import list_tao
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.job import run_job
from lpr_ray.results import query
from lpr_ray.results.table import read_results
from lpr_ray.synth import write_dataset

CN_REAL = REAL.parent / "cn_real_val"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cn_run(s3, ray_cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("cn")
    write_dataset(str(work / "synthetic"), 120, seed=77, region="cn")
    # one TAO dataset (images/ + labels/ by the same stems): the synthetic plates by type,
    # the real crops as one more folder
    s3.upload_dir(str(work / "synthetic"), f"s3://{s3.bucket}/cn-in")
    for part in ("images", "labels"):
        s3.upload_dir(str(CN_REAL / part), f"s3://{s3.bucket}/cn-in/{part}/real")
    output = f"s3://{s3.bucket}/cn-out"
    summary = run_job(RunConfig(input=f"s3://{s3.bucket}/cn-in/", output=output, model="cn_lprnet_small"))
    return summary, output, work


def test_every_image_gets_one_utf8_row_with_per_character_confidences(cn_run):
    summary, output, _ = cn_run
    rows = read_results(output).to_pylist()
    n_real = len(list((CN_REAL / "images").iterdir()))
    assert summary.rows == len(rows) == 120 + n_real
    assert max(Counter(r["uri"] for r in rows).values()) == 1
    assert all(r["model"].startswith("cn_lprnet_small@") for r in rows)
    read = [r for r in rows if r["status"] == "ok"]
    assert len(read) > 0.95 * len(rows)
    for r in read:
        assert set(r["plate"]) <= set(CN.characters), r["plate"]
        assert len(r["char_confidences"]) == len(r["plate"])
        assert r["correct"] == (r["plate"] == r["label"])
    provinces = sum(r["plate"][0] in CN.characters[:31] for r in read)
    assert provinces > 0.9 * len(read)  # the Chinese characters survive Parquet and back
    real = [r for r in rows if "/real/" in r["uri"]]
    accuracy = sum(bool(r["correct"]) for r in real) / len(real)
    assert accuracy > 0.9, accuracy  # a sanity bound; the model card has the measured figure


def test_query_finds_chinese_plates_exactly_by_wildcard_and_fuzzily(cn_run):
    _, output, _ = cn_run
    rows = [r for r in read_results(output).to_pylist() if r["correct"]]
    target = rows[0]["plate"]
    exact = query.find_plates(output, target).to_pylist()
    assert exact and all(r["plate"] == target for r in exact)
    dotted = target[:2] + "·" + target[2:]  # as plates are written
    assert query.find_plates(output, dotted).num_rows == len(exact)
    wild = query.find_plates(output, target[:2] + "*", mode="wildcard").to_pylist()
    assert wild and all(r["plate"].startswith(target[:2]) for r in wild)
    other = next(p for p in CN.characters[:31] if p != target[0])
    fuzzy = query.find_plates(output, other + target[1:], mode="fuzzy").to_pylist()
    assert {"plate": target, "match": "confusion"} in [{k: r[k] for k in ("plate", "match")} for r in fuzzy]


@pytest.mark.parametrize("model", ["cn_lprnet_small", "cn_lprnet_medium"])
def test_eval_reports_accuracy_by_plate_type(cn_run, capsys, model):
    _, _, work = cn_run
    assert main(["eval", str(work / "synthetic"), "--model", model]) == 0
    out = capsys.readouterr().out
    assert f"model {model}@" in out
    assert "accuracy by folder" in out
    kinds = {s.uri.split("/images/")[1].split("/")[0] for s in list_tao(str(work / "synthetic"))}
    for kind in kinds:
        assert kind in out
