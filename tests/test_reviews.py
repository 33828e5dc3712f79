"""People's verdicts (lpr_ray.results.reviews) and the current view of the results (lpr_ray.results.query):
one read per image, the latest run's or a person's; history one flag away; the verdicts as a
TAO dataset (lpr_ray.review.export). Hand-made results roots on disk and on the local S3 server."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import cv2
import numpy as np
import pytest
from test_query import T0, _rows, write_results_root

from lpr_ray.cli.main import main as cli_main
from lpr_ray.core.dataset import list_tao
from lpr_ray.core.errors import LprRayError
from lpr_ray.results import query
from lpr_ray.results.reviews import (
    REVIEWS_DIR,
    Verdict,
    current_verdicts,
    read_records,
    record_undo,
    record_verdict,
)
from lpr_ray.review.export import export_tao


def _same_uris(rows: list[dict], prefix: str) -> list[dict]:
    for i, r in enumerate(rows):
        r["uri"] = f"{prefix}/{i:04d}.jpg"
    return rows


def two_runs(prefix: str = "s3://archive/cam1") -> list[dict]:
    """Run a reads four images; run b, a day later, reads the same four differently."""
    a = _same_uris(_rows("run-a", [("7ABC123", 0.40), ("8XYZ111", 0.95), ("5QRS777", 0.30), (None, None)]), prefix)
    b = _same_uris(_rows("run-b", [("7ABC128", 0.45), ("8XYZ111", 0.97), ("5QRS771", 0.35), (None, None)],
                         start=T0 + timedelta(days=1)), prefix)
    b += _same_uris(_rows("run-b", [("UD", 0.99)], start=T0 + timedelta(days=1)), prefix + "/short")
    return [{"run_id": "run-a", "rows": a, "partition": "run_date=2026-03-01"},
            {"run_id": "run-b", "rows": b, "partition": "run_date=2026-03-02"}]


def verdict(uri: str, kind: str, label: str | None = None, who: str = "ana") -> Verdict:
    return Verdict.parse(uri, kind, label, who)


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "results")
    s3 = request.getfixturevalue("s3")
    return f"{s3.create_bucket(f'rv-{os.urandom(4).hex()}')}/plates"


def test_current_view_is_the_latest_read_and_history_keeps_every_run(root):
    write_results_root(root, two_runs())
    current = query.sql(root, "SELECT uri, plate, run_id, source FROM results ORDER BY uri").to_pylist()
    assert [r["plate"] for r in current] == ["7ABC128", "8XYZ111", "5QRS771", None, "UD"]
    assert {r["run_id"] for r in current} == {"run-b"} and {r["source"] for r in current} == {"model"}
    with query.Results(root, history=True) as res:
        assert query.sql(res, "SELECT count(*) AS n FROM results").column("n")[0].as_py() == 9
    # An older read is no longer the image's read; --history finds it.
    assert query.find_plates(root, "7ABC123").num_rows == 0
    with query.Results(root, history=True) as res:
        assert query.find_plates(res, "7ABC123").column("run_id").to_pylist() == ["run-a"]
    # The per-run statistics count every row a run wrote.
    assert query.stats_per_run(root).column("rows").to_pylist() == [4, 5]


def test_a_verdict_is_the_current_read_until_undone(root):
    write_results_root(root, two_runs())
    uri0, uri2, short = "s3://archive/cam1/0000.jpg", "s3://archive/cam1/0002.jpg", "s3://archive/cam1/short/0000.jpg"
    # A read too short to be a plate needs a person however sure the model was.
    assert query.review(root, threshold=0.5).column("uri").to_pylist() == [uri2, uri0, short]
    fixed = record_verdict(root, verdict(uri0, "corrected", "7abc-12o"), {"plate": "7ABC128"})
    assert fixed["label"] == "7ABC120"  # upper case, no dash, O read as 0 (no dictionary has an O)
    record_verdict(root, verdict(uri2, "unreadable", who="bo"), {"plate": "5QRS771"})

    rows = {r["uri"]: r for r in query.sql(root, "SELECT * FROM results").to_pylist()}
    assert rows[uri0]["plate"] == "7ABC120" and rows[uri0]["model_plate"] == "7ABC128"
    assert rows[uri0]["source"] == "human" and rows[uri0]["review"] == "corrected" and rows[uri0]["reviewer"] == "ana"
    assert rows[uri2]["plate"] is None and rows[uri2]["review"] == "unreadable"
    assert query.review(root, threshold=0.5).column("uri").to_pylist() == [short]  # the other two decided
    assert query.find_plates(root, "7ABC120").column("source").to_pylist() == ["human"]
    assert query.find_plates(root, "7ABC128").num_rows == 0

    # A later verdict replaces an earlier one; undo brings the earlier one (or the read) back.
    later = record_verdict(root, verdict(uri0, "corrected", "7ABC129", who="bo"), {"plate": "7ABC128"})
    assert query.find_plates(root, "7ABC129").column("reviewer").to_pylist() == ["bo"]
    record_undo(root, later["id"], "bo")
    assert query.find_plates(root, "7ABC120").num_rows == 1
    record_undo(root, fixed["id"], "ana")
    assert query.find_plates(root, "7ABC128").column("source").to_pylist() == ["model"]
    # Nothing is ever deleted: five records, two of them undos.
    records = read_records(root)
    assert [r["verdict"] for r in records].count("undo") == 2 and len(records) == 5
    assert set(current_verdicts(records)) == {uri2}


def test_query_cli_history_flag(tmp_path, capsys):
    root = str(tmp_path / "results")
    write_results_root(root, two_runs())
    assert cli_main(["query", "--results", root, "--sql", "SELECT count(*) AS n FROM results", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 5
    assert cli_main(["query", "--results", root, "--history", "--sql", "SELECT count(*) AS n FROM results",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 9


@pytest.mark.parametrize(
    ("kind", "label", "who", "expected"),
    [
        ("corrected", "<script>", "ana", "no lpr-ray dictionary holds"),
        ("corrected", "", "ana", "expected a plate of 1 to 16"),
        ("corrected", "A" * 17, "ana", "expected a plate of 1 to 16"),
        ("unreadable", "7ABC123", "ana", "carries no plate"),
        ("approved", None, "ana", "is not one of"),
        ("accepted", "7ABC123", "", "expected a reviewer name"),
        ("accepted", "7ABC123", "a\x1b[2Jb", "expected a reviewer name"),
        ("accepted", "7ABC123", "x" * 65, "expected a reviewer name"),
    ],
)
def test_verdicts_are_checked_where_they_come_in(kind, label, who, expected):
    with pytest.raises(LprRayError, match=expected):
        Verdict.parse("s3://a/b.jpg", kind, label, who)


def test_undo_names_an_existing_review(tmp_path):
    root = str(tmp_path)
    with pytest.raises(LprRayError, match="32 hex digits"):
        record_undo(root, "../../etc/passwd", "ana")
    with pytest.raises(LprRayError, match="no review"):
        record_undo(root, "0" * 32, "ana")


def _crops(folder, n: int) -> list[str]:
    rng = np.random.default_rng(3)
    folder.mkdir()
    paths = []
    for i in range(n):
        p = folder / f"{i:03d}.jpg"
        cv2.imwrite(str(p), rng.integers(0, 255, (40, 120, 3), dtype=np.uint8))
        paths.append(str(p))
    return paths


def test_export_reviews_as_tao_datasets_with_a_stable_holdout(tmp_path, capsys):
    root = str(tmp_path / "results")
    paths = _crops(tmp_path / "crops", 40)
    (tmp_path / "crops" / "broken.jpg").write_bytes(b"<html>not a crop</html>")
    for i, p in enumerate(paths):
        kind = "not_a_plate" if i % 10 == 9 else "corrected"
        record_verdict(root, verdict(p, kind, None if kind == "not_a_plate" else f"7AB{i:03d}"), {})
    record_verdict(root, verdict(str(tmp_path / "crops" / "broken.jpg"), "accepted", "1XYZ999"), {})

    out, held = tmp_path / "train", tmp_path / "held"
    assert cli_main(["export-reviews", "--results", root, "--out", str(out), "--holdout", str(held),
                     "--holdout-fraction", "0.25"]) == 0
    printed = capsys.readouterr().out
    assert "broken.jpg: not_an_image" in printed
    train, holdout = list_tao(str(out)), list_tao(str(held))
    assert len(train) + len(holdout) == 36  # 4 not-a-plate verdicts and the broken image left out
    assert 3 <= len(holdout) <= 16
    labels = {s.label for s in train} | {s.label for s in holdout}
    assert labels == {f"7AB{i:03d}" for i in range(40) if i % 10 != 9}
    assert (out / "characters_list.txt").read_text().split() == list("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")
    # Exported pixels are the crops' own (re-encoded losslessly).
    first = sorted((out / "images").iterdir())[0]
    assert cv2.imread(str(first)).shape == (40, 120, 3)

    # A later export with more verdicts keeps every image on its side.
    extra = _crops(tmp_path / "more", 10)
    for i, p in enumerate(extra):
        record_verdict(root, verdict(p, "corrected", f"8CD{i:03d}"), {})
    export_tao(root, str(tmp_path / "train2"), holdout=str(tmp_path / "held2"), fraction=0.25)
    assert {s.label for s in holdout} <= {s.label for s in list_tao(str(tmp_path / "held2"))}
    with pytest.raises(LprRayError, match="not empty"):
        export_tao(root, str(out))
    (tmp_path / "unreviewed").mkdir()
    with pytest.raises(LprRayError, match="has no corrected or accepted reviews"):
        export_tao(str(tmp_path / "unreviewed"), str(tmp_path / "t3"))
    with pytest.raises(LprRayError, match="does not exist"):
        export_tao(str(tmp_path / "nothing"), str(tmp_path / "t4"))


def test_records_live_only_under_the_reviews_folder(tmp_path):
    root = tmp_path / "results"
    record_verdict(str(root), verdict("../../../etc/passwd", "corrected", "7ABC123"), {})
    names = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    assert len(names) == 1 and names[0].parts[0] == REVIEWS_DIR and names[0].suffix == ".json"
