"""`lpr-ray run`: recognise every plate crop under an input URI and write Parquet rows."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from lpr_ray.cli.args import configure_logging, non_negative_float, non_negative_int, positive_int
from lpr_ray.core.reading import DECODES, TTA_HELP, TTAS

EPILOG = r"""INPUT can be a local folder, an object-storage prefix (s3://bucket/prefix, any fsspec URL),
a glob (s3://bucket/2026/*/*.jpg), a TAO dataset (images/ + labels/: rows then carry label
and correct), or a manifest file (.parquet or .csv with a 'uri' column, optional 'label')
so that millions of keys need no listing on the driver.

Object storage is configured the standard way: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL for S3-compatible servers.
Ray: uses RAY_ADDRESS when set, else starts a private local Ray.

Output (docs/LAYOUT.md): OUTPUT/data/run_date=.../[site=.../camera=.../date=.../]*.parquet,
a Delta Lake table: visible only through its log OUTPUT/_delta_log/ (any Delta reader, or lpr_ray.results.table).
--incremental skips objects whose (uri, etag or size+mtime, model weights) is in the committed ledger;
a run killed at any point can simply be run again. Runs on one Ray cluster go one at a time:
a second waits for the first (--lock-timeout to give up), then skips what it committed.

"""
RUN_EXAMPLES = r"""
examples:
  lpr-ray run --input s3://lot-archive/2026/ --output s3://lot-results/plates/
  lpr-ray run --incremental --input s3://lot-archive/ --output s3://lot-results/plates/ \
      --partition-pattern '(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/'
"""


def add_run_arguments(p: argparse.ArgumentParser, *, always_incremental: bool = False) -> None:
    """The options of `lpr-ray run`; always_incremental: for jobs/scheduled_archive.py, where
    --incremental is implied."""
    p.add_argument("--input", required=True, help="folder, prefix, glob, TAO dataset or manifest URI")
    p.add_argument("--output", required=True, help="folder or prefix for the Parquet rows")
    p.add_argument("--model", default=None, help="ONNX model file or folder, or a shipped model by name (lpr-ray models; default: us_lprnet_small)")
    p.add_argument("--characters", default=None, help="characters_list.txt (default: beside the model)")
    p.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt (default: auto); standin runs the job "
                   "with no model (a fixed read) to measure the pipeline's own ceiling")
    p.add_argument("--decode", choices=DECODES, default="greedy",
                   help="greedy: NVIDIA's CTC decoding, the two contract outputs suffice (default); "
                   "grammar: also weigh US plate formats to choose letters vs digits (onnxruntime or "
                   "torch backend, a model with a softmax output as `lpr-ray export` writes)")
    p.add_argument("--tta", choices=TTAS, default="off", help=TTA_HELP)
    p.add_argument("--batch-size", type=positive_int, default=128, help="plates per inference batch (default: 128)")
    p.add_argument("--fetch-batch-size", type=positive_int, default=1024, metavar="N",
                   help="objects per read + decode task, which is also a block handed to a recogniser "
                   "actor; larger blocks cost fewer calls per plate, smaller ones spread better over "
                   "few objects (default: 1024)")
    p.add_argument("--num-actors", type=positive_int, default=None, help="recogniser actors (default: one per GPU, or from the CPUs)")
    p.add_argument("--actors-per-gpu", type=positive_int, default=1, metavar="N",
                   help="GPU actors sharing each GPU, 1/N of it each: a fast GPU outruns one actor "
                   "(an H100 wants about 3; docs/RUNNING.md) (default: 1)")
    p.add_argument("--threads-per-actor", type=positive_int, default=None, help="CPU threads per actor (default: CPUs / actors)")
    p.add_argument("--engine-cache", default=None, help="URI where TensorRT engines are cached and shared (see docs/GPU.md)")
    p.add_argument("--incremental", action="store_true", default=always_incremental,
                   help="always on for this entrypoint: only objects not yet in the ledger" if always_incremental
                   else "process only objects not yet in the ledger (new, changed, or new model weights)")
    p.add_argument("--ledger", default=None, help="where ledger files go (default: OUTPUT/_ledger)")
    p.add_argument("--partition-pattern", default=None,
                   help="regex with named groups (site, camera, date...) searched in each object key; "
                        "rows are Hive-partitioned by run_date and those groups")
    p.add_argument("--local-root", action="append", default=[], metavar="DIR",
                   help="also read local files under DIR (repeatable). Local files are read only under "
                   "the input's own folder (a manifest's folder): a manifest entry or a symlink that "
                   "leads elsewhere gets a 'refused' row unless a --local-root allows it")
    p.add_argument("--max-lost-batches", type=non_negative_int, default=10, metavar="N",
                   help="a fetch batch whose task fails 3 times (its worker killed for memory, a crash) "
                   "is lost: its objects get 'batch_lost' rows, read again by the next --incremental "
                   "run. More than N lost batches fail the run (default: 10; 0: the first one does)")
    p.add_argument("--rows-per-file", type=positive_int, default=100_000, help="at most this many rows per Parquet file (default: 100000; at least --min-rows-per-file)")
    p.add_argument("--min-rows-per-file", type=positive_int, default=20_000,
                   help="at least this many rows per write task, so files are not tiny (default: 20000)")
    p.add_argument("--progress-every", type=non_negative_float, default=10.0, metavar="SECONDS",
                   help="log one progress line this often: objects done of the total, plates/s, time "
                   "left (0: Ray Data's own progress output instead) (default: 10)")
    p.add_argument("--lock-timeout", type=non_negative_float, default=None, metavar="SECONDS",
                   help="runs on one Ray cluster go one at a time; give up after waiting this long "
                   "for another (default: wait)")
    p.add_argument("--run-id", default=None,
                   help="name of this run: letters, digits, '_' and '-' (default: UTC time + random suffix)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="more logging")


def config_from_args(args: argparse.Namespace):
    from lpr_ray.pipeline.config import RunConfig

    extra = {"run_id": args.run_id} if args.run_id else {}
    return RunConfig(
        input=args.input,
        output=args.output,
        model=args.model,
        characters=args.characters,
        backend=args.backend,
        decode=args.decode,
        tta=args.tta,
        batch_size=args.batch_size,
        fetch_batch_size=args.fetch_batch_size,
        num_actors=args.num_actors,
        actors_per_gpu=args.actors_per_gpu,
        threads_per_actor=args.threads_per_actor,
        engine_cache=args.engine_cache,
        incremental=args.incremental,
        ledger=args.ledger,
        partition_pattern=args.partition_pattern,
        local_roots=tuple(args.local_root),
        max_lost_batches=args.max_lost_batches,
        rows_per_file=args.rows_per_file,
        min_rows_per_file=args.min_rows_per_file,
        lock_timeout_s=args.lock_timeout,
        progress_s=args.progress_every,
        **extra,
    )


def execute(args: argparse.Namespace) -> int:
    configure_logging(args.verbose)
    from lpr_ray.pipeline.job import run_job

    if not args.json:
        print(run_job(config_from_args(args)).format())
        return 0
    with _stdout_to_stderr() as stdout:
        summary = run_job(config_from_args(args))
        import ray

        # Its last forwarded worker lines come at shutdown: while stdout still goes to stderr.
        ray.shutdown()
    with stdout:
        stdout.write(summary.to_json() + "\n")
    return 0


@contextlib.contextmanager
def _stdout_to_stderr():
    """With --json, stdout carries the JSON only: Ray prints its workers' lines ("(raylet)
    ...", a task's prints) to the driver's stdout, from Python and from C++, so both
    sys.stdout and file descriptor 1 go to stderr while the job runs. Yields the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    real = os.fdopen(os.dup(saved), "w", encoding="utf-8", closefd=True)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield real
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="recognise plates under an input URI and write Parquet",
        description=__doc__,
        epilog=EPILOG + RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(p)
    p.set_defaults(func=execute)


def job_main(prog: str, description: str, argv: list[str] | None = None, *, incremental: bool = False) -> int:
    """The body of the `ray job submit` entrypoints in jobs/: same options as `lpr-ray run`.
    `description` is the entrypoint's docstring, with its `ray job submit` example."""
    import sys

    from lpr_ray.core.errors import LprRayError

    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(parser, always_incremental=incremental)
    args = parser.parse_args(argv)
    try:
        return execute(args)
    except LprRayError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
