"""`lpr-ray report`: the HTML page renders in headless Chromium, with its plots.

Chromium comes from the system (`scripts/install-system-deps.sh` installs the Debian package);
the browser test is skipped, saying so, where it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import timedelta

import pytest
from test_query import T0, TARGET, _rows, write_results_root

from lpr_ray.cli.main import main as cli_main

PLOT_TITLES = [
    "Images by status",
    "Confidence histogram",
    "Accuracy vs confidence",
    "Images per day",
    "Images per site",
    "Throughput per run",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def results_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("report") / "plates")
    import numpy as np

    rng = np.random.default_rng(1)
    runs = []
    for day, site in enumerate(["lot1", "lot2", "lot1"]):
        items = []
        for _ in range(60):
            conf = float(rng.beta(5, 1.2))
            ok = rng.random() < conf
            items.append((TARGET if ok else "7A8C123", conf, TARGET))
        items += [("AB", 0.2), (None, None)]
        rid = f"run-{day}"
        runs.append({"run_id": rid, "rows": _rows(rid, items, start=T0 + timedelta(days=day)),
                     "partition": f"run_date=2026-03-0{day + 1}/site={site}"})
    orphan = _rows("run-lost", [("LOST123", 0.5)])
    write_results_root(root, runs, orphans=[{"run_id": "run-lost", "rows": orphan,
                                             "partition": "run_date=2026-03-09/site=ghost"}])
    return root


@pytest.fixture(scope="module")
def report_html(results_root, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("html") / "report.html")
    assert cli_main(["report", "--results", results_root, "--out", out, "--no-thumbnails"]) == 0
    return out


def test_report_content(report_html):
    text = open(report_html, encoding="utf-8").read()
    for title in PLOT_TITLES:
        assert f'aria-label="{title}"' in text, title
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "186" in text  # 3 runs x 62 rows
    assert "LOST123" not in text and "ghost" not in text  # uncommitted rows stay out
    assert re.search(r"<circle class=\"point\"", text)  # accuracy points exist (labels present)


def test_report_without_labels_or_summaries(tmp_path):
    root = str(tmp_path / "plates")
    write_results_root(root, [{"run_id": "r1", "rows": _rows("r1", [("ABC123", 0.9)]),
                               "partition": "run_date=2026-03-01"}])
    shutil.rmtree(os.path.join(root, "_runs"))
    from lpr_ray.results.report import write_report

    out = tmp_path / "r.html"
    data = write_report(root, str(out))
    assert data.totals["rows"] == 1 and not data.calibration and not data.throughput
    text = out.read_text()
    assert "No labelled rows" in text and "No run summaries" in text


def _png_size_and_colours(path: str) -> tuple[int, int, int]:
    """(width, height, distinct colours in a sample) of an RGB(A) 8-bit PNG, without Pillow."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    colours, prev = set(), bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filters
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, bpp * 2))
        prev = line
    return width, height, len(colours)


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed: run scripts/install-system-deps.sh "
                    "(apt-get install chromium) to render the report in a headless browser")
def test_report_renders_in_headless_chromium(report_html, tmp_path):
    browser = _chromium()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = "file://" + os.path.abspath(report_html)
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for title in PLOT_TITLES:
        assert title in html, title
    assert html.count("<svg") >= len(PLOT_TITLES)
    assert html.count('class="bar"') > 20

    shot = tmp_path / "report.png"
    run = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1100,2400", url],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, colours = _png_size_and_colours(str(shot))
    assert (width, height) == (1100, 2400)
    assert colours > 8, f"the screenshot looks blank ({colours} colours)"
    keep = os.environ.get("LPR_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_report_is_replaced_whole_or_not_at_all(results_root, tmp_path):
    """A summary.json anyone edited (plates_per_second "n/a") still renders; a failure while
    writing keeps the previous page instead of leaving an empty file."""
    from lpr_ray.core.atomic import atomic_open

    root = tmp_path / "plates"
    shutil.copytree(results_root, root)
    summary = next(root.glob("_runs/*/summary.json"))
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "plates_per_second": "n/a"}))
    out = tmp_path / "r.html"
    assert cli_main(["report", "--results", str(root), "--out", str(out), "--no-thumbnails"]) == 0
    page = out.read_text()
    assert "<td class=\"num\">n/a</td>" in page
    with pytest.raises(RuntimeError), atomic_open(out, "w", encoding="utf-8") as f:
        f.write("half a page")
        raise RuntimeError("render failed")
    assert out.read_text() == page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plates", "r.html"]


CN_PLATES = ["皖A12345", "粤BD12345", "京A1234警", "鄂F8R90学"]
# Draws one character in the computed font of an element; two different characters give the
# same pixels only when both fall back to the same "missing glyph" box.
_GLYPH_JS = """([selector, chars]) => {
    const el = document.querySelector(selector);
    const font = getComputedStyle(el).fontSize + ' ' + getComputedStyle(el).fontFamily;
    return chars.map(ch => {
        const c = document.createElement('canvas'); c.width = 40; c.height = 40;
        const ctx = c.getContext('2d'); ctx.font = font; ctx.fillStyle = '#000';
        ctx.fillText(ch, 2, 30);
        return Array.from(ctx.getImageData(0, 0, 40, 40).data.filter((_, i) => i % 4 === 3)).join(',');
    });
}"""


def _has_cjk_font() -> bool:
    fc = shutil.which("fc-list")
    return bool(fc and subprocess.run([fc, ":lang=zh"], capture_output=True, text=True).stdout.strip())


@pytest.mark.skipif(_chromium() is None or not _has_cjk_font(), reason="Chromium or a CJK font is missing: run "
                    "scripts/install-system-deps.sh (apt-get install chromium fonts-wqy-microhei)")
def test_report_shows_chinese_plates_in_headless_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    root = str(tmp_path / "plates")
    items = [(p, 0.2 + 0.1 * i, p) for i, p in enumerate(CN_PLATES)] + [("沪C99999", 0.99, "沪C99999")] * 20
    write_results_root(root, [{"run_id": "run-cn", "rows": _rows("run-cn", items), "partition": "run_date=2026-03-01"}])
    out = tmp_path / "report.html"
    assert cli_main(["report", "--results", root, "--out", str(out), "--no-thumbnails"]) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1600})
            page.goto("file://" + str(out))
            cells = page.locator("td").all_inner_texts()
            for plate in CN_PLATES:  # the UTF-8 text arrives whole in the DOM
                assert plate in cells, plate
            cell = next(i for i, t in enumerate(cells) if t == "皖A12345")
            selector = f"td >> nth={cell}"
            page.locator(selector).evaluate("el => el.id = 'probe'")
            pixels = page.evaluate(_GLYPH_JS, ["#probe", ["皖", "鄂", "警", "\ue000", "\ue001"]])
            wan, e, jing, box1, box2 = pixels
            assert box1 == box2  # two unassigned code points: the same fallback box
            assert len({wan, e, jing, box1}) == 4, "Chinese characters render as boxes: no CJK font"
            shot = tmp_path / "report-cn.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
