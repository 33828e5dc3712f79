"""`lpr-ray query` and lpr_ray.results.query over a small hand-made results root (docs/LAYOUT.md),
on local disk and on the local S3 server. Only committed files may show up."""

from __future__ import annotations

import csv
import json
import posixpath
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lpr_ray.cli.main import main as cli_main
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.storage import arrow_filesystem
from lpr_ray.results import query
from lpr_ray.results.table import SCHEMA

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TARGET = "7ABC123"
CONFUSION_PAIRS = [("0", "D"), ("0", "Q"), ("8", "B"), ("1", "I"), ("5", "S"), ("2", "Z")]


def _rows(run_id: str, plates, *, status="ok", start=T0, site_label=None) -> list[dict]:
    out = []
    for i, item in enumerate(plates):
        plate, conf = item[:2]
        label = item[2] if len(item) > 2 else None
        st = status if plate is not None else "not_an_image"
        if plate is not None and len(plate) < 3:
            st = "too_short"
        out.append(
            dict(
                uri=f"s3://archive/{run_id}/{i:04d}.jpg",
                plate=plate,
                confidence=conf,
                char_confidences=[conf] * len(plate or ""),
                status=st,
                error=None if st == "ok" else "bad",
                label=label,
                correct=None if label is None else plate == label,
                width=96,
                height=48,
                model="lprnet@abc",
                backend="onnxruntime",
                run_id=run_id,
                processed_at=start + timedelta(minutes=i),
            )
        )
    return out


def write_results_root(root: str, runs: list[dict], *, orphans: list[dict] = ()) -> None:
    """Write a results root by hand: data files, a commit record per run, a summary per run.

    Each run: {"run_id", "rows": [...], "partition": "run_date=.../site=..."}; orphans are data
    files that no commit record names (a crashed run)."""
    fs, base = arrow_filesystem(root)
    if not root.startswith("s3://"):
        fs.create_dir(base, recursive=True)

    def write_json(rel: str, obj) -> None:
        path = posixpath.join(base, rel)
        fs.create_dir(posixpath.dirname(path), recursive=True)
        with fs.open_output_stream(path) as f:
            f.write(json.dumps(obj).encode())

    def write_data(rel: str, rows: list[dict]) -> None:
        path = posixpath.join(base, rel)
        fs.create_dir(posixpath.dirname(path), recursive=True)
        with fs.open_output_stream(path) as f:
            pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), f)

    for seq, run in enumerate(runs, start=1):
        rid = run["run_id"]
        rows = run["rows"]
        half = max(1, len(rows) // 2)
        files = []
        for n, chunk in enumerate([rows[:half], rows[half:]]):
            if chunk:
                rel = f"data/{run['partition']}/{rid}-{n}.parquet"
                write_data(rel, chunk)
                files.append(rel)
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        write_json(
            f"_commits/{seq:012d}.json",
            {
                "seq": seq,
                "run_id": rid,
                "committed_at": (T0 + timedelta(days=seq)).isoformat().replace("+00:00", "Z"),
                "model": "lprnet@abc",
                "files": files,
                "ledger": f"_ledger/{rid}.parquet",
                "rows": len(rows),
                "by_status": by_status,
            },
        )
        write_json(
            f"_runs/{rid}/summary.json",
            {"run_id": rid, "rows": len(rows), "seconds": 2.0, "plates_per_second": len(rows) / 2.0,
             "by_status": by_status},
        )
    for o in orphans:
        write_data(f"data/{o['partition']}/{o['run_id']}-0.parquet", o["rows"])


def sample_runs() -> tuple[list[dict], list[dict]]:
    run1 = _rows(
        "run-a",
        [
            (TARGET, 0.95, TARGET),
            ("7A8C123", 0.80, TARGET),  # B->8: confusion
            ("7ABC12", 0.70),  # one deletion
            ("7ABC1234", 0.60),  # one insertion
            ("7ABX123", 0.55),  # one substitution
            ("7A8CI23", 0.30, TARGET),  # two confusions (B->8, 1->I): distance 2, same class
            ("9XYZ999", 0.99, "9XYZ998"),
            ("9XY", 0.20),
            ("AB", 0.10),  # too_short
            (None, None),  # an error row
        ],
    )
    pairs = [(f"K{a}M{a}P", f"K{b}M{b}P") for a, b in CONFUSION_PAIRS]
    run2 = _rows(
        "run-b",
        [(stored, 0.4 + 0.01 * i) for i, (_, stored) in enumerate(pairs)] + [("5ABC999", 0.9)],
        start=T0 + timedelta(days=1),
    )
    runs = [
        {"run_id": "run-a", "rows": run1, "partition": "run_date=2026-03-01"},
        {"run_id": "run-b", "rows": run2, "partition": "run_date=2026-03-02/site=lot7/camera=c1/date=2026-03-02"},
    ]
    orphan = _rows("run-crashed", [(TARGET, 0.99), ("ZZZ111", 0.01)], start=T0 + timedelta(days=2))
    orphans = [{"run_id": "run-crashed", "rows": orphan, "partition": "run_date=2026-03-03"}]
    return runs, orphans


@pytest.fixture(scope="module")
def local_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("results") / "plates")
    runs, orphans = sample_runs()
    write_results_root(root, runs, orphans=orphans)
    return root


