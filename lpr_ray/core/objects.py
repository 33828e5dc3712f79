"""One object's bytes, or a status saying why not: local paths, s3:// and any fsspec URL.

Never an exception for a failed read (one object's failure must stay on its own row), and
never a hang: FIFOs and devices are refused without blocking, local paths are judged on their
resolved target against the roots the caller allows, S3 keys pyarrow cannot address go
through s3fs. Used by the job's fetch stage and by `lpr_ray.Recognizer`.
"""

from __future__ import annotations

import os
import re
import stat

from lpr_ray.core.storage import (
    arrow_object_fs,
    is_access_denied,
    is_local,
    normalize_uri,
    url_to_fs,
)

NOT_FOUND = "the object does not exist (deleted after it was listed, or a manifest entry for a missing key)"
ACCESS_DENIED = "access denied: check the credentials' read permission on this object"
# A local path outside the input's folder (a manifest entry, a symlink's target): refused
# unless --local-root allows it, so that a manifest cannot make the job read any file.
REFUSED = "refused"
# Something that is not a file: a FIFO (reading it would block for ever), a device, a
# socket, a folder (or a link to one), an S3 key ending in "/".
NOT_A_FILE = "not_a_file"
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
