"""The report as an operator reads it (issue 23, item 6): one count per image, failed images
with their errors, images per capture date, counts beside rates, filters by site, camera, date
and model, and a thumbnail beside each low-confidence read, checked in headless Chromium."""

from __future__ import annotations

import shutil
from datetime import timedelta

import cv2
import numpy as np
import pytest
from test_query import T0, _rows, write_results_root

from lpr_ray.cli.main import main as cli_main
from lpr_ray.core.errors import LprRayError
from lpr_ray.results.report import collect
from lpr_ray.results.reviews import Verdict, record_verdict


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def site_root(tmp_path_factory) -> str:
    """Two sites, two capture dates; real crops on disk behind the URIs; one re-run image."""
    tmp = tmp_path_factory.mktemp("operator")
    crops = tmp / "crops"
    crops.mkdir()
    rng = np.random.default_rng(2)
    runs = []
    for n, (site, date, model) in enumerate([("lot1", "2026-03-01", "small@aaa"), ("lot2", "2026-03-02", "big@bbb")]):
        items = [(f"7AB{n}{i:03d}", float(c), f"7AB{n}{i:03d}" if i % 3 else "0") for i, c in
                 enumerate(rng.uniform(0.2, 1.0, 30))]
        items += [(None, None)] * 3
        rows = _rows(f"run-{n}", items, start=T0 + timedelta(days=n))
        for i, r in enumerate(rows):
            path = crops / f"{site}_{i:03d}.png"
            cv2.imwrite(str(path), rng.integers(0, 255, (30, 100, 3), dtype=np.uint8))
            r["uri"], r["model"] = str(path), model
            if r["status"] != "ok":
                r["error"] = f"the object is text ({i} bytes), not an image"
        runs.append({"run_id": f"run-{n}", "rows": rows,
                     "partition": f"run_date=2026-03-0{n + 1}/site={site}/camera=c{n}/date={date}"})
    rerun = [dict(r, run_id="run-2", processed_at=r["processed_at"] + timedelta(days=5)) for r in runs[0]["rows"][:5]]
    runs.append({"run_id": "run-2", "rows": rerun, "partition": "run_date=2026-03-06/site=lot1/camera=c0/date=2026-03-01"})
    root = str(tmp / "results")
    write_results_root(root, runs)
    record_verdict(root, Verdict.parse(runs[0]["rows"][7]["uri"], "corrected", "7AB0999", "ana"), {})
    return root


def test_every_image_once_failed_listed_capture_dates_counts(site_root):
    data = collect(site_root, lowest=10)
    t = data.totals
    assert (t["rows"], t["runs"], t["failed"], t["reviewed"]) == (66, 3, 6, 1)  # 5 re-read images count once
    assert dict(data.per_date) == {"2026-03-01": 33, "2026-03-02": 33}
    assert len(data.failed) == 6 and all("not an image" in f["error"] for f in data.failed)
    from lpr_ray.results.report import render

    page = render(data)
    assert "Images that could not be read (6)" in page and "Images per capture date" in page
    assert f"({t['correct']:,} of {t['labelled']:,})" in page  # a rate with its counts
    assert "could not be read" in page and "6 (9.1%)" in page


def test_filters_narrow_every_section(site_root, tmp_path, capsys):
    one = collect(site_root, filters={"site": "lot2"})
    assert one.totals["rows"] == 33 and one.totals["runs"] == 1 and dict(one.per_date) == {"2026-03-02": 33}
    assert collect(site_root, filters={"model": "small"}).totals["rows"] == 33
    assert collect(site_root, filters={"model": "big@bbb", "date": "2026-03-01"}).totals["rows"] == 0
    assert collect(site_root, filters={"camera": "c0", "date": "2026-03-01"}).totals["rows"] == 33
    with pytest.raises(LprRayError, match="unknown filter"):
        collect(site_root, filters={"plate": "x"})
    with pytest.raises(LprRayError, match="no rows have site = 'lot9'; the results have: lot1, lot2"):
        collect(site_root, filters={"site": "lot9"})
    with pytest.raises(LprRayError, match="the results have: big, small"):
        collect(site_root, filters={"model": "nosuch"})
    out = tmp_path / "lot2.html"
    assert cli_main(["report", "--results", site_root, "--out", str(out), "--site", "lot2", "--no-thumbnails"]) == 0
    assert "33 images" in capsys.readouterr().out
    assert "only &middot; site = lot2" in out.read_text()


def test_thumbnails_beside_low_reads_in_chromium(site_root, tmp_path):
    out = tmp_path / "report.html"
    assert cli_main(["report", "--results", site_root, "--out", str(out), "--lowest", "8"]) == 0
    text = out.read_text()
    assert text.count('class="thumb"') == 8 and text.count("data:image/png;base64,") == 8
    assert "file://" not in text and "<script" not in text
    if _chromium() is None:
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.goto(out.as_uri())
        sizes = page.evaluate("[...document.querySelectorAll('img.thumb')].map(i => [i.complete, i.naturalHeight])")
        assert sizes == [[True, 30]] * 8  # decoded in the browser, at the crops' own height (under 40)
        page.locator("#review").screenshot(path=str(tmp_path / "lowest.png"))
        # Axis labels say what is counted.
        assert page.locator("#status svg text.axis").all_text_contents() == ["images"]
        assert "capture date" in " ".join(page.locator("#per-date svg text.axis").all_text_contents())
        browser.close()
    shot = cv2.imread(str(tmp_path / "lowest.png"))
    assert shot is not None and len(np.unique(shot.reshape(-1, 3), axis=0)) > 50  # pictures, not a blank table
