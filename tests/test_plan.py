import pytest

from lpr_ray.core.errors import LprRayError
from lpr_ray.pipeline.plan import plan_actors


def test_two_cores_leave_room_for_reads():
    p = plan_actors(2, 0, use_gpu=False)
    assert p.num_actors == 1 and p.threads == 2 and p.num_gpus == 0
    assert p.num_cpus <= 1  # the read/decode stage can always get a CPU


def test_cpu_actors_never_hold_every_cpu():
    for cpus in (1, 2, 3, 4, 16, 64):
        p = plan_actors(cpus, 0, use_gpu=False)
        assert p.num_actors * p.num_cpus <= cpus / 2 + 1e-9


def test_gpu_pool_follows_gpus():
    p = plan_actors(16, 4, use_gpu=True)
    assert (p.num_actors, p.num_gpus) == (4, 1.0)


@pytest.mark.parametrize("gpus, per_gpu, actors, share", [(1, 3, 3, 0.3333), (2, 2, 4, 0.5), (4, 1, 4, 1.0), (1, 7, 7, 0.1428)])
def test_actors_share_a_gpu_only_when_asked(gpus, per_gpu, actors, share):
    p = plan_actors(16, gpus, use_gpu=True, actors_per_gpu=per_gpu)
    assert (p.num_actors, p.num_gpus) == (actors, share)
    assert per_gpu * p.num_gpus <= 1.0  # N of them fit on one GPU, however Ray adds them up


def test_more_actors_than_gpus_wait_for_whole_gpus_by_default():
    # On an autoscaling cluster the waiting actors are what brings up more GPU nodes.
    assert plan_actors(16, 1, use_gpu=True, num_actors=4).num_gpus == 1.0


def test_gpu_backend_without_gpus_is_an_error():
    with pytest.raises(LprRayError, match="no GPUs"):
        plan_actors(8, 0, use_gpu=True)


def test_overrides_win():
    p = plan_actors(8, 0, use_gpu=False, num_actors=3, threads=1, num_cpus=0.5)
    assert (p.num_actors, p.threads, p.num_cpus) == (3, 1, 0.5)


def test_explicit_actors_that_leave_no_cpu_for_reads_are_refused():
    # 12 actors x 0.25 CPU on 2 CPUs: Ray would wait for ever for actors and fetch tasks.
    with pytest.raises(LprRayError, match=r"need 3.5 CPUs, but the Ray cluster has 2: use --num-actors 6 or fewer"):
        plan_actors(2, 0, use_gpu=False, num_actors=12, max_node_cpus=2)
    p = plan_actors(2, 0, use_gpu=False, num_actors=6, max_node_cpus=2)
    assert p.num_actors * p.num_cpus + 0.5 <= 2
    with pytest.raises(LprRayError, match="plus 1 for reading"):
        plan_actors(8, 0, use_gpu=False, num_actors=4, num_cpus=2.0, fetch_cpus=1.0)
