"""`lpr-ray review` as people use it: a real server process over results on the local S3
server, crops fetched by the server, and the page driven in headless Chromium by keyboard.
Hostile object keys render as text, requests without the token are refused, two reviewers
never overwrite each other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from review_server import ReviewServer

from lpr_ray.results.reviews import read_records

pytestmark = pytest.mark.slow

HOSTILE_KEYS = [
    "<img src=x onerror=alert(1)>.jpg",
    '"><script>alert(2)</script>.png',
    "it's \u202e\u00e9\u6e2f\U0001f697.jpg",
    "long-" + "\u4eac" * 80 + ".jpg",  # 249 bytes: a file name's limit on disk
]


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def reviewed_root(s3, ray_cluster, tmp_path_factory):
    """A job's results over 12 crops, four under hostile keys, and an HTML file named .jpg."""
    src = tmp_path_factory.mktemp("review_src")
    rng = np.random.default_rng(5)
    for i in range(8):
        img = np.full((40, 120, 3), 235, np.uint8)
        cv2.putText(img, f"7AB{i}12", (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
        cv2.imwrite(str(src / f"{i:03d}.jpg"), img)
    for key in HOSTILE_KEYS:  # a "/" in a key is a folder on disk, a key's character in S3
        cv2.imwrite(str(src / "x.png"), rng.integers(0, 255, (30, 90, 3), dtype=np.uint8))
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        os.rename(src / "x.png", src / key)
    (src / "page.jpg").write_bytes(b"<html><script>alert(3)</script></html>")
    bucket = s3.create_bucket("review-page")
    s3.upload_dir(src, f"{bucket}/crops")
    root = f"{bucket}/results"
    env = {**os.environ, **ray_cluster.env()}
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "run", "--input", f"{bucket}/crops/",
                           "--output", root, "--json"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def crop(name: str) -> str:
    return f"s3://review-page/crops/{name}"


def test_token_guard_headers_and_what_the_server_will_fetch(reviewed_root):
    with ReviewServer(reviewed_root) as srv:
        assert srv.request("/", token=None)[0] == 403
        assert srv.request("/api/next", token="wrong")[0] == 403
        status, headers, body = srv.request("/")
        assert status == 200 and b"lpr-ray review" in body
        cookie = headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        # Only images the queue has shown, whatever the URI names.
        for uri in ("/etc/passwd", "../_commits/000000000001.json", crop("000.jpg")):
            assert srv.request("/api/image", query={"uri": uri})[0] == 404
        status, page = srv.api("/api/next", query={"page": "a", "status": "any", "max_confidence": "1"})
        assert status == 200 and page["left"] == 13 and page["done"] == 0
        shown = {i["uri"]: i for i in page["items"]}
        status, headers, png = srv.request("/api/image", query={"uri": crop("000.jpg")})
        assert status == 200 and headers["content-type"] == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
        status, err = srv.api("/api/image", query={"uri": crop("page.jpg")})
        assert status == 422 and err["status"] == "not_an_image"
        assert shown[crop("page.jpg")]["status"] == "not_an_image"
        # Bad bodies are refused with what was expected.
        uri = crop("001.jpg")
        status, err = srv.api("/api/review", b"uri=x", content_type="application/x-www-form-urlencoded")
        assert status == 400 and "application/json" in err["error"]
        status, err = srv.api("/api/review", {"uri": uri, "verdict": "corrected", "label": "<b>"})
        assert status == 400 and "no lpr-ray dictionary holds" in err["error"]
        status, err = srv.api("/api/review", {"uri": "s3://elsewhere/x.jpg", "verdict": "unreadable"})
        assert status == 400 and "not shown" in err["error"]
        status, err = srv.api("/api/next", query={"status": "bogus"})
        assert status == 400 and "not_an_image, ok" in err["error"]
        # "Accepted" with another plate than the read is stored as the correction it is.
        read = shown[uri]["plate"]
        status, rec = srv.api("/api/review", {"uri": uri, "verdict": "accepted", "label": "ZZZ999"})
        assert status == 200 and rec["verdict"] == "corrected" and rec["old"]["plate"] == read
        srv.api("/api/undo", {"id": rec["id"]})
        # Facets for the filters.
        status, config = srv.api("/api/config")
        assert set(config["facets"]["status"]) == {"ok", "not_an_image"}


def test_two_reviewers_see_different_images_and_never_overwrite(reviewed_root):
    with ReviewServer(reviewed_root) as srv:
        q = {"status": "any", "max_confidence": "1", "limit": "4"}
        _, a = srv.api("/api/next", query={**q, "page": "ana"})
        _, b = srv.api("/api/next", query={**q, "page": "bo"})
        a_uris, b_uris = [i["uri"] for i in a["items"]], [i["uri"] for i in b["items"]]
        assert len(a_uris) == len(b_uris) == 4 and not set(a_uris) & set(b_uris)
        target = a_uris[0]
        status, rec = srv.api("/api/review", {"uri": target, "verdict": "unreadable", "reviewer": "ana"})
        assert status == 200
        # bo decides on the same image without having seen ana's verdict: refused, named.
        status, err = srv.api("/api/review", {"uri": target, "verdict": "not_a_plate", "reviewer": "bo"})
        assert status == 409 and "ana already reviewed" in err["error"]
        # ...unless bo saw it (an explicit second opinion): both records are kept.
        status, _ = srv.api("/api/review", {"uri": target, "verdict": "not_a_plate", "reviewer": "bo",
                                             "seen_review": rec["id"]})
        assert status == 200
        mine = [r for r in read_records(reviewed_root) if r["uri"] == target]
        assert [r["reviewer"] for r in mine] == ["ana", "bo"]
        for r in mine:
            srv.api("/api/undo", {"id": r["id"], "reviewer": r["reviewer"]})


def test_loopback_unless_asked_and_then_a_warning(reviewed_root):
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", "review", "--results", reviewed_root,
                           "--port", "70000"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "port number from 0 to 65535" in proc.stderr
    with ReviewServer(reviewed_root) as srv:
        assert srv.base.startswith("http://127.0.0.1:")
    with ReviewServer(reviewed_root, "--host", "0.0.0.0") as srv:
        srv.proc.terminate()
        assert "warning: listening on 0.0.0.0, beyond this machine" in srv.proc.stderr.read()


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed: run scripts/install-system-deps.sh")
def test_page_by_keyboard_in_chromium_with_hostile_keys(reviewed_root, tmp_path):
    from playwright.sync_api import sync_playwright

    before = len(read_records(reviewed_root))
    with ReviewServer(reviewed_root) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        # Without the page's CSP (which refuses the test's own probes): keys must render as
        # text by themselves, not only because the CSP would stop what they smuggle in.
        page = browser.new_page(bypass_csp=True)
        dialogs, errors = [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url)
        page.wait_for_selector("#card:not([hidden])")
        page.fill("#max_confidence", "1")
        page.select_option("#status", "any")  # every image, those that could not be read too
        page.wait_for_function("document.querySelector('#counter').textContent.includes('left 13')")

        seen = {}
        for _ in range(13):
            meta = page.text_content("#meta")
            uri = meta.split(" · ")[0]
            page.wait_for_function("document.querySelector('#crop').src || !document.querySelector('#image-error').hidden")
            seen[uri] = (page.input_value("#plate"), page.is_visible("#image-error") and page.text_content("#image-error"))
            page.keyboard.press("Alt+u")  # unreadable: next
            page.wait_for_function(
                "u => !document.querySelector('#meta').textContent.startsWith(u) || "
                "!document.querySelector('#empty').hidden", arg=uri)
        assert page.is_visible("#empty") and "done 13" in page.text_content("#counter")
        # Every hostile key was shown as text, whole, and nothing it holds ran.
        for key in HOSTILE_KEYS:
            assert crop(key) in seen
        assert dialogs == [] and errors == []
        assert page.evaluate("document.querySelectorAll('script').length") == 1  # our own only
        assert "not_an_image" in seen[crop("page.jpg")][1]

        # Undo twice: the last two images come back, in reverse order, and a correction by
        # typing replaces one of them.
        page.keyboard.press("Control+z")
        page.wait_for_selector("#card:not([hidden])")
        page.keyboard.press("Control+z")
        page.wait_for_function("document.querySelector('#counter').textContent.includes('done 11')")
        page.fill("#plate", "7ab-912")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#counter').textContent.includes('done 12')")
        page.screenshot(path=str(tmp_path / "review.png"))
        # A reload keeps the tab's own claim: the last read comes back at once, not in 5 minutes.
        page.reload()
        page.wait_for_selector("#card:not([hidden]), #empty:not([hidden])")
        page.fill("#max_confidence", "1")
        page.select_option("#status", "any")
        page.wait_for_function("document.querySelector('#counter').textContent.includes('left 1')")
        assert page.is_visible("#card")
        browser.close()
    records = read_records(reviewed_root)[before:]
    assert [r["verdict"] for r in records].count("undo") == 2
    assert records[-1]["verdict"] == "corrected" and records[-1]["label"] == "7AB912"
    assert records[-1]["reviewer"] == "tester" and records[-1]["old"]["run_id"]
