"""The recognition job on Ray Data: the one function `lpr-ray run` and jobs/recognize.py call.

Every run writes its rows under OUTPUT/data/run_date=.../[partitions]/<run_id>_*.parquet,
checks them (one row per input), writes its ledger file, and only then makes them visible
with a commit record (docs/LAYOUT.md, lpr_ray/results/commit.py). A run killed at any point
before its commit record leaves only invisible files; a re-run processes those objects again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time
import warnings
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from pyarrow.fs import FileType

from lpr_ray.core.errors import LprRayError, first_line, require
from lpr_ray.core.model import ModelSpec, resolve_model
from lpr_ray.core.reading import reading_tag
from lpr_ray.core.storage import (
    arrow_filesystem,
    is_access_denied,
    is_local,
    is_storage_library_error,
    join,
    storage_error,
)
from lpr_ray.pipeline import lock as cluster_lock
from lpr_ray.pipeline.config import RunConfig
from lpr_ray.pipeline.console import drop_false_core_lines, quiet_ray_data
from lpr_ray.pipeline.fetch import RETRYABLE_STATUSES, fetch_and_decode
from lpr_ray.pipeline.inputs import Inputs, resolve_inputs
from lpr_ray.pipeline.lost import (
    BATCH_LOST,
    FETCH_TRIES,
    lost_rows,
    missing_inputs,
    write_lost_rows,
)
from lpr_ray.pipeline.partition import PartitionSpec
from lpr_ray.pipeline.plan import ActorPlan, plan_actors
from lpr_ray.pipeline.progress import ProgressCounter, report_progress
from lpr_ray.pipeline.recognizer import Recognizer
from lpr_ray.pipeline.rows import write_rows
from lpr_ray.pipeline.stages import stage_times
from lpr_ray.pipeline.summary import Summary, run_files, summarize
from lpr_ray.pipeline.written import check_complete, discard_run_files, release_run_id, space_hint
from lpr_ray.results.commit import Candidate, commit, create_exclusive
from lpr_ray.results.incremental import new_objects
from lpr_ray.results.ledger import (
    ABSENT,
    add_version,
    ledger_rows,
    stat_batch,
    write_ledger,
)
from lpr_ray.results.ledger_refs import committed_ledgers
from lpr_ray.results.table import DATA_DIR, commit_records, read_log

log = logging.getLogger(__name__)


def connect_ray():
    """RAY_ADDRESS when set (a cluster, or `ray job submit`), else a private local Ray.

    address="local" matters: a bare ray.init() would join any cluster another user
    started on this machine.
    """
    ray = require("ray", "pipeline")
    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS")
    if address:
        _check_reachable(address)
    try:
        if address:
            ray.init(address=address)
        else:
            # Ray turns token authentication on for a new local cluster and says so on every
            # run, with how to turn it off: a private Ray that lives and dies with this job
            # keeps it on, and the notice is noise (issue 22). Other warnings still show.
            logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(
                _drop_token_notice)
            ray.init(address="local", include_dashboard=False)
    except (ConnectionError, RuntimeError, TimeoutError, OSError) as exc:
        # A full or read-only disk under Ray's session folder, or a cluster that is down: one
        # line that says which, not Ray's traceback.
        first = first_line(exc)
        if address:
            raise _unreachable(address, first) from exc
        where = os.environ.get("RAY_TMPDIR") or "/tmp/ray"
        raise LprRayError(f"cannot start a local Ray ({type(exc).__name__}: {first}); Ray keeps its session "
                          f"under {where}: is that disk full or read-only? (RAY_TMPDIR moves it; RAY_ADDRESS "
                          "uses a running cluster instead)") from exc
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A TCP connect to RAY_ADDRESS's host:port first: Ray retries a cluster that is down for
    minutes (3.5 on this machine) before it gives up, which a scheduled run should not."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?\[?([\w.\-:]+?)\]?:(\d+)", address.strip())
    if m is None:  # "auto", "local" and the like: Ray resolves those itself
        return
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout_s).close()
    except OSError as exc:
        raise _unreachable(address, str(exc.strerror or exc)) from exc


def _unreachable(address: str, detail: str) -> LprRayError:
    return LprRayError(f"cannot reach the Ray cluster at RAY_ADDRESS={address} ({detail}); is it up, and is "
                       "the address right? Unset RAY_ADDRESS to start a private local Ray")


def _drop_token_notice(record: logging.LogRecord) -> bool:
    return "Token authentication is enabled for this Ray cluster" not in record.getMessage()


def _tag(spec: ModelSpec, cfg: RunConfig) -> str:
    """The rows' `model` and the ledger's key for this run (reading.reading_tag)."""
    return reading_tag(spec.tag, cfg.decode, cfg.tta, cfg.backend)


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: LPR_RAY_CRASH_AT=name kills this process here."""
    if os.environ.get("LPR_RAY_CRASH_AT") == name:
        log.warning("LPR_RAY_CRASH_AT=%s: killing the driver (SIGKILL)", name)
        os.kill(os.getpid(), signal.SIGKILL)


