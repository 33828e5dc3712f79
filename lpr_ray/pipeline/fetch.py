"""Read objects and decode them into model-sized crops: the CPU stage of the job.

Each failure becomes a status on its row (never an exception), so one bad object cannot
fail a block and take its neighbours with it.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lpr_ray.core.image import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MODEL_HEIGHT,
    MODEL_WIDTH,
    decode_crop,
)
from lpr_ray.core.objects import REFUSED, read_object
from lpr_ray.core.storage import is_local
from lpr_ray.pipeline.lost import BATCH_LOST

# Failures of the read, not of the bytes: the ledger leaves these out so that the next
# incremental run tries the object again (a decode failure is the same on every read).
RETRYABLE_STATUSES = ("not_found", "access_denied", "read_error", REFUSED, BATCH_LOST)


def _kill_point(uris: list[str]) -> None:
    """Fault injection for the lost-batch tests: LPR_RAY_KILL_FETCH_ON=text kills the worker
    (SIGKILL, as the kernel's or Ray's memory killer does) whose batch holds a URI with text."""
    text = os.environ.get("LPR_RAY_KILL_FETCH_ON")
    if text and any(text in u for u in uris):
        os.kill(os.getpid(), signal.SIGKILL)


def fetch_and_decode(
    batch: dict[str, np.ndarray],
    *,
    threads: int = 16,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    local_roots: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Batch with `uri` (and `label`) -> adds image, width, height, status, error.
    local_roots: resolved folders that local files must lie in (None: anywhere)."""
    uris = [str(u) for u in batch["uri"]]
    n = len(uris)
    _kill_point(uris)

    def read(uri: str):
        try:
            return read_object(uri, max_bytes, local_roots)
        except Exception as exc:  # noqa: BLE001 - the last wall: one object's surprise (a
            # storage library's own error type) becomes its row, never its neighbours' loss
            return None, "read_error", f"reading the object failed: {type(exc).__name__}: {str(exc)[:200]}"

    def decode(data, status, error):
        if status is not None:
            return status, error, None, -1, -1
        try:
            crop = decode_crop(data, max_pixels=max_pixels, max_bytes=max_bytes)
        except Exception as exc:  # noqa: BLE001 - as above: the object's row, not the block's loss
            # read_error, retried by the next incremental run: a MemoryError is not the bytes' fault.
            return "read_error", f"decoding failed: {type(exc).__name__}: {str(exc)[:200]}", None, -1, -1
        return crop.status, crop.error, crop.image, crop.width or -1, crop.height or -1

    # Threads only for remote reads, which wait on the network; local reads, and decoding,
    # run in this thread: under the GIL, 16 threads made a local read 4x slower (38 -> 147 µs
    # per crop, BENCHMARKS.md "Pipeline"). Fetch tasks run side by side for CPU parallelism.
    # At most 2 x threads objects' bytes are held at once, decoded as they arrive in order.
    results: list = [None] * n
    remote = [i for i, u in enumerate(uris) if not is_local(u)]
    if len(remote) > 1 and threads > 1:
        pending = iter(remote)
        with ThreadPoolExecutor(max_workers=min(threads, len(remote))) as pool:
            window = deque((i, pool.submit(read, uris[i])) for i in itertools.islice(pending, 2 * threads))
            while window:
                i, future = window.popleft()
                nxt = next(pending, None)
                if nxt is not None:
                    window.append((nxt, pool.submit(read, uris[nxt])))
                results[i] = decode(*future.result())
    for i in range(n):
        if results[i] is None:
            results[i] = decode(*read(uris[i]))

    images = np.zeros((n, MODEL_HEIGHT, MODEL_WIDTH, 3), dtype=np.uint8)
    for i, r in enumerate(results):
        if r[2] is not None:
            images[i] = r[2]
    # Nulls in a string column arrive as None or NaN depending on Ray's conversion path.
    labels = [lab if isinstance(lab, str) else None for lab in batch.get("label", [None] * n)]
    return {
        "uri": np.array(uris, dtype=object),
        "label": np.array(labels, dtype=object),
        "status": np.array([r[0] for r in results], dtype=object),
        "error": np.array([r[1] for r in results], dtype=object),
        "width": np.array([r[3] for r in results], dtype=np.int32),
        "height": np.array([r[4] for r in results], dtype=np.int32),
        "image": images,
    }
