"""How many recogniser actors, with how many threads and CPUs each: a pure function.

On a 2-core laptop the classic failure is actors holding every CPU so the read/decode
tasks never schedule and Ray hangs without a word; actors therefore reserve at most half
of the cluster's CPUs, fractionally if need be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lpr_ray.core.errors import LprRayError


@dataclass(frozen=True)
class ActorPlan:
    num_actors: int
    threads: int
    num_cpus: float
    num_gpus: float


def plan_actors(
    cluster_cpus: float,
    cluster_gpus: float,
    *,
    use_gpu: bool,
    num_actors: int | None = None,
    threads: int | None = None,
    num_cpus: float | None = None,
    max_node_cpus: float | None = None,
    fetch_cpus: float = 0.5,
    actors_per_gpu: int = 1,
) -> ActorPlan:
    """max_node_cpus: CPUs of the largest node. An actor must fit on one node: on a cluster
    of small nodes (say 3 x 1 CPU) an actor reserving 1.5 CPUs would never be scheduled.
    fetch_cpus: what one read/decode task reserves; a CPU plan always leaves room for one."""
    if cluster_cpus < 1:
        raise LprRayError(f"the Ray cluster has {cluster_cpus} CPUs; the job needs at least 1")
    if use_gpu:
        if cluster_gpus < 1 and num_actors is None:
            raise LprRayError(
                "a GPU backend was asked for but the Ray cluster declares no GPUs: on CPUs use "
                "--backend onnxruntime (the default), or submit the job to a cluster with GPU nodes"
            )
        if actors_per_gpu < 1:
            raise LprRayError(f"--actors-per-gpu must be >= 1, got {actors_per_gpu}")
        # Several actors per GPU, when asked: a fast GPU outruns one actor's CPU side (an H100
        # runs the small model at ~198,000 plates/s, one actor ~70,000; docs/RUNNING.md). Only
        # when asked: an autoscaler adds GPU nodes for actors that wait for a whole GPU. The
        # share is rounded down so that N of them always fit on one GPU.
        n = num_actors or max(1, int(cluster_gpus)) * actors_per_gpu
        share = math.floor(10_000 / actors_per_gpu) / 10_000
        # A GPU actor's CPU work is small (copies, decode of outputs).
        return ActorPlan(n, threads or 1, num_cpus if num_cpus is not None else 0.5, share)
    n = num_actors or max(1, int(cluster_cpus // 2))
    t = threads or max(1, int(cluster_cpus // n))
    reserve = num_cpus if num_cpus is not None else min(float(t), max(0.25, cluster_cpus / (2 * n)))
    if max_node_cpus and num_cpus is None:
        reserve = min(reserve, max(0.25, max_node_cpus / 2))
        t = threads or max(1, min(t, int(max_node_cpus)))
    needed = n * reserve + fetch_cpus
    if needed > cluster_cpus + 1e-9:
        # Ray would start the actors it can and wait for the others for ever, while no fetch
        # task can run to feed them: a silent hang.
        fits = max(0, math.floor((cluster_cpus - fetch_cpus) / reserve + 1e-9))
        raise LprRayError(
            f"{n} recogniser actors reserving {reserve:g} CPUs each, plus {fetch_cpus:g} for reading, need "
            f"{needed:g} CPUs, but the Ray cluster has {cluster_cpus:g}: use --num-actors {fits} or fewer "
            "(or leave it out to size the pool from the cluster)"
        )
    return ActorPlan(n, t, reserve, 0.0)
