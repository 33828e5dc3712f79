"""Read objects and decode them into model-sized crops: the CPU stage of the job.

Each failure becomes a status on its row (never an exception), so one bad object cannot
fail a block and take its neighbours with it.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lpr_ray.image import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MODEL_HEIGHT,
    MODEL_WIDTH,
    decode_crop,
)
from lpr_ray.storage import arrow_object_fs, is_access_denied, url_to_fs

NOT_FOUND = "the object does not exist (deleted after it was listed, or a manifest entry for a missing key)"
ACCESS_DENIED = "access denied: check the credentials' read permission on this object"
# Failures of the read, not of the bytes: the ledger leaves these out so that the next
# incremental run tries the object again (a decode failure is the same on every read).
RETRYABLE_STATUSES = ("not_found", "access_denied", "read_error")


_STATUS_404 = re.compile(r"status\W{0,3}404\b")


def _classify(msg: str, http_status: int | None = None) -> tuple[str, str]:
    """(status, error) of a failed read from its message. pyarrow puts the S3 error in the
    text ("AWS Error ACCESS_DENIED during HeadObject", "HTTP status 403"); a bare "403" is
    not enough, since the message also quotes the key (plates/4031.png)."""
    low = msg.lower()
    if http_status == 404 or "nosuchkey" in low or _STATUS_404.search(low):
        return "not_found", NOT_FOUND
    if is_access_denied(msg, http_status):
        return "access_denied", ACCESS_DENIED
    return "read_error", f"reading the object failed: {(msg.splitlines() or [''])[0][:300]}"


def _read_fsspec(uri: str, max_bytes: int) -> tuple[bytes | None, str | None, str | None]:
    """http(s):// and other fsspec schemes, whose paths are not "<bucket>/<key>"."""
    try:
        fs, path = url_to_fs(uri)
        with fs.open(path, "rb") as f:
            return f.read(max_bytes + 1), None, None
    except FileNotFoundError:
        return None, "not_found", NOT_FOUND
    except PermissionError:
        return None, "access_denied", ACCESS_DENIED
    except Exception as exc:  # noqa: BLE001 - fsspec backends raise their own types (aiohttp's
        # ClientResponseError for an HTTP 500...); one object's failure must stay on its row
        return (None, *_classify(f"{type(exc).__name__}: {exc}", getattr(exc, "status", None)))


def read_object(uri: str, max_bytes: int) -> tuple[bytes | None, str | None, str | None]:
    """(data, status, error): status is None on success."""
    found = arrow_object_fs(uri)
    if found is None:
        return _read_fsspec(uri, max_bytes)
    fs, path = found
    try:
        with fs.open_input_stream(path) as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None, "not_found", NOT_FOUND
    except PermissionError:
        return None, "access_denied", ACCESS_DENIED
    except IsADirectoryError:
        return None, "read_error", "the URI names a folder, not an object"
    except OSError as exc:
        # pyarrow reports S3 errors as OSError with the error code in the text.
        return (None, *_classify(str(exc)))
    return data, None, None


def fetch_and_decode(
    batch: dict[str, np.ndarray],
    *,
    threads: int = 16,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, np.ndarray]:
    """Batch with `uri` (and `label`) -> adds image, width, height, status, error."""
    uris = [str(u) for u in batch["uri"]]
    n = len(uris)

    def one(uri: str):
        data, status, error = read_object(uri, max_bytes)
        if status is not None:
            return status, error, None, -1, -1
        crop = decode_crop(data, max_pixels=max_pixels, max_bytes=max_bytes)
        return crop.status, crop.error, crop.image, crop.width or -1, crop.height or -1

    if n > 1 and threads > 1:
        with ThreadPoolExecutor(max_workers=min(threads, n)) as pool:
            results = list(pool.map(one, uris))
    else:
        results = [one(u) for u in uris]

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