@pytest.fixture(scope="module")
def s3_root(s3) -> str:
    root = f"s3://{s3.bucket}/query-test/plates"
    runs, orphans = sample_runs()
    write_results_root(root, runs, orphans=orphans)
    return root


@pytest.fixture(params=["local", "s3"])
def root(request) -> str:
    return request.getfixturevalue(f"{request.param}_root")


def test_exact_wildcard_and_uncommitted_files(root):
    exact = query.find_plates(root, TARGET)
    assert exact.column("plate").to_pylist() == [TARGET]  # the orphan's TARGET is invisible
    assert exact.column("uri").to_pylist() == ["s3://archive/run-a/0000.jpg"]
    assert query.find_plates(root, TARGET.lower()).num_rows == 1
    assert query.find_plates(root, "7abc-123").num_rows == query.find_plates(root, " 7ABC 123 ").num_rows == 1
    other = query.find_plates(root, "5ABC999").to_pylist()  # partition columns come along
    assert [(r["run_date"], r["site"], r["camera"]) for r in other] == [("2026-03-02", "lot7", "c1")]

    star = query.find_plates(root, "7abc*", mode="wildcard")
    assert sorted(star.column("plate").to_pylist()) == sorted([TARGET, "7ABC12", "7ABC1234"])
    # a wildcard in exact mode is a wildcard; '?' is one character; SQL's % and _ too
    assert query.find_plates(root, "7ABC12?").column("plate").to_pylist() == [TARGET]
    assert query.find_plates(root, "7ABC12_", mode="wildcard").column("plate").to_pylist() == [TARGET]
    assert query.find_plates(root, "%999").column("plate").to_pylist() == ["5ABC999", "9XYZ999"]
    everything = query.sql(root, "SELECT count(*) AS n FROM results")
    assert everything.column("n")[0].as_py() == 10 + 7
    assert "ZZZ111" not in query.sql(root, "SELECT plate FROM results").column("plate").to_pylist()


def test_fuzzy(root):
    got = query.find_plates(root, TARGET, mode="fuzzy", as_pandas=True)
    matches = dict(zip(got["plate"], got["match"], strict=True))
    assert matches == {
        TARGET: "exact",
        "7A8C123": "confusion",
        "7A8CI23": "confusion",
        "7ABC12": "edit",
        "7ABC1234": "edit",
        "7ABX123": "edit",
    }
    assert list(got["plate"][:3]) == [TARGET, "7A8C123", "7A8CI23"]  # exact, then confusions
    assert got.set_index("plate").loc["7A8CI23", "edit_distance"] == 2
    # edits are ranked by confidence
    assert list(got["plate"][3:]) == ["7ABC12", "7ABC1234", "7ABX123"]
    assert query.find_plates(root, "ZZZZZZZ", mode="fuzzy").num_rows == 0


