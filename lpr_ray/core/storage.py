"""Object storage access: local paths, s3:// and any fsspec URL.

Credentials come from the standard places (AWS_* variables, AWS_ENDPOINT_URL, profiles,
instance roles) and are never logged: error messages carry URIs only.
"""

from __future__ import annotations

import os
import posixpath
import re
from functools import lru_cache

import fsspec

from lpr_ray.core.errors import require


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def normalize_uri(uri: str) -> str:
    """Local paths become absolute so rows name the file unambiguously."""
    if uri.startswith("file://"):
        return os.path.abspath(uri[len("file://") :])
    if "://" not in uri:
        return os.path.abspath(uri)
    return uri.rstrip("/") if uri.count("/") > 3 else uri


def url_to_fs(uri: str):
    return fsspec.core.url_to_fs(uri)


def full_uri(fs, path: str, like: str) -> str:
    """fsspec paths lose their protocol; give back what a user can paste elsewhere."""
    if is_local(like):
        return path
    return fs.unstrip_protocol(path)


def arrow_filesystem(uri: str):
    """(pyarrow FileSystem, path) for writing Parquet and reading objects.

    pyarrow's own S3 client is used for s3:// (about 2x faster than s3fs wrapped for
    Ray here); every other scheme goes through fsspec. Cached per process, keyed by the
    endpoint settings too, so a changed AWS_ENDPOINT_URL is honoured.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _arrow_filesystem(uri, endpoint, region)


def arrow_object_fs(uri: str):
    """(pyarrow filesystem, path) of one local or s3:// object, or None for other schemes
    (fsspec reads those). One S3 filesystem per bucket, so the cache stays small whatever
    the number of keys."""
    if is_local(uri):
        return arrow_filesystem("/")[0], normalize_uri(uri)
    if uri.startswith("s3://"):
        rest = uri[len("s3://"):]  # S3 paths are "bucket/key"
        return arrow_filesystem(f"s3://{rest.split('/', 1)[0]}")[0], rest
    return None


@lru_cache(maxsize=16)
def _arrow_filesystem(uri: str, endpoint: str | None, region: str | None):
    pafs = require("pyarrow.fs", "pipeline")
    if uri.startswith("s3://"):
        kwargs = {}
        if endpoint:
            kwargs["endpoint_override"] = endpoint
            if endpoint.startswith("http://"):
                kwargs["scheme"] = "http"
        if region:
            kwargs["region"] = region
        return pafs.S3FileSystem(**kwargs), uri[len("s3://") :]
    if is_local(uri):
        return pafs.LocalFileSystem(), normalize_uri(uri)
    fs, path = fsspec.core.url_to_fs(uri)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def join(uri: str, *parts: str) -> str:
    if is_local(uri):
        return os.path.join(normalize_uri(uri), *parts)
    return posixpath.join(uri, *parts)


# What S3 clients (s3fs/botocore, pyarrow's AWS SDK) say when the credentials are refused. A
# bare "403" is not enough: messages also quote the key (plates/4031.png).
_DENIED = ("access_denied", "accessdenied", "forbidden", "invalidaccesskeyid", "invalid_access_key_id",
           "signaturedoesnotmatch", "signature_does_not_match")
_STATUS_403 = re.compile(r"status\W{0,3}403\b")


def is_access_denied(exc: BaseException | str, http_status: int | None = None) -> bool:
    """Whether a failed storage call (an exception or its message) was the credentials refused."""
    if isinstance(exc, PermissionError) or http_status in (401, 403):
        return True
    low = str(exc).lower()
    return any(d in low for d in _DENIED) or _STATUS_403.search(low) is not None


def storage_error(what: str, uri: str, exc: BaseException) -> str:
    """One line for a failed storage call: the URI and, when the store refused the credentials,
    where credentials come from (never their values)."""
    first = (str(exc).splitlines() or [""])[0]
    if is_access_denied(exc):
        return (
            f"{what} {uri}: access denied ({type(exc).__name__}: {first[:200]}); "
            "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the "
            "node's role) and their permission on this bucket"
        )
    return f"{what} {uri}: {type(exc).__name__}: {first[:300]}"


# Storage libraries that raise their own exception types (not OSError) for a refused
# connection or a bad endpoint: botocore's EndpointConnectionError, aiohttp's errors.
_STORAGE_LIBRARIES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec")


def is_storage_library_error(exc: BaseException) -> bool:
    """Whether an exception comes from a storage client library (so it is about the store,
    not a bug of lpr-ray's): OSErrors and those libraries' own types."""
    return isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in _STORAGE_LIBRARIES
