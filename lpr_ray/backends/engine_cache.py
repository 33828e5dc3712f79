"""The TensorRT engine cache: keyed by everything that makes an engine valid.

An engine only runs on the TensorRT version and GPU model it was built for, and embeds the
ONNX weights, the precision and the optimization profile: all of them are in `EngineKey`,
and a change to any one is a different file. Engines live in a local folder (per node) and,
optionally, in shared object storage (any fsspec URI: s3://bucket/engines) so a cluster
builds each engine once. A per-node file lock makes the actors of one node wait for a
single builder instead of each building the same engine on their own GPU.

Each engine `KEY.engine` has a `KEY.json` beside it with the key and the engine's SHA-256;
an entry whose metadata does not match (a torn upload, a hand-copied file) is a miss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.errors import LprRayError

log = logging.getLogger(__name__)

ENV_CACHE_DIR = "LPR_RAY_ENGINE_CACHE_DIR"  # local folder (default ~/.cache/lpr-ray/engines)
ENV_CACHE_URI = "LPR_RAY_ENGINE_CACHE"  # shared object-storage prefix, optional


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    trt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    min_batch: int
    opt_batch: int
    max_batch: int
    graph_revision: int  # trt_build.GRAPH_REVISION: the graph lpr-ray hands to TensorRT

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def stem(self) -> str:
        """File name without extension: readable prefix + digest of every field."""
        gpu = "".join(c if c.isalnum() else "-" for c in self.gpu_name).strip("-").lower()
        return f"{gpu}-sm{self.compute_capability.replace('.', '')}-trt{self.trt_version}-{self.precision}-{self.digest[:20]}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def default_cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lpr-ray" / "engines"


def _meta(key: EngineKey, data: bytes) -> bytes:
    meta = {"key": dataclasses.asdict(key), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()


def _valid(key: EngineKey, meta_bytes: bytes | None, data: bytes | None) -> bool:
    if meta_bytes is None or data is None:
        return False
    try:
        meta = json.loads(meta_bytes)
    except ValueError:
        return False
    return meta.get("key") == dataclasses.asdict(key) and meta.get("sha256") == hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        f.write(data)


class EngineCache:
    def __init__(self, local_dir: str | os.PathLike | None = None, remote: str | None = None):
        self.local_dir = Path(local_dir) if local_dir else default_cache_dir()
        self.remote = remote.rstrip("/") if remote else os.environ.get(ENV_CACHE_URI) or None

    def describe(self) -> str:
        return f"{self.local_dir}" + (f" + {self.remote}" if self.remote else "")

    # ---- local --------------------------------------------------------------------------
    def local_path(self, key: EngineKey) -> Path:
        return self.local_dir / f"{key.stem}.engine"

    def _read_local(self, key: EngineKey) -> bytes | None:
        path = self.local_path(key)
        try:
            data, meta = path.read_bytes(), path.with_suffix(".json").read_bytes()
        except FileNotFoundError:
            return None
        if not _valid(key, meta, data):
            log.warning("engine cache: %s does not match its metadata; ignoring it", path)
            return None
        return data

    def _write_local(self, key: EngineKey, data: bytes) -> None:
        path = self.local_path(key)
        _write_atomic(path, data)  # engine first: a reader needs the metadata to trust it
        _write_atomic(path.with_suffix(".json"), _meta(key, data))

    # ---- remote (fsspec) ----------------------------------------------------------------
    def _fs(self):
        from fsspec.core import url_to_fs

        return url_to_fs(self.remote)

    def _read_remote(self, key: EngineKey) -> bytes | None:
        if not self.remote:
            return None
        fs, root = self._fs()
        base = f"{root.rstrip('/')}/{key.stem}"
        try:
            meta = fs.cat_file(f"{base}.json")
            data = fs.cat_file(f"{base}.engine")
        except FileNotFoundError:
            return None
        if not _valid(key, meta, data):
            log.warning("engine cache: %s/%s.engine does not match its metadata; ignoring it", self.remote, key.stem)
            return None
        return data

    def _write_remote(self, key: EngineKey, data: bytes) -> None:
        if not self.remote:
            return
        fs, root = self._fs()
        base = f"{root.rstrip('/')}/{key.stem}"
        fs.makedirs(root, exist_ok=True)
        fs.pipe_file(f"{base}.engine", data)
        fs.pipe_file(f"{base}.json", _meta(key, data))

    # ---- public -------------------------------------------------------------------------
    def get(self, key: EngineKey) -> tuple[bytes, str] | None:
        """(engine, where it came from: "local" or the remote URI), or None."""
        data = self._read_local(key)
        if data is not None:
            return data, "local"
        data = self._read_remote(key)
        if data is not None and self.remote:
            self._write_local(key, data)
            return data, self.remote
        return None

    def put(self, key: EngineKey, data: bytes) -> None:
        self._write_local(key, data)
        self._write_remote(key, data)

    @contextlib.contextmanager
    def lock(self, key: EngineKey, timeout_s: float = 3600.0) -> Iterator[None]:
        """One holder per node and key (fcntl.flock on a file in the local cache folder)."""
        self.local_dir.mkdir(parents=True, exist_ok=True)
        path = self.local_dir / f"{key.stem}.lock"
        deadline = time.monotonic() + timeout_s
        with open(path, "a+b") as f:
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LprRayError(
                            f"waited {timeout_s:.0f}s for another process building {path.with_suffix('.engine')}"
                        ) from None
                    time.sleep(0.5)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def get_or_build(self, key: EngineKey, build: Callable[[], bytes]) -> tuple[bytes, str]:
        """The cached engine, or one built now by a single builder per node: (engine, source)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        with self.lock(key):
            hit = self.get(key)  # another actor of this node may have built it meanwhile
            if hit is not None:
                return hit
            start = time.perf_counter()
            data = build()
            log.info("built engine %s in %.0fs", key.stem, time.perf_counter() - start)
            self.put(key, data)
            return data, "built"