@pytest.mark.parametrize("pair", CONFUSION_PAIRS, ids=lambda p: "/".join(p))
def test_fuzzy_confusion_pairs(local_root, pair):
    a, b = pair
    # stored K{b}M{b}P, queried with the other character (two substitutions: not one edit)
    for queried, stored in [(f"K{a}M{a}P", f"K{b}M{b}P"), (f"K{b}M{b}P", f"K{b}M{b}P")]:
        got = query.find_plates(local_root, queried, mode="fuzzy")
        assert stored in got.column("plate").to_pylist(), (queried, got.column("plate").to_pylist())
    other = {"0": "8", "8": "0", "1": "5", "5": "1", "2": "8"}[a]
    miss = query.find_plates(local_root, f"K{other}M{other}P", mode="fuzzy").column("plate").to_pylist()
    assert f"K{b}M{b}P" not in miss
    assert query.canonical(b) == query.canonical(a)


def test_review_and_csv(root, tmp_path):
    low = query.review(root, threshold=0.5)
    confs = low.column("confidence").to_pylist()
    assert confs == sorted(confs) and all(c < 0.5 for c in confs)
    assert "AB" in low.column("plate").to_pylist()  # too_short reads are reviewed
    assert None not in low.column("plate").to_pylist()  # error rows are not reads
    assert "ZZZ111" not in low.column("plate").to_pylist()  # uncommitted
    two = query.review(root, threshold=0.5, limit=2)
    assert two.column("uri").to_pylist() == low.column("uri").to_pylist()[:2]

    out = tmp_path / "review.csv"
    rc = cli_main(["query", "--results", root, "--review", "--threshold", "0.5", "--csv", str(out)])
    assert rc == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["uri"] for r in rows] == low.column("uri").to_pylist()
    assert rows[0]["uri"].startswith("s3://archive/") and float(rows[0]["confidence"]) < 0.5


def test_stats(root):
    per_run = query.stats_per_run(root, as_pandas=True).set_index("run_id")
    assert list(per_run.index) == ["run-a", "run-b"]
    a = per_run.loc["run-a"]
    assert (a["rows"], a["ok"], a["too_short"], a["errors"]) == (10, 8, 1, 1)
    assert a["labelled"] == 4 and a["accuracy"] == pytest.approx(1 / 4)
    per_part = query.stats_per_partition(root)
    assert set(per_part.column_names) >= {"run_date", "site", "camera", "date", "rows"}
    assert dict(zip(per_part.column("run_date").to_pylist(), per_part.column("rows").to_pylist(),
                    strict=True)) == {"2026-03-01": 10, "2026-03-02": 7}
    by_site = query.stats_per_partition(root, by=["site"]).to_pylist()
    assert {r["site"]: r["rows"] for r in by_site} == {"lot7": 7, None: 10}
    by_day = query.stats_per_partition(root, by=["day"]).column("rows").to_pylist()
    assert by_day == [10, 7]
    with pytest.raises(query.LprRayError, match="unknown column"):
        query.stats_per_partition(root, by=["nope; DROP TABLE x"])


def test_cli_prints_tables(local_root, capsys):
    assert cli_main(["query", "--results", local_root, "--plate", TARGET, "--mode", "fuzzy"]) == 0
    out = capsys.readouterr().out
    assert "7A8CI23" in out and "confusion" in out and "(6 rows)" in out
    assert cli_main(["query", "--results", local_root, "--stats", "run"]) == 0
    assert "run-b" in capsys.readouterr().out
    assert cli_main(["query", "--results", local_root, "--stats", "partition", "--by", "site"]) == 0
    assert "lot7" in capsys.readouterr().out
    assert cli_main(["query", "--results", local_root, "--plate", "7ABC*", "--limit", "1"]) == 0
    assert "(1 rows)" in capsys.readouterr().out


