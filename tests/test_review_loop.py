"""Issue 24's loop, end to end, as an operator runs it: a job over a site whose crops the
shipped model reads badly (loose crops: the plate in the middle of a wide green margin),
corrections through the review server, the corrections exported as TAO data, a fine-tune from
the shipped model mixed with synthetic plates, evaluation on held-out corrections, the archive
run again with the new model: the review queue shrinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import pytest
from review_server import ReviewServer

from lpr_ray.core.model import DEFAULT_MODEL_DIR
from lpr_ray.results import query

pytestmark = pytest.mark.slow
MARGIN = 0.35  # of the crop's size, on every side: the shipped model reads about 4 in 10


def cli(*args: str, env=None) -> str:
    proc = subprocess.run([sys.executable, "-m", "lpr_ray.cli.main", *args], capture_output=True, text=True,
                          timeout=900, env=env)
    assert proc.returncode == 0, f"lpr-ray {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def as_json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


def loose_crops(folder) -> dict[str, str]:
    """Synthetic plates with a wide margin, as a site's detector might crop them; returns
    file name -> true plate (the operator's knowledge, not in the archive)."""
    truth = {}
    for path in sorted((folder / "images").iterdir()):
        img = cv2.imread(str(path))
        h, w = img.shape[:2]
        dy, dx = int(h * MARGIN), int(w * MARGIN)
        cv2.imwrite(str(path), cv2.copyMakeBorder(img, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(40, 90, 40)))
        truth[path.name] = (folder / "labels" / f"{path.stem}.txt").read_text().strip()
    return truth


def test_review_fine_tune_rerun_shrinks_the_queue(tmp_path, s3, ray_cluster):
    env = {**os.environ, **ray_cluster.env()}
    site = tmp_path / "site"
    cli("synth", "--count", "200", "--out", str(site), "--seed", "11", "--workers", "1")
    truth = loose_crops(site)
    bucket = s3.create_bucket("review-loop")
    s3.upload_dir(site / "images", f"{bucket}/site7")  # images only: the archive has no labels
    root = f"{bucket}/results"
    cli("run", "--input", f"{bucket}/site7/", "--output", root, "--json", env=env)

    # An operator corrects the 80 lowest-confidence reads (what the page sends, by HTTP).
    with ReviewServer(root) as srv:
        _, first = srv.api("/api/next", query={"page": "op", "limit": "1"})
        queue_before = first["left"]
        reviewed = set()
        while len(reviewed) < 80:
            _, batch = srv.api("/api/next", query={"page": "op", "limit": "20"})
            for item in batch["items"][: 80 - len(reviewed)]:
                plate = truth[item["uri"].rsplit("/", 1)[-1]]
                kind = "accepted" if plate == item["plate"] else "corrected"
                status, _ = srv.api("/api/review", {"uri": item["uri"], "verdict": kind, "label": plate})
                assert status == 200
                reviewed.add(item["uri"])
        _, after_review = srv.api("/api/next", query={"page": "op2", "limit": "1"})
        assert after_review["done"] == 80 and after_review["left"] == queue_before - 80

    # The reviewed images read as the person said, in query.
    current = query.sql(root, "SELECT uri, plate, source FROM results WHERE source = 'human'").to_pylist()
    assert len(current) == 80 and all(r["plate"] == truth[r["uri"].rsplit("/", 1)[-1]] for r in current)

    corrections, holdout = tmp_path / "corrections", tmp_path / "corrections_holdout"
    cli("export-reviews", "--results", root, "--out", str(corrections), "--holdout", str(holdout),
        "--holdout-fraction", "0.25")
    run = tmp_path / "finetune"
    cli("train", "--out", str(run), "--init-from", "us_lprnet_small", "--train-tao", str(corrections),
        "--tao-fraction", "0.5", "--synthetic", "2000", "--epochs", "1", "--steps-per-epoch", "250",
        "--batch-size", "32", "--lr", "5e-4", "--warmup-steps", "20", "--val-synthetic", "100", "--seed", "3",
        "--threads", "2", "--workers", "0", "--device", "cpu")
    model = tmp_path / "site7_model"
    cli("export", "--checkpoint", str(run / "last.pt"), "--out", str(model), "--val-synthetic", "64")

    # Better on the corrections it never trained on.
    base = as_json(cli("eval", str(holdout), "--model", str(DEFAULT_MODEL_DIR), "--json"))
    tuned = as_json(cli("eval", str(holdout), "--model", str(model), "--json"))
    assert tuned["count"] == base["count"] >= 10
    assert tuned["full_plate_accuracy"] > base["full_plate_accuracy"]

    # The archive again with the new model: fewer reads left for people to check.
    cli("run", "--input", f"{bucket}/site7/", "--output", root, "--model", str(model), "--json", env=env)
    with ReviewServer(root) as srv:
        _, after = srv.api("/api/next", query={"page": "op3", "limit": "1"})
    assert after["done"] == 80
    print(f"queue {queue_before} -> {queue_before - 80} reviewed -> {after['left']} after the re-run; held-out "
          f"accuracy {base['full_plate_accuracy']:.3f} -> {tuned['full_plate_accuracy']:.3f} on {base['count']}")
    assert after["left"] < queue_before - 80, (queue_before, after["left"])
    # Still the person's labels where there is one, the new model's reads elsewhere.
    models = query.sql(root, "SELECT source, model FROM results").to_pylist()
    assert sum(r["source"] == "human" for r in models) == 80
    assert {r["model"].split("@")[0] for r in models} == {"site7_model"}
