"""Shared fixtures. Servers are real (SeaweedFS S3, Ray) and listen on 127.0.0.1 only.

- `s3`: a LocalS3 with the bucket `s3.bucket` ("lpr-test"); its AWS_* variables are set in
  os.environ for the session (and restored after), so in-process s3fs/boto3/pyarrow from_uri
  and Ray Data reads use it.
- `ray_cluster`: a 2-CPU LocalRayCluster whose head (hence every worker) has the S3 variables;
  this test process is connected to it (ray.init) for the session.
- `ray_cluster_with_dashboard`: the same with the dashboard, for the Jobs API (a separate
  cluster, started only by tests that ask for it).
- `model_dir`: a small real ONNX model of NVIDIA's US contract (random weights, seed 5), for the
  job's tests: what it reads does not matter, that every object gets its row does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import pytest

TEST_BUCKET = "lpr-test"


class _Environ:
    """Set environment variables, and put back exactly what was there before."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: Mapping[str, str], unset: tuple[str, ...] = ()) -> None:
        for key in [*values, *unset]:
            self._saved.setdefault(key, os.environ.get(key))
        for key in unset:
            os.environ.pop(key, None)
        os.environ.update(values)

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> Iterator:
    from lpr_ray.local.s3server import LocalS3

    environ = _Environ()
    with LocalS3(tmp_path_factory.mktemp("s3"), bucket=TEST_BUCKET) as server:
        # Unset what would override the env credentials or send clients elsewhere.
        environ.set(
            server.env(),
            unset=("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN"),
        )
        try:
            yield server
        finally:
            environ.restore()


def _cluster(s3, **kwargs):
    from ray_cluster import LocalRayCluster

    # Declared CPUs, not the machine's: Ray on 2 cores hangs when actors hold every CPU.
    return LocalRayCluster(num_cpus=2, env=s3.env(), **kwargs)


@pytest.fixture(scope="session")
def ray_cluster(s3) -> Iterator:
    environ = _Environ()
    with _cluster(s3) as cluster:
        environ.set(cluster.auth_env())
        cluster.connect()
        try:
            yield cluster
        finally:
            cluster.stop()  # ray.shutdown() first, then the processes
            environ.restore()


@pytest.fixture(scope="session")
def ray_cluster_with_dashboard(s3) -> Iterator:
    """A cluster with the dashboard and Jobs API; this process does not ray.init() to it."""
    with _cluster(s3, dashboard=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    from contract_models import write_contract_model

    from lpr_ray.core.charset import US

    d = tmp_path_factory.mktemp("model")
    write_contract_model(d, list(US.characters), seed=5)
    return d