def test_empty_root(tmp_path):
    """A root with nothing committed yet (a first run still going) has no rows; a root that
    does not exist is a typo in --results and says so instead of printing an empty table."""
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert query.find_plates(str(empty), TARGET).num_rows == 0
    assert query.stats_per_run(str(empty)).num_rows == 0
    with pytest.raises(LprRayError, match="does not exist"):
        query.stats_per_run(str(tmp_path / "typo"))


def test_cli_rejects_bad_values_before_querying(local_root, tmp_path, capsys):
    """--limit 0 means no rows (it used to mean 'all'); bad SQL, a negative limit and a CSV
    in a missing folder are errors that say what was wrong, not tracebacks."""
    assert cli_main(["query", "--results", local_root, "--review", "--limit", "0", "--json"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert cli_main(["query", "--results", local_root, "--sql", "SELEC 1"]) == 2
    assert "DuckDB could not run the query" in capsys.readouterr().err
    assert cli_main(["query", "--results", local_root, "--review", "--csv", str(tmp_path / "no" / "x.csv")]) == 2
    assert "folder" in capsys.readouterr().err and not (tmp_path / "no").exists()
    with pytest.raises(SystemExit):
        cli_main(["query", "--results", local_root, "--review", "--limit", "-5"])
    assert "expected a whole number >= 0, got '-5'" in capsys.readouterr().err


def test_options_the_question_does_not_use_are_refused_not_ignored(local_root, capsys):
    """`--plate X --threshold 0.9` returned every read of X, confident or not."""
    assert cli_main(["query", "--results", local_root, "--plate", "7ABC123", "--threshold", "0.9"]) == 2
    err = capsys.readouterr().err
    assert "--threshold applies to --review and --stats only, not to --plate" in err
    sql = err.split("--sql ", 1)[1].rsplit(")", 1)[0].strip('"')  # the query the error suggests runs
    assert cli_main(["query", "--results", local_root, "--sql", sql, "--json"]) == 0
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["plate"], round(r["confidence"], 3)) for r in got] == [("7ABC123", 0.95)]  # not 7ABC123 at 0.99 of a crashed run
    assert cli_main(["query", "--results", local_root, "--review", "--mode", "fuzzy"]) == 2
    assert "--mode applies to --plate only" in capsys.readouterr().err
    assert cli_main(["query", "--results", local_root, "--stats", "run", "--by", "site"]) == 2
    assert "--by applies to --stats partition only" in capsys.readouterr().err
    assert cli_main(["query", "--results", local_root, "--stats", "run", "--threshold", "0.9", "--json"]) == 0