def _csv_options(fs, path: str) -> tuple[pacsv.ReadOptions, pacsv.ConvertOptions]:
    """Every column as text, under its header name stripped of spaces (`uri ,label` is
    accepted by the header check): a label "0123" or a key "0012" must not become a number."""
    with fs.open_input_stream(path, compression="detect") as f:
        names = [n.strip() for n in pacsv.open_csv(f).schema.names]
    return (pacsv.ReadOptions(column_names=names, skip_rows=1),
            pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))


def _manifest_dataset(ray, inputs: Inputs):
    fs, path = arrow_filesystem(inputs.uri)
    if inputs.manifest_format == "parquet":
        return ray.data.read_parquet(path, filesystem=fs)
    read_options, convert_options = _csv_options(fs, path)
    return ray.data.read_csv(path, filesystem=fs, read_options=read_options, convert_options=convert_options)


def _manifest_rows(ray, inputs: Inputs) -> int:
    """Rows of a manifest: from the Parquet footer (no Ray job), else counted by Ray."""
    if inputs.manifest_format == "parquet":
        import pyarrow.parquet as pq

        fs, path = arrow_filesystem(inputs.uri)
        with fs.open_input_file(path) as f:
            return pq.ParquetFile(f).metadata.num_rows
    return _manifest_dataset(ray, inputs).count()


# A manifest up to this size is read on the driver and handed to Ray Data as in-memory
# blocks: Ray Data's own reader (a listing task, footer-reading actors, a repartition) cost
# about 3 s per run before the first object was fetched (BENCHMARKS.md "Pipeline"), most of
# a small scheduled run. Larger manifests stream through Ray Data, so the driver never holds
# them. Parquet is judged by its rows, CSV by its bytes (compressed ones can grow ~10x).
DRIVER_MANIFEST_MAX_ROWS = 2_000_000
DRIVER_MANIFEST_MAX_BYTES = 64 << 20
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")


