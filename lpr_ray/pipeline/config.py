"""The resolved configuration of one recognition run, saved next to its output."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, OPENCV_PIXEL_LIMIT

# Letters, digits, '_' and '-': a run id names files and folders (data files, _ledger/,
# _runs/<run_id>/), so '/' or '..' would escape OUTPUT, and Ray's Parquet writer asserts
# that a file name's stem holds no '.'.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# The N-th rewrite of run X writes _ledger/X_rN.parquet: a run named X_rN would overwrite it.
REWRITE_NAME = re.compile(r".*_r\d+")


def check_run_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise LprRayError(
            f"--run-id {run_id!r} is not a valid run id: expected 1 to 100 letters, digits, '_' or "
            "'-', starting with a letter or digit (it names files and folders under OUTPUT)"
        )
    if REWRITE_NAME.fullmatch(run_id):
        raise LprRayError(
            f"--run-id {run_id!r} ends in _r<N>, the name the ledger gives a run's N-th rewrite: "
            "choose another run id (e.g. without the final _r)"
        )


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class RunConfig:
    input: str
    output: str
    model: str | None = None  # None: the shipped default
    characters: str | None = None
    backend: str = "auto"
    decode: str = "greedy"  # or "grammar": weigh US plate formats (lpr_ray.core.grammar)
    tta: str = "off"  # or "zoom3": read each crop in three views and vote (lpr_ray.core.tta)
    batch_size: int = 128
    num_actors: int | None = None  # None: sized from the cluster
    actors_per_gpu: int = 1  # GPU actors sharing one GPU (each reserves 1/N of it)
    threads_per_actor: int | None = None  # None: cluster CPUs / actors
    actor_num_cpus: float | None = None  # None: derived; fractional so reads can run beside
    # Objects per fetch + decode task, and rows per recogniser call: 1024 beat 256 in every
    # case measured (S3 or local, model or stand-in; BENCHMARKS.md "Pipeline"): fewer calls.
    fetch_batch_size: int = 1024
    fetch_threads: int = 16  # concurrent object reads inside one fetch task
    # Fractional so that fetch tasks never fuse into the recogniser actors (Ray fuses stages
    # with equal resources): decode then overlaps inference instead of alternating with it.
    fetch_num_cpus: float = 0.5
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    rows_per_file: int = 100_000  # at most, per file (~5-10 MB of Parquet)
    min_rows_per_file: int = 20_000  # Ray buffers this many rows per write task: no tiny files
    incremental: bool = False  # skip objects already in the committed ledger
    ledger: str | None = None  # where ledger files go (default: OUTPUT/_ledger)
    partition_pattern: str | None = None  # regex with named groups applied to object keys
    local_roots: tuple[str, ...] = ()  # local folders readable besides the input's own
    engine_cache: str | None = None  # shared TensorRT engine cache (URI)
    # Fetch batches that may fail on every try (their objects get batch_lost rows) before the
    # run fails instead; 0: the first lost batch fails the run.
    max_lost_batches: int = 10
    progress_s: float = 10.0  # log a progress line this often; 0: Ray Data's own output instead
    lock_timeout_s: float | None = None  # wait this long for another run on the cluster; None: for ever
    run_id: str = dataclasses.field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        from lpr_ray.core.reading import TTAS, check_decode_name

        check_decode_name(self.decode)
        if self.tta not in TTAS:
            raise LprRayError(f"unknown --tta {self.tta!r}; expected one of {', '.join(TTAS)}")
        if self.batch_size < 1:
            raise LprRayError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.num_actors is not None and self.num_actors < 1:
            raise LprRayError(f"--num-actors must be >= 1, got {self.num_actors}")
        if self.actors_per_gpu < 1:
            raise LprRayError(f"--actors-per-gpu must be >= 1, got {self.actors_per_gpu}")
        if self.threads_per_actor is not None and self.threads_per_actor < 1:
            raise LprRayError(
                f"--threads-per-actor must be >= 1 (or left out: CPUs / actors), got {self.threads_per_actor}"
            )
        if self.actor_num_cpus is not None and not self.actor_num_cpus > 0:
            raise LprRayError(f"actor_num_cpus must be > 0 (or None: derived), got {self.actor_num_cpus}")
        _check_backend(self.backend)
        check_run_id(self.run_id)
        if self.fetch_batch_size < 1 or self.fetch_threads < 1:
            raise LprRayError("fetch batch size and threads must be >= 1")
        if self.lock_timeout_s is not None and self.lock_timeout_s < 0:
            raise LprRayError(f"--lock-timeout must be >= 0 seconds, got {self.lock_timeout_s}")
        if not self.input:
            raise LprRayError("--input is required")
        if isinstance(self.local_roots, str) or not all(isinstance(r, str) and r for r in self.local_roots):
            raise LprRayError(f"--local-root: expected a list of folders, got {self.local_roots!r}")
        if not 1 <= self.max_pixels <= OPENCV_PIXEL_LIMIT:
            raise LprRayError(
                f"max_pixels must be between 1 and {OPENCV_PIXEL_LIMIT} (OpenCV's limit, from "
                f"OPENCV_IO_MAX_IMAGE_PIXELS in the workers' environment), got {self.max_pixels}")
        if not self.output:
            raise LprRayError("--output is required")
        if not isinstance(self.max_lost_batches, int) or self.max_lost_batches < 0:
            raise LprRayError(f"--max-lost-batches must be a whole number >= 0, got {self.max_lost_batches!r}")
        if not self.progress_s >= 0:
            raise LprRayError(f"--progress-every must be >= 0 seconds, got {self.progress_s}")
        if self.rows_per_file < 1:
            raise LprRayError(f"--rows-per-file must be >= 1, got {self.rows_per_file}")
        if not 1 <= self.min_rows_per_file <= self.rows_per_file:
            raise LprRayError(
                f"--min-rows-per-file ({self.min_rows_per_file}) must be between 1 and --rows-per-file "
                f"({self.rows_per_file}); lower --min-rows-per-file too (its default is 20000)"
            )
        from lpr_ray.pipeline.partition import PartitionSpec

        PartitionSpec(self.partition_pattern)  # validates the regex, with a message

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def _check_backend(name: str) -> None:
    """Before Ray starts: an unknown name would otherwise fail inside every recogniser actor."""
    from lpr_ray.backends.base import backend_names

    if name != "auto" and name not in backend_names():
        raise LprRayError(f"unknown --backend {name!r}; expected auto or one of {', '.join(backend_names())}")
