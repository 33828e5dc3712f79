"""Write synthetic plates as a TAO-layout dataset.

Images are saved at their source size (the pipeline resizes them): the JPEG bytes when the
plate drew JPEG compression, PNG otherwise. Chinese plates go into one subfolder per plate
type (images/blue/, images/green_small/, ...), so that `lpr-ray eval` reports each apart. The dataset is assembled in a sibling
temporary folder and renamed into place at the end, with characters_list.txt written
last, so an interrupted run never leaves a folder that looks like a complete dataset.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from lpr_ray.core.charset import REGIONS
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.progress import terminal_bar
from lpr_ray.synth.generate import render_plate, single_threaded_cv2

CHUNK = 500


def _name_width(count: int) -> int:
    return max(6, len(str(max(count - 1, 0))))


def _write_range(tmp: str, seed: int, start: int, stop: int, width: int, region: str = "us") -> int:
    with single_threaded_cv2():
        _write_plates(Path(tmp), seed, start, stop, width, region)
    return stop - start


def _write_plates(tmp: Path, seed: int, start: int, stop: int, width: int, region: str) -> None:
    images, labels = tmp / "images", tmp / "labels"
    made: set[str] = set()
    for i in range(start, stop):
        p = render_plate(seed, i, region)
        name = f"{i:0{width}d}"
        if region != "us":  # one folder per plate type: `lpr-ray eval` reports accuracy by folder
            name = f"{p.kind}/{name}"
            if p.kind not in made:
                (images / p.kind).mkdir(exist_ok=True)
                (labels / p.kind).mkdir(exist_ok=True)
                made.add(p.kind)
        if p.jpeg is not None:
            (images / f"{name}.jpg").write_bytes(p.jpeg)
        else:
            ok, enc = cv2.imencode(".png", p.image)
            if not ok:
                raise LprRayError(f"could not encode synthetic plate {i} as PNG")
            (images / f"{name}.png").write_bytes(enc.tobytes())
        (labels / f"{name}.txt").write_text(p.label + "\n", encoding="utf-8")


def _prepare(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LprRayError(f"{out} already exists and is not an empty folder: choose a new --out")
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "images").mkdir(parents=True)
    except OSError as exc:  # a path under a file, a read-only disk: say which path
        raise LprRayError(f"cannot create the dataset folder {out}: {exc}") from exc
    (tmp / "labels").mkdir()
    return tmp


def _default_progress(done: int, count: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    print(f"synth: {done}/{count} plates ({rate:.0f}/s)", file=sys.stderr, flush=True)


def write_dataset(
    out: str,
    count: int,
    seed: int = 0,
    *,
    region: str = "us",
    workers: int = 1,
    progress: Callable[[int, int, float], None] | bool | None = None,
) -> None:
    """Write `count` plates of stream `seed` to `out` (a local folder that must not exist yet,
    or be empty). `workers` > 1 renders in that many processes; the files are the same.
    `progress=True` prints a line to stderr every few percent; a callable gets
    (done, count, start time from time.monotonic()). `region` is "us" or "cn"."""
    if region not in REGIONS:
        raise LprRayError(f"unknown plate region {region!r}; expected one of {sorted(REGIONS)}")
    if count < 0:
        raise LprRayError(f"count must be >= 0, got {count}")
    bar = terminal_bar(count, f"synth {region}") if progress is True else None
    if bar is not None:  # a terminal: a bar, redrawn per chunk

        def report(done: int, count: int, started: float) -> None:
            bar.update(done - bar.n)
    else:
        report = _default_progress if progress is True else (progress or None)
    out_path = Path(out).expanduser().resolve()
    tmp = _prepare(out_path)
    width = _name_width(count)
    ranges = [(s, min(s + CHUNK, count)) for s in range(0, count, CHUNK)]
    started = time.monotonic()
    done, next_report, last_reported = 0, 0, -1
    step = CHUNK if bar is not None else max(CHUNK, count // 20)
    try:
        if workers <= 1 or len(ranges) <= 1:
            results = (_write_range(str(tmp), seed, a, b, width, region) for a, b in ranges)
            for n in results:
                done += n
                if report and done >= next_report:
                    report(done, count, started)
                    next_report, last_reported = done + step, done
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [
                    pool.submit(_write_range, str(tmp), seed, a, b, width, region) for a, b in ranges
                ]
                for fut in cf.as_completed(futures):
                    done += fut.result()
                    if report and done >= next_report:
                        report(done, count, started)
                        next_report, last_reported = done + step, done
        (tmp / "characters_list.txt").write_text(REGIONS[region].to_text(), encoding="utf-8")
        if out_path.exists():
            out_path.rmdir()
        tmp.rename(out_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    if report and bar is None and last_reported != done:
        report(done, count, started)