def test_review_findings_of_session_14(local_root, tmp_path, capsys, monkeypatch):
    """--limit ignored with --sql; run_date missing before the first commit; timestamps in the
    machine's zone; an input folder or an empty --sql taken as an empty result; a committed
    file that is missing ending in a DuckDB traceback."""
    import shutil

    from lpr_ray.results.table import read_results

    assert cli_main(["query", "--results", local_root, "--sql", "SELECT uri FROM results", "--limit", "3",
                     "--json"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_results(str(empty), columns=["uri", "run_date"]).column_names == ["uri", "run_date"]
    assert cli_main(["query", "--results", str(empty), "--stats", "partition", "--by", "run_date"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    assert cli_main(["query", "--results", local_root, "--plate", TARGET, "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["processed_at"].endswith("+00:00"), first["processed_at"]
    monkeypatch.delenv("TZ")
    inputs = tmp_path / "images"
    inputs.mkdir()
    (inputs / "a.jpg").write_bytes(b"x")
    assert cli_main(["query", "--results", str(inputs), "--stats", "run"]) == 2
    assert "holds no lpr-ray results" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["query", "--results", local_root, "--sql", "  "])
    assert "got an empty string" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(local_root, broken)
    committed = json.loads((broken / "_commits" / "000000000001.json").read_text())["files"][0]
    (broken / committed).unlink()
    for argv in (["query", "--results", str(broken), "--stats", "run"],
                 ["report", "--results", str(broken), "--out", str(tmp_path / "r.html")]):
        assert cli_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(broken) in err and "Traceback" not in err, err


def test_table_columns_line_up_with_chinese_plates():
    table = pa.table({"plate": ["皖A12345", "7ABC123"], "confidence": [0.9, 0.8]})
    lines = query.format_table(table).splitlines()
    # 皖 takes two terminal columns: the confidence column starts at the same column in each row
    assert lines[2].index("0.9") + 1 == lines[3].index("0.8")
    assert lines[0].index("confidence") == lines[3].index("0.8")


def test_table_shows_uris_whole_and_shortens_other_long_cells():
    """URIs were cut in the middle ("s3://lot-archive/...cam2/0001.jpg"): a reader copies them."""
    uri = "s3://lot-archive/2026/site-north-entrance/camera-2/2026-05-02/" + "x" * 40 + ".jpg"
    error = "the object is binary data (5000 bytes), not an image OpenCV can decode " * 2
    lines = query.format_table(pa.table({"uri": [uri], "error": [error]}), max_width=60).splitlines()
    assert uri in lines[2]
    assert error.strip() not in lines[2] and "..." in lines[2]


def test_fuzzy_takes_a_misread_chinese_province_as_a_confusion(tmp_path):
    root = str(tmp_path / "plates")
    rows = _rows("run-cn", [("湘B12845", 0.7), ("湘B12345", 0.6), ("湘C12849", 0.5), ("B12345", 0.4)])
    write_results_root(root, [{"run_id": "run-cn", "rows": rows, "partition": "run_date=2026-03-01"}])
    got = query.find_plates(root, "浙B·12345", mode="fuzzy").to_pylist()
    match = {r["plate"]: r["match"] for r in got}
    # another province is a confusion, a lost province one edit; 湘C12849 is three changes away
    assert match == {"湘B12345": "confusion", "B12345": "edit"}, match
    # the province and a Latin look-alike (Z for 2) together: two substitutions, one class
    got = query.find_plates(root, "浙B1Z845", mode="fuzzy").to_pylist()
    assert [r["plate"] for r in got] == ["湘B12845"] and got[0]["match"] == "confusion"
    assert query.canonical("浙B1Z845") == query.canonical("湘B12845") != query.canonical("湘B12345")


def test_hostile_keys_stay_text_in_csv_and_on_the_terminal(tmp_path, capsys):
    root = str(tmp_path / "plates")
    rows = _rows("run-x", [("7ABC123", 0.3), ("7ABC124", 0.2), ("7ABC125", 0.1), ("7ABC126", 0.05)])
    hostile = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\")", "@SUM(A1)", "s3://a/\x1b[2Jcleared\r\nfake.jpg"]
    for row, uri in zip(rows, hostile, strict=True):
        row["uri"] = uri
    write_results_root(root, [{"run_id": "run-x", "rows": rows, "partition": "run_date=2026-03-01"}])
    out_csv = tmp_path / "review.csv"
    assert cli_main(["query", "--results", root, "--review", "--threshold", "0.5", "--csv", str(out_csv)]) == 0
    with open(out_csv, newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    cells = [r["uri"] for r in got]
    # a spreadsheet sees text, not formulas; the original is the cell minus one leading quote
    assert sorted(cells) == sorted("'" + u if u[0] in "=+@" else u for u in hostile)
    assert all(r["confidence"][0].isdigit() for r in got)  # numbers are left alone
    capsys.readouterr()
    assert cli_main(["query", "--results", root, "--review", "--threshold", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\r" not in printed
    assert "\\x1b[2Jcleared\\r\\nfake.jpg" in printed
