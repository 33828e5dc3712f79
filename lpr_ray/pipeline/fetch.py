"""Read objects and decode them into model-sized crops: the CPU stage of the job.

Each failure becomes a status on its row (never an exception), so one bad object cannot
fail a block and take its neighbours with it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lpr_ray.image import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MODEL_HEIGHT,
    MODEL_WIDTH,
    decode_crop,
)
from lpr_ray.storage import arrow_filesystem, is_local


def _fs_and_path(uri: str):
    """(filesystem, path) of an object; one filesystem per scheme/bucket, cached per process."""
    if is_local(uri):
        return arrow_filesystem("/")[0], uri.removeprefix("file://")
    scheme, rest = uri.split("://", 1)
    return arrow_filesystem(f"{scheme}://{rest.split('/', 1)[0]}")[0], rest


def read_object(uri: str, max_bytes: int) -> tuple[bytes | None, str | None, str | None]:
    """(data, status, error): status is None on success."""
    fs, path = _fs_and_path(uri)
    try:
        with fs.open_input_stream(path) as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None, "not_found", "the object no longer exists (deleted after listing?)"
    except PermissionError:
        return None, "access_denied", "access denied: check the credentials' read permission on this object"
    except IsADirectoryError:
        return None, "read_error", "the URI names a folder, not an object"
    except OSError as exc:
        # pyarrow reports S3 errors as OSError with the HTTP status in the text.
        msg = str(exc)
        if "NoSuchKey" in msg or "404" in msg:
            return None, "not_found", "the object no longer exists (deleted after listing?)"
        if "AccessDenied" in msg or "403" in msg:
            return None, "access_denied", "access denied: check the credentials' read permission on this object"
        return None, "read_error", f"reading the object failed: {msg.splitlines()[0][:300]}"
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
