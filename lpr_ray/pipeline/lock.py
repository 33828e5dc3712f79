"""One lpr-ray run at a time per Ray cluster.

Two Ray Data jobs on one cluster each size their actor pool as if the cluster were theirs
(half its CPUs by default). Started together, their actors can take every CPU, and then
neither job's read and decode tasks can be scheduled: both hang, with no error. That is what
overlapping scheduled runs would do. So a run holds a cluster-wide lock while it plans,
processes and commits, and a second run waits for it (and then skips what the first committed).

The lock is a named actor in a fixed namespace, owned by the driver that created it: Ray
destroys it when that driver exits or is killed (SIGKILL included), so a crashed run never
leaves the cluster locked. It reserves no CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from lpr_ray.core.errors import LprRayError

log = logging.getLogger(__name__)

NAME = "lpr-ray-run-lock"
NAMESPACE = "lpr_ray"


class _Holder:
    def __init__(self, info: dict) -> None:
        self.info = info

    def holder(self) -> dict:
        return self.info


@dataclass
class ClusterLock:
    # Keep this object until release(): Ray destroys a non-detached actor, named or not,
    # once its last handle is gone, and that would free the lock early.
    handle: object
    ray: object
    waited_s: float = 0.0  # time spent waiting for another run to let go (not starting the lock)

    def release(self) -> None:
        self.ray.kill(self.handle, no_restart=True)


def _holder_info(ray) -> dict | None:
    try:
        return ray.get(ray.get_actor(NAME, namespace=NAMESPACE).holder.remote(), timeout=30)
    except (ValueError, ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
        return None  # released (or dying) between our try and this look


def acquire(ray, run_id: str, output: str, *, timeout_s: float | None = None, poll_s: float = 1.0) -> ClusterLock:
    """Wait until no other lpr-ray run holds the cluster, then hold it.

    timeout_s None waits for ever; otherwise LprRayError after timeout_s, naming the holder.
    """
    actor = ray.remote(num_cpus=0, max_restarts=0)(_Holder)
    t0 = time.monotonic()
    last_log = -1e9
    waited = 0.0
    while True:
        since = datetime.now(UTC).isoformat(timespec="seconds")  # when it holds, not when it began to wait
        attempt = time.monotonic()
        try:
            handle = actor.options(name=NAME, namespace=NAMESPACE).remote(
                {"run_id": run_id, "output": output, "since": since}
            )
        except ValueError:  # the name is taken: another run holds the cluster
            holder = _holder_info(ray)
            waited = time.monotonic() - t0
            if timeout_s is not None and waited >= timeout_s:
                raise LprRayError(
                    f"another lpr-ray run holds this Ray cluster ({_describe(holder)}); waited "
                    f"{waited:.0f} s (--lock-timeout {timeout_s:g}). Runs on one cluster go one at a time: "
                    "two at once can starve each other of CPUs and hang."
                ) from None
            if time.monotonic() - last_log >= 60:
                log.warning("waiting for another lpr-ray run on this cluster to finish: %s", _describe(holder))
                last_log = time.monotonic()
            time.sleep(poll_s)
            continue
        ray.get(handle.holder.remote())  # created and alive: the lock is ours
        # Starting the lock actor takes a second or two on a quiet cluster: that is not a wait.
        return ClusterLock(handle, ray, waited_s=(attempt - t0) if waited else 0.0)


def _describe(holder: dict | None) -> str:
    if not holder:
        return "run unknown, releasing"
    return f"run {holder['run_id']} writing {holder['output']}, since {holder['since']}"
