"""Read objects and decode them into model-sized crops: the CPU stage of the job.

Each failure becomes a status on its row (never an exception), so one bad object cannot
fail a block and take its neighbours with it.
"""

from __future__ import annotations

import os
import re
import signal
import stat
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lpr_ray.image import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MODEL_HEIGHT,
    MODEL_WIDTH,
    decode_crop,
)
from lpr_ray.pipeline.lost import BATCH_LOST
from lpr_ray.storage import arrow_object_fs, is_access_denied, is_local, normalize_uri, url_to_fs

NOT_FOUND = "the object does not exist (deleted after it was listed, or a manifest entry for a missing key)"
ACCESS_DENIED = "access denied: check the credentials' read permission on this object"
# A local path outside the input's folder (a manifest entry, a symlink's target): refused
# unless --local-root allows it, so that a manifest cannot make the job read any file.
REFUSED = "refused"
# Something that is not a file: a FIFO (reading it would block for ever), a device, a
# socket, a folder (or a link to one), an S3 key ending in "/".
NOT_A_FILE = "not_a_file"
# Failures of the read, not of the bytes: the ledger leaves these out so that the next
# incremental run tries the object again (a decode failure is the same on every read).
RETRYABLE_STATUSES = ("not_found", "access_denied", "read_error", REFUSED, BATCH_LOST)
_FILE_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}


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
    except FileNotFoundError as exc:
        # fsspec's HTTP client says "not found" for any failed request: a refused connection
        # is not a missing object.
        cause = exc.__cause__  # aiohttp's connection errors are OSErrors; an HTTP 404 is not
        if isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError):
            return None, "read_error", f"cannot reach the server ({type(cause).__name__}: {str(cause)[:200]})"
        return None, "not_found", NOT_FOUND
    except PermissionError:
        return None, "access_denied", ACCESS_DENIED
    except Exception as exc:  # noqa: BLE001 - fsspec backends raise their own types (aiohttp's
        # ClientResponseError for an HTTP 500...); one object's failure must stay on its row
        return (None, *_classify(f"{type(exc).__name__}: {exc}", getattr(exc, "status", None)))


def under_roots(path: str, roots: tuple[str, ...]) -> bool:
    """Whether a resolved local path lies in one of the resolved roots."""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _read_local(uri: str, max_bytes: int, roots: tuple[str, ...] | None):
    """A local file, judged on its resolved path (symlinks followed) and opened without
    blocking: a FIFO named by a manifest would otherwise hang its fetch task for ever."""
    path = normalize_uri(uri)
    real = os.path.realpath(path)
    if roots is not None and not under_roots(real, roots):
        shown = f" (a link to {real})" if real != path else ""
        return None, REFUSED, (
            f"the file lies outside the input's folder{shown}; lpr-ray reads local files only under "
            "the input's own folder: allow another folder with --local-root DIR")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            return None, "not_found", f"the path is a link to {real}, which does not exist"
        return None, "not_found", NOT_FOUND
    except PermissionError:
        return None, "access_denied", "access denied: this user cannot read the file"
    except IsADirectoryError:
        return None, NOT_A_FILE, "the path is a folder (or a link to one), not a file"
    except OSError as exc:
        return None, "read_error", f"reading the file failed: {exc.strerror or type(exc).__name__}"
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
            return None, NOT_A_FILE, f"the path is {kind}, not a file; lpr-ray reads regular files only"
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(max_bytes + 1), None, None
    except OSError as exc:
        return None, "read_error", f"reading the file failed: {exc.strerror or type(exc).__name__}"
    finally:
        os.close(fd)


# Keys that pyarrow's S3 client refuses to address (an empty, "." or ".." path component)
# but that S3 stores: s3fs reads them.
_ODD_KEY = re.compile(r"//|(^|/)\.{1,2}(/|$)")


def read_object(
    uri: str, max_bytes: int, roots: tuple[str, ...] | None = None
) -> tuple[bytes | None, str | None, str | None]:
    """(data, status, error): status is None on success. roots: resolved local folders that
    local paths must lie in (None: any)."""
    if is_local(uri):
        return _read_local(uri, max_bytes, roots)
    if uri.endswith("/"):
        return None, NOT_A_FILE, (
            "the key ends in '/', as the folder markers of S3 consoles and tools do; lpr-ray "
            "reads only keys of files: rename it if it holds a crop")
    found = arrow_object_fs(uri)
    if found is None or _ODD_KEY.search(found[1].split("/", 1)[-1]):
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
        return None, NOT_A_FILE, "the URI names a folder, not an object"
    except (OSError, ValueError) as exc:
        # pyarrow reports S3 errors as OSError with the error code in the text, and paths it
        # cannot address as ArrowInvalid (a ValueError).
        return (None, *_classify(str(exc)))
    return data, None, None


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

    def one(uri: str):
        try:
            data, status, error = read_object(uri, max_bytes, local_roots)
            if status is not None:
                return status, error, None, -1, -1
            crop = decode_crop(data, max_pixels=max_pixels, max_bytes=max_bytes)
        except Exception as exc:  # noqa: BLE001 - the last wall: one object's surprise (a
            # storage library's own error type) becomes its row, never its neighbours' loss
            return "read_error", f"reading the object failed: {type(exc).__name__}: {str(exc)[:200]}", None, -1, -1
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
