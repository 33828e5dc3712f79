"""The recognition job on Ray Data: the one function `lpr-ray run` and jobs/recognize.py call."""

from __future__ import annotations

import logging
import os
import time

from lpr_ray.errors import LprRayError, require
from lpr_ray.model import resolve_model
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.fetch import fetch_and_decode
from lpr_ray.pipeline.inputs import Inputs, resolve_inputs
from lpr_ray.pipeline.plan import ActorPlan, plan_actors
from lpr_ray.pipeline.recognizer import Recognizer
from lpr_ray.pipeline.summary import Summary, summarize
from lpr_ray.storage import arrow_filesystem, join

log = logging.getLogger(__name__)


def connect_ray():
    """RAY_ADDRESS when set (a cluster, or `ray job submit`), else a private local Ray.

    address="local" matters: a bare ray.init() would join any cluster another user
    started on this machine.
    """
    ray = require("ray", "pipeline")
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address)
        else:
            ray.init(address="local", include_dashboard=False)
    return ray


def _dataset(ray, inputs: Inputs, cfg: RunConfig):
    if inputs.kind == "manifest":
        fs, path = arrow_filesystem(inputs.uri)
        if inputs.manifest_format == "parquet":
            ds = ray.data.read_parquet(path, filesystem=fs)
        else:
            ds = ray.data.read_csv(path, filesystem=fs)
        # No label column when there are no labels: Ray turns all-null string columns into
        # NaN or "nan" on the way to numpy; fetch_and_decode treats a missing column as nulls.
        return ds.select_columns([c for c in ("uri", "label") if c in ds.columns()])
    table = inputs.table
    if table.column("label").null_count == table.num_rows:
        table = table.drop_columns(["label"])
    blocks = max(1, min(table.num_rows // cfg.fetch_batch_size + 1, 10_000))
    return ray.data.from_arrow(table, override_num_blocks=blocks)


def build_pipeline(ray, inputs: Inputs, cfg: RunConfig, plan: ActorPlan):
    ds = _dataset(ray, inputs, cfg)
    ds = ds.map_batches(
        fetch_and_decode,
        batch_size=cfg.fetch_batch_size,
        batch_format="numpy",
        fn_kwargs={
            "threads": cfg.fetch_threads,
            "max_pixels": cfg.max_pixels,
            "max_bytes": cfg.max_bytes,
        },
        num_cpus=1,
    )
    return ds.map_batches(
        Recognizer,
        fn_constructor_kwargs={
            "model": cfg.model,
            "characters": cfg.characters,
            "backend": cfg.backend,
            "run_id": cfg.run_id,
            "threads": plan.threads,
            "batch_size": cfg.batch_size,
            "engine_cache": cfg.engine_cache,
        },
        batch_size=cfg.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=plan.num_actors),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus,
    )


def _save_run_record(cfg: RunConfig, summary: Summary) -> None:
    fs, _ = arrow_filesystem(cfg.output)
    # "_" prefix: Parquet readers (pyarrow, DuckDB globs over *.parquet) skip it.
    record_dir = join(cfg.output, "_runs", cfg.run_id)
    for name, text in (("config.json", cfg.to_json()), ("summary.json", summary.to_json())):
        _, path = arrow_filesystem(join(record_dir, name))
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(path) as f:
            f.write(text.encode())


def run_job(cfg: RunConfig) -> Summary:
    spec = resolve_model(cfg.model, cfg.characters)  # fail fast on the driver
    inputs = resolve_inputs(cfg.input, spec.charset)
    ray = connect_ray()
    resources = ray.cluster_resources()
    # torch also runs on CPUs, so only TensorRT insists on GPUs; auto and torch take them
    # when the cluster has some.
    gpus = resources.get("GPU", 0)
    use_gpu = cfg.backend == "tensorrt" or (cfg.backend in ("auto", "torch") and gpus >= 1)
    plan = plan_actors(
        resources.get("CPU", 0),
        resources.get("GPU", 0),
        use_gpu=use_gpu,
        num_actors=cfg.num_actors,
        threads=cfg.threads_per_actor,
        num_cpus=cfg.actor_num_cpus,
    )
    log.info(
        "run %s: %s input %s (%s objects), model %s, %d actor(s) x %d thread(s)",
        cfg.run_id, inputs.kind, inputs.uri, inputs.count if inputs.count is not None else "?",
        spec.tag, plan.num_actors, plan.threads,
    )
    ds = build_pipeline(ray, inputs, cfg, plan)
    fs, out_path = arrow_filesystem(cfg.output)
    fs.create_dir(out_path, recursive=True)
    from ray.data.datasource import FilenameProvider

    start = time.perf_counter()
    ds.write_parquet(
        out_path,
        filesystem=fs,
        filename_provider=FilenameProvider(dataset_uuid=cfg.run_id, file_format="parquet"),
        max_rows_per_file=cfg.rows_per_file,
    )
    seconds = time.perf_counter() - start
    count = inputs.count
    if count is None:
        count = _dataset(ray, inputs, cfg).count()
    summary = summarize(cfg.output, cfg.run_id, inputs=count, seconds=seconds)
    _save_run_record(cfg, summary)
    if summary.rows != count:
        raise LprRayError(
            f"run {cfg.run_id} wrote {summary.rows} rows for {count} inputs: output is incomplete"
        )
    return summary