def _manifest_on_driver(inputs: Inputs) -> pa.Table | None:
    """uri (and label) of a small manifest, read here; None for a large one."""
    import pyarrow.parquet as pq

    fs, path = arrow_filesystem(inputs.uri)
    try:
        if inputs.manifest_format == "parquet":
            with fs.open_input_file(path) as f:
                pfile = pq.ParquetFile(f)
                if pfile.metadata.num_rows > DRIVER_MANIFEST_MAX_ROWS:
                    return None
                table = pfile.read(columns=[c for c in ("uri", "label") if c in pfile.schema_arrow.names])
        else:
            size = fs.get_file_info(path).size
            limit = DRIVER_MANIFEST_MAX_BYTES // (8 if path.lower().endswith(_COMPRESSED) else 1)
            if size is None or size > limit:
                return None
            read_options, convert_options = _csv_options(fs, path)
            with fs.open_input_stream(path, compression="detect") as f:
                table = pacsv.read_csv(f, read_options=read_options, convert_options=convert_options)
            table = table.select([c for c in ("uri", "label") if c in table.column_names])
        return table.cast(pa.schema([(c, pa.string()) for c in table.column_names]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise LprRayError(f"manifest {inputs.uri} cannot be read ({first_line(exc)}); expected a Parquet file or a UTF-8 "
                          "CSV with a header and a 'uri' column, the same number of fields on every row") from exc


def _dataset(ray, inputs: Inputs, cfg: RunConfig):
    if inputs.table is None:
        ds = _manifest_dataset(ray, inputs)
        # No label column when there are no labels: Ray turns all-null string columns into
        # NaN or "nan" on the way to numpy; fetch_and_decode treats a missing column as nulls.
        # columns() is None for a dataset without blocks (a header-only CSV is caught earlier).
        cols = ds.columns() or []
        ds = ds.select_columns([c for c in ("uri", "label") if c in cols])
        # A manifest file is one block per row group: split it so fetch tasks run in parallel.
        return ds.repartition(target_num_rows_per_block=cfg.fetch_batch_size)
    table = inputs.table.select([c for c in ("uri", "label") if c in inputs.table.column_names])
    if "label" in table.column_names and table.column("label").null_count == table.num_rows:
        table = table.drop_columns(["label"])
    from lpr_ray.pipeline.source import TableSource  # imports Ray Data

    # At most 10,000 blocks: the driver tracks each one.
    rows_per_block = max(cfg.fetch_batch_size, -(-table.num_rows // 10_000))
    return ray.data.read_datasource(TableSource(table, rows_per_block))


def _manifest_candidates(ray, inputs: Inputs, cfg: RunConfig) -> pa.Table:
    """uri, label and versions of a manifest's objects, on the driver (incremental runs).

    Version columns (etag, or size + mtime) are taken from the manifest when present;
    otherwise each object is HEAD'ed by Ray tasks, in parallel, before the anti-join.
    """
    ds = _manifest_dataset(ray, inputs)
    cols = ds.columns() or []
    ds = ds.select_columns([c for c in ("uri", "label", "etag", "size", "mtime") if c in cols])
    if "etag" not in cols and not {"size", "mtime"} <= set(cols):
        ds = ds.map_batches(
            stat_batch, batch_format="pyarrow", batch_size=1000,
            fn_kwargs={"threads": cfg.fetch_threads}, num_cpus=0.5,
        )
        table = pa.concat_tables(ray.get(ds.to_arrow_refs()), promote_options="permissive")
    else:
        table = add_version(pa.concat_tables(ray.get(ds.to_arrow_refs()), promote_options="permissive"))
    if "label" not in table.column_names:
        table = table.append_column("label", pa.nulls(table.num_rows, pa.string()))
    return table.cast(table.schema.set(table.schema.get_field_index("uri"), pa.field("uri", pa.string())))


def _unique_uris(table: pa.Table) -> pa.Table:
    """First row of each uri: an object is processed (and committed) once per run."""
    idx = pa.table({"uri": table.column("uri"), "_i": pa.array(range(table.num_rows), pa.int64())})
    first = idx.group_by("uri", use_threads=False).aggregate([("_i", "min")]).column("_i_min")
    # The first rows' numbers, sorted: input order. (Taking sort_indices(first) took positions
    # in the group list instead of row numbers, and dropped an object.)
    return table.take(first.sort())


def build_pipeline(ray, inputs: Inputs, cfg: RunConfig, plan: ActorPlan, run_date: str | None = None,
                   progress=None):
    ds = _dataset(ray, inputs, cfg)
    with warnings.catch_warnings():
        # Ray 2.60 deprecates ray_remote_args (gone in 2.64) but has no named parameter for
        # max_retries yet: revisit when upgrading.
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        ds = ds.map_batches(
            fetch_and_decode,
            batch_size=cfg.fetch_batch_size,
            batch_format="numpy",
            fn_kwargs={
                "threads": cfg.fetch_threads,
                "max_pixels": cfg.max_pixels,
                "max_bytes": cfg.max_bytes,
                "local_roots": inputs.local_roots + tuple(os.path.realpath(r) for r in cfg.local_roots),
            },
            num_cpus=cfg.fetch_num_cpus,
            # Ray Data's default is to retry for ever: one object that kills its worker (memory)
            # would stop the run. A batch still failing after these tries is lost (pipeline/lost.py).
            max_retries=FETCH_TRIES - 1,
        )
    return ds.map_batches(
        Recognizer,
        fn_constructor_kwargs={
            "model": cfg.model,
            "characters": cfg.characters,
            "backend": cfg.backend,
            "decode": cfg.decode,
            "tta": cfg.tta,
            "run_id": cfg.run_id,
            "threads": plan.threads,
            "batch_size": cfg.batch_size,
            "engine_cache": cfg.engine_cache,
            "partition_pattern": cfg.partition_pattern,
            "run_date": run_date,
            "progress": progress,
        },
        batch_size=cfg.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=plan.num_actors),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus,
    )


def _save_json(cfg: RunConfig, name: str, text: str) -> None:
    # "_" prefix: readers (lpr_ray.results.table, Parquet globs) never take it for data.
    fs, path = arrow_filesystem(join(cfg.output, "_runs", cfg.run_id, name))
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:  # one PUT on S3: whole or absent
        f.write(text.encode())


def _rel(output: str, paths: list[str]) -> list[str]:
    _, base = arrow_filesystem(output)
    base = base.rstrip("/") + "/"
    return [p[len(base):] for p in paths]


def _ledger_ref(cfg: RunConfig, ledger_dir: str, name: str) -> str:
    """How a record names its ledger file: relative to OUTPUT when it lives there."""
    uri = join(ledger_dir, f"{name}.parquet")
    prefix = join(cfg.output, "")
    return uri[len(prefix):] if uri.startswith(prefix) else uri


def _without_retryable(pending: pa.Table, files: list[str], output: str) -> pa.Table:
    """`pending` less the objects whose row is a failed read (not_found, access_denied,
    read_error): they stay out of the ledger, so the next incremental run reads them again.
    A not_found object stat'ed as absent (version "absent") stays in: it is read again once
    it exists, when its version changes. Decode failures stay in too: the same bytes fail the
    same way."""
    if not files or pending.num_rows == 0:
        return pending
    fs, _ = arrow_filesystem(output)
    failed = pads.dataset(files, filesystem=fs, format="parquet").to_table(
        columns=["uri", "status"], filter=pc.field("status").isin(list(RETRYABLE_STATUSES))
    )
    if failed.num_rows == 0:
        return pending
    absent = failed.filter(pc.field("status") == "not_found").column("uri").combine_chunks()
    retry = pc.is_in(pending.column("uri"), value_set=failed.column("uri").combine_chunks())
    keep_absent = pc.and_(
        pc.is_in(pending.column("uri"), value_set=absent),
        pc.equal(pc.fill_null(pending.column("version"), ""), ABSENT),
    )
    return pending.filter(pc.or_(pc.invert(retry), keep_absent))


def _process(ray, inputs: Inputs, cfg: RunConfig, plan: ActorPlan, part: PartitionSpec, run_date: str) -> dict:
    """Read, recognise and write the inputs' rows as the run's (uncommitted) data files.
    Returns where the time went, per stage (pipeline/stages.py)."""
    from ray.data.datasource import FilenameProvider

    counter = ray.remote(num_cpus=0)(ProgressCounter).remote() if cfg.progress_s else None
    if counter is not None:
        quiet_ray_data()
    # A dataset keeps the context it was made with: set before building it.
    context = ray.data.DataContext.get_current()
    saved = context.max_errored_blocks, context.enable_progress_bars
    context.max_errored_blocks = cfg.max_lost_batches
    if counter is not None:  # our one line replaces Ray Data's blocks
        context.enable_progress_bars = False
    try:
        ds = build_pipeline(ray, inputs, cfg, plan, run_date, progress=counter)
    finally:
        context.max_errored_blocks, context.enable_progress_bars = saved
    fs, out_path = arrow_filesystem(cfg.output)
    data_path = f"{out_path.rstrip('/')}/{DATA_DIR}"
    fs.create_dir(data_path, recursive=True)
    shown = (report_progress(ray, counter, cfg.run_id, inputs.count, cfg.progress_s) if counter is not None
             else contextlib.nullcontext())
    # The bar (on a terminal) is chosen before fd 2 becomes the filtering pipe.
    with shown, drop_false_core_lines(), warnings.catch_warnings():
        # min_rows_per_file with partition_cols works in Ray 2.60 (deprecated after 2027-02):
        # it is what keeps files large when partitions are many.
        warnings.simplefilter("ignore", DeprecationWarning)
        ds.write_parquet(
            data_path,
            filesystem=fs,
            partition_cols=part.columns,
            filename_provider=FilenameProvider(dataset_uuid=cfg.run_id, file_format="parquet"),
            min_rows_per_file=min(cfg.min_rows_per_file, max(1, inputs.count or cfg.min_rows_per_file)),
            max_rows_per_file=cfg.rows_per_file,
        )
    return stage_times(ds)


# Objects of lost batches read again one per task, to isolate the one that kills its worker,
# when they are at most this many (each try of a task costs a worker start, about a second).
RETRY_ONE_BY_ONE_MAX = 2_000


def _rows_for_lost_batches(ray, inputs: Inputs, cfg: RunConfig, spec: ModelSpec, plan: ActorPlan,
                           part: PartitionSpec, run_date: str, files: list[str]) -> list[str]:
    """The inputs without a row because Ray Data dropped their batch: read again one object
    per task (only the culprits are lost then), and error rows for what is still lost.
    Returns the run's files afterwards."""
    fs, out_path = arrow_filesystem(cfg.output)
    prefix = f"{DATA_DIR}/run_date={run_date}"

    def missing_now(files: list[str]) -> pa.Table:
        written = (pads.dataset(files, filesystem=fs, format="parquet").to_table(columns=["uri"]) if files
                   else pa.table({"uri": pa.array([], pa.string())}))
        return missing_inputs(expected, written)

    if inputs.table is not None:
        expected = inputs.table.select([c for c in ("uri", "label") if c in inputs.table.column_names])
    else:
        ds = _manifest_dataset(ray, inputs)
        ds = ds.select_columns([c for c in ("uri", "label") if c in (ds.columns() or [])])
        expected = pa.concat_tables(ray.get(ds.to_arrow_refs()), promote_options="permissive")
        expected = expected.set_column(0, "uri", pc.cast(expected.column("uri"), pa.string()))
    missing = missing_now(files)
    # Two lost batches are still isolated one object per task whatever --fetch-batch-size is.
    if 0 < missing.num_rows <= max(RETRY_ONE_BY_ONE_MAX, 2 * cfg.fetch_batch_size):
        log.warning("run %s: %d objects of lost batches are read again, one per task", cfg.run_id, missing.num_rows)
        one_by_one = dataclasses.replace(inputs, table=missing, manifest_format=None)
        _process(ray, one_by_one, dataclasses.replace(cfg, fetch_batch_size=1), plan, part, run_date)
        files = run_files(cfg.output, cfg.run_id, prefix=prefix, rewrite=0)
        missing = missing_now(files)
    if missing.num_rows == 0:
        return files
    log.warning("run %s: %d objects get %s rows (their fetch task failed %d times)",
                cfg.run_id, missing.num_rows, BATCH_LOST, FETCH_TRIES)
    write_lost_rows(lost_rows(missing, model=_tag(spec, cfg), run_id=cfg.run_id), fs,
                    f"{out_path.rstrip('/')}/{DATA_DIR}", part, run_date, cfg.run_id, cfg.rows_per_file)
    return run_files(cfg.output, cfg.run_id, prefix=prefix, rewrite=0)


class _Run:
    """State of one run between processing and its commit (the drop/rewrite step needs it)."""

    def __init__(
        self, cfg: RunConfig, part: PartitionSpec, model: str, pending: pa.Table | None, run_date: str
    ) -> None:
        self.cfg, self.part, self.model, self.pending = cfg, part, model, pending
        self.prefix = f"{DATA_DIR}/run_date={run_date}"  # every file of the run is under it
        self.ledger_dir = cfg.ledger or join(cfg.output, "_ledger")
        self.attempt = 0

    def candidate(self, files: list[str], summary: Summary) -> Candidate:
        has_versions = self.pending is not None and "version" in self.pending.column_names
        ledger = None
        keys = pa.table({"uri": pa.array([], pa.string()), "version": pa.array([], pa.string())})
        if has_versions:
            name = self.cfg.run_id if self.attempt == 0 else f"{self.cfg.run_id}_r{self.attempt}"
            done = _without_retryable(self.pending, files, self.cfg.output)
            write_ledger(self.ledger_dir, name, ledger_rows(done, self.model, self.cfg.run_id))
            ledger = _ledger_ref(self.cfg, self.ledger_dir, name)
            keys = self.pending.select(["uri", "version"])
        fields = {
            "run_id": self.cfg.run_id,
            "model": self.model,
            "backend": summary.backend,
            "incremental": self.cfg.incremental,
            "ledger": ledger,
            "rows": summary.rows,
            "by_status": summary.by_status,
            "partition_columns": self.part.columns,
        }
        return Candidate(files=_rel(self.cfg.output, files), keys=keys, fields=fields, drop=self.drop)

    def drop(self, covered: pa.Table) -> Candidate:
        """Rewrite this run's files without objects another run committed first."""
        cfg = self.cfg
        fs, base = arrow_filesystem(cfg.output)
        data = f"{base.rstrip('/')}/{DATA_DIR}"
        old = run_files(cfg.output, cfg.run_id, prefix=self.prefix, rewrite=self.attempt)
        self.attempt += 1
        schema = pa.schema([(c, pa.string()) for c in self.part.columns])
        table = pads.dataset(old, filesystem=fs, format="parquet",
                             partitioning=pads.partitioning(schema, flavor="hive"),
                             partition_base_dir=data).to_table()
        gone = pc.is_in(table.column("uri"), value_set=covered.column("uri"))
        table = table.filter(pc.invert(gone))
        self.pending = self.pending.filter(pc.invert(pc.is_in(self.pending.column("uri"), value_set=covered.column("uri"))))
        files: list[str] = []
        if table.num_rows:
            write_rows(table, fs, data, self.part.columns, f"{cfg.run_id}_r{self.attempt}-{{i}}.parquet",
                       cfg.rows_per_file)
            files = run_files(cfg.output, cfg.run_id, prefix=self.prefix, rewrite=self.attempt)
        for path in old:  # garbage now: invisible anyway, removed to save space
            try:
                fs.delete_file(path)
            except OSError:
                pass
        summary = summarize(cfg.output, cfg.run_id, inputs=table.num_rows, seconds=0, files=files)
        return self.candidate(files, summary)


def _cluster(ray, plan: ActorPlan) -> dict:
    res = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {"nodes": len(nodes), "cpus": res.get("CPU", 0), "gpus": res.get("GPU", 0),
            "actors": plan.num_actors, "threads_per_actor": plan.threads}


def _plan(ray, cfg: RunConfig):
    resources = ray.cluster_resources()
    # torch also runs on CPUs, so only TensorRT insists on GPUs; auto and torch take them
    # when the cluster has some.
    gpus = resources.get("GPU", 0)
    use_gpu = cfg.backend == "tensorrt" or (cfg.backend in ("auto", "torch") and gpus >= 1)
    return plan_actors(
        resources.get("CPU", 0),
        gpus,
        use_gpu=use_gpu,
        num_actors=cfg.num_actors,
        actors_per_gpu=cfg.actors_per_gpu,
        threads=cfg.threads_per_actor,
        num_cpus=cfg.actor_num_cpus,
        fetch_cpus=cfg.fetch_num_cpus,
        max_node_cpus=max((n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=None),
    )


def _check_writable(uri: str, flag: str) -> None:
    """Refuse an OUTPUT or --ledger that cannot be written, before Ray starts (cheap checks:
    the bucket exists, the path is not a file); otherwise the run would fail after it."""
    if not is_local(uri) and "//" in uri.split("://", 1)[1].rstrip("/"):
        raise LprRayError(f"{flag} {uri} has an empty path component ('//'); expected e.g. s3://bucket/results")
    try:
        fs, path = arrow_filesystem(uri)
        info = fs.get_file_info(path)
        if info.is_file:
            raise LprRayError(f"{flag} {uri} is a file; expected a folder or prefix (existing or not)")
        if uri.startswith("s3://"):
            bucket = path.split("/", 1)[0]
            if fs.get_file_info(bucket).type == FileType.NotFound:
                raise LprRayError(f"{flag} {uri}: the bucket {bucket!r} does not exist (or these credentials cannot see it)")
        elif is_local(uri):
            parent = path
            while not os.path.exists(parent):
                parent = os.path.dirname(parent)
            if not os.path.isdir(parent):
                raise LprRayError(f"{flag} {uri}: {parent} is a file; expected a folder or prefix")
            if not os.access(parent, os.W_OK):
                raise LprRayError(f"{flag} {uri}: {parent} is not writable by this user")
    except (OSError, ValueError) as exc:  # ValueError: pyarrow's ArrowInvalid for a bad path
        if is_access_denied(exc):
            raise LprRayError(storage_error(f"cannot use {flag}", uri, exc)) from exc
        raise LprRayError(f"{flag} {uri} cannot be used ({exc}); expected a writable folder or prefix") from exc


def _check_partitioning(cfg: RunConfig, part: PartitionSpec) -> None:
    """One results root, one partitioning: rows under site=/camera=/ folders beside rows
    without them make a plain Hive read of the root fail ("Hive partition mismatch")."""
    for record in reversed(commit_records(cfg.output)):
        columns = record.get("partition_columns")
        if columns is None:  # written before records carried it
            continue
        if list(columns) != part.columns:
            raise LprRayError(
                f"--output {cfg.output} holds runs partitioned by {columns}; this run's "
                f"--partition-pattern gives {part.columns}: use the same pattern (see "
                f"{cfg.output}/_runs/{record['run_id']}/config.json) or another --output"
            )
        return


def _check_model(spec: ModelSpec, decode: str) -> None:
    """Load the model once on the driver (ONNX Runtime, CPU, a fraction of a second for these
    models): a corrupt file, a broken contract, a characters list of the wrong length or a
    model without the softmax output that --decode grammar needs is then one error line,
    not a failure inside every recogniser actor after Ray has started."""
    from lpr_ray.backends import BackendOptions, load_backend
    from lpr_ray.core.reading import check_decode

    check_decode(load_backend("onnxruntime", spec, BackendOptions(threads=1)), spec.charset.characters, decode)


def run_job(cfg: RunConfig) -> Summary:
    t0 = time.perf_counter()
    spec = resolve_model(cfg.model, cfg.characters)  # fail fast on the driver
    _check_model(spec, cfg.decode)
    part = PartitionSpec(cfg.partition_pattern)
    _check_writable(cfg.output, "--output")
    if cfg.ledger:
        _check_writable(cfg.ledger, "--ledger")
    _check_partitioning(cfg, part)
    # OUTPUT and the ledger may lie inside the input prefix: their files are not inputs.
    inputs = resolve_inputs(cfg.input, spec.charset, exclude=(cfg.output, cfg.ledger or ""))
    try:
        # A create-only write claims the run id: two runs given one --run-id cannot both go on
        # (the second's files would be taken for the first's, and removed with them). It is also
        # the first write under OUTPUT: read-only credentials or a full disk fail here, in one
        # line, before Ray starts.
        claimed = create_exclusive(join(cfg.output, "_runs", cfg.run_id, "config.json"), cfg.to_json().encode())
    except LprRayError:
        raise
    except Exception as exc:  # OSError, botocore's ClientError: the store's own types
        if not is_storage_library_error(exc):
            raise
        raise LprRayError(storage_error("cannot write to --output", cfg.output, exc)
                          + "; expected a folder or prefix these credentials may write") from exc
    if not claimed:
        raise LprRayError(f"run id {cfg.run_id!r} was already used under {cfg.output}: choose another --run-id")
    with _unclaim_on_failure(cfg):
        if cfg.incremental and inputs.table is not None:
            nothing = _nothing_new(cfg, spec, inputs.table, t0)
            if nothing is not None:
                return nothing
        ray = connect_ray()
        # Before reading the ledger: a run that waited then sees what the other one committed.
        held = cluster_lock.acquire(ray, cfg.run_id, cfg.output, timeout_s=cfg.lock_timeout_s)
    waited = held.waited_s
    try:
        # Times and plates/s are the run's own: the wait is reported apart, as lock_wait.
        return _run_locked(ray, cfg, spec, part, inputs, t0 + waited, waited)
    finally:
        held.release()


def _nothing_new(cfg: RunConfig, spec: ModelSpec, listed: pa.Table, t0: float) -> Summary | None:
    """The summary of an incremental run whose listed objects are all in the ledger, answered
    without starting Ray (a scheduled run over an archive with nothing new takes seconds);
    None when there is work. Safe without the cluster lock: other runs only add to the ledger."""
    tag = _tag(spec, cfg)
    cands = _unique_uris(listed)
    if cands.num_rows == 0 or new_objects(cfg.output, committed_ledgers(cfg.output), tag, cands).num_rows:
        return None  # nothing listed at all goes the usual way (its summary says so)
    summary = Summary(cfg.run_id, cfg.output, 0, 0, {}, 0, 0, time.perf_counter() - t0, model=tag,
                      skipped=cands.num_rows)
    summary.timings = {"lock_wait": 0.0, "plan": summary.seconds, "total": summary.seconds}
    _save_json(cfg, "summary.json", summary.to_json())
    log.info("run %s: all %d listed objects are in the ledger for %s: nothing to do", cfg.run_id,
             cands.num_rows, tag)
    return summary


@contextlib.contextmanager
def _unclaim_on_failure(cfg: RunConfig):
    """Before the run writes a data file: a failure (no cluster, the lock's timeout, a bad
    listing, no GPU) removes its claim, so a scheduled job that reuses its --run-id can run."""
    try:
        yield
    except LprRayError:
        release_run_id(cfg.output, cfg.run_id)
        raise


@contextlib.contextmanager
def _discard_on_failure(cfg: RunConfig):
    """Remove the run's uncommitted data files when the body fails; a storage error (a full
    disk, a refused write) becomes one line."""
    try:
        yield
    except LprRayError:
        discard_run_files(cfg.output, cfg.run_id)
        raise
    except (OSError, pa.ArrowException) as exc:
        discard_run_files(cfg.output, cfg.run_id)
        raise LprRayError(
            f"run {cfg.run_id} could not write or read back its results under {cfg.output} "
            f"({first_line(exc)}){space_hint(cfg.output)}: it was NOT committed and its files were removed"
        ) from exc


def _run_locked(
    ray, cfg: RunConfig, spec: ModelSpec, part: PartitionSpec, inputs: Inputs, t0: float, waited: float
) -> Summary:
    run_date = datetime.now(UTC).strftime("%Y-%m-%d")
    tag = _tag(spec, cfg)  # the rows' model and the ledger's key
    # Until the first data file, a failure leaves no trace of the run (its id is free again).
    with _unclaim_on_failure(cfg):
        # The ledger as of the last record seen now; records after it are checked at commit.
        entries = read_log(cfg.output)
        records = commit_records(cfg.output, log=entries)
        planned_seq = records[-1]["seq"] if records else 0
        skipped = 0
        pending = inputs.table
        if cfg.incremental:
            cands = inputs.table if inputs.table is not None else _manifest_candidates(ray, inputs, cfg)
            cands = _unique_uris(cands)
            pending = new_objects(cfg.output, committed_ledgers(cfg.output, entries), tag, cands)
            skipped = cands.num_rows - pending.num_rows
            inputs = dataclasses.replace(inputs, table=pending, manifest_format=None)
        if inputs.table is None:
            small = _manifest_on_driver(inputs)
            if small is not None:
                inputs = dataclasses.replace(inputs, table=small, manifest_format=None)
        run = _Run(cfg, part, tag, pending, run_date)
        t_plan = time.perf_counter() - t0
        log.info(
            "run %s: %s input %s (%s objects to process, %d already in the ledger), model %s",
            cfg.run_id, inputs.kind, inputs.uri, inputs.count if inputs.count is not None else "?",
            skipped, tag,
        )
        if inputs.count == 0:
            summary = Summary(cfg.run_id, cfg.output, 0, 0, {}, 0, 0, time.perf_counter() - t0,
                              model=tag, skipped=skipped)
            summary.timings = {"lock_wait": waited, "plan": t_plan, "total": summary.seconds}
            _save_json(cfg, "summary.json", summary.to_json())
            return summary
        plan = _plan(ray, cfg)
    # Until the commit the run's files are its own: a failure removes them (pipeline/written.py).
    with _discard_on_failure(cfg):
        t1 = time.perf_counter()
        try:
            stages = _process(ray, inputs, cfg, plan, part, run_date)
        except ray.exceptions.RayError as exc:
            raise LprRayError(
                f"run {cfg.run_id} failed in Ray and was NOT committed ({type(exc).__name__}: {first_line(exc)}); "
                f"a batch whose task fails {FETCH_TRIES} times (a worker killed for memory) stops the run "
                f"after --max-lost-batches ({cfg.max_lost_batches}) such batches"
            ) from exc
        t_process = time.perf_counter() - t1
        _crash_point("after_write")
        count = inputs.count
        if count is None:
            count = _manifest_rows(ray, inputs)
        files = run_files(cfg.output, cfg.run_id, prefix=f"{DATA_DIR}/run_date={run_date}", rewrite=0)
        check_complete(cfg.output, cfg.run_id, files)
        summary = summarize(cfg.output, cfg.run_id, inputs=count, seconds=time.perf_counter() - t0, files=files)
        if summary.rows < count and cfg.max_lost_batches:
            files = _rows_for_lost_batches(ray, inputs, cfg, spec, plan, part, run_date, files)
            check_complete(cfg.output, cfg.run_id, files)
            summary = summarize(cfg.output, cfg.run_id, inputs=count, seconds=time.perf_counter() - t0, files=files)
        if summary.rows != count or (cfg.incremental and summary.distinct_uris != count):
            _save_json(cfg, "summary.json", summary.to_json())
            raise LprRayError(
                f"run {cfg.run_id} wrote {summary.rows} rows ({summary.distinct_uris} distinct URIs) for "
                f"{count} inputs: output is incomplete or duplicated, and was NOT committed"
            )
        t2 = time.perf_counter()
        cand = run.candidate(files, summary)
    _crash_point("before_commit")
    try:
        record = commit(cfg.output, cand, planned_seq=planned_seq, check=cfg.incremental, model=tag)
    except OSError as exc:  # the entry is written whole or not at all (commit.create_exclusive)
        raise LprRayError(
            f"run {cfg.run_id} could not commit under {cfg.output} ({first_line(exc)}){space_hint(cfg.output)}: "
            "it was NOT committed; `lpr-ray vacuum` removes its files"
        ) from exc
    _crash_point("after_commit")
    t_commit = time.perf_counter() - t2
    if record is None:
        summary.dropped, summary.rows, summary.by_status = summary.rows, 0, {}
    else:
        summary.dropped = summary.rows - record["rows"]
        summary.rows, summary.by_status, summary.commit_seq = record["rows"], record["by_status"], record["seq"]
        summary.files = [join(cfg.output, f) for f in record["files"]]
    summary.skipped = skipped
    summary.seconds = time.perf_counter() - t0
    summary.timings = {"lock_wait": waited, "plan": t_plan, "process": t_process, "commit": t_commit,
                       "total": summary.seconds}
    summary.cluster = _cluster(ray, plan)
    summary.stages = stages
    _save_json(cfg, "summary.json", summary.to_json())
    return summary
