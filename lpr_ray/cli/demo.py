"""`lpr-ray demo`: the whole job on an embedded default, on this machine: a local S3 server,
sample crops, the real Ray job, a summary.

Everything runs here: SeaweedFS on 127.0.0.1 with generated credentials, a private local Ray,
the shipped model. Nothing is left behind unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from lpr_ray.cli.args import configure_logging, non_negative_int
from lpr_ray.core.dataset import list_tao
from lpr_ray.core.errors import LprRayError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# Per region: the real validation plates shown beside the synthetic ones (when this checkout
# has them) and the shipped model that reads them.
REGION_DEFAULTS = {
    "us": (SHARED_DATA / "us_real_val", "us_lprnet_small"),
    "cn": (SHARED_DATA / "cn_real_val", "cn_lprnet_medium"),
}
DEFAULT_REAL = REGION_DEFAULTS["us"][0]
BUCKET = "lpr-demo"


def _s3_samples(local_root: Path, s3_prefix: str) -> tuple[list[str], list[str | None]]:
    uris, labels = [], []
    for s in list_tao(str(local_root)):
        rel = os.path.relpath(s.uri, local_root)
        uris.append(f"{s3_prefix}/{rel}")
        labels.append(s.label)
    return uris, labels


def per_source_accuracy(output: str, run_id: str) -> dict[str, tuple[int, int]]:
    """source prefix -> (labelled rows, correct rows), read back from the written Parquet."""
    import pyarrow.dataset as pads

    from lpr_ray.results.table import read_results

    table = read_results(output, columns=["uri", "correct"], filter=pads.field("run_id") == run_id)
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for uri, correct in zip(table.column("uri").to_pylist(), table.column("correct").to_pylist(), strict=True):
        if correct is None:
            continue
        source = uri.split("/crops/", 1)[1].split("/", 1)[0]
        acc[source][0] += 1
        acc[source][1] += int(correct)
    return {k: (v[0], v[1]) for k, v in acc.items()}


def run_demo(
    count: int = 3000,
    real: str | None = None,
    seed: int = 2026,
    keep: bool = False,
    model: str | None = None,
    region: str = "us",
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lpr_ray.local.s3server import LocalS3
    from lpr_ray.pipeline.config import RunConfig
    from lpr_ray.pipeline.job import run_job
    from lpr_ray.synth import write_dataset

    if region not in REGION_DEFAULTS:
        raise LprRayError(f"unknown region {region!r}; expected one of {sorted(REGION_DEFAULTS)}")
    default_real, default_model = REGION_DEFAULTS[region]
    real_path = Path(real) if real else default_real
    model = model or default_model
    if real and not real_path.is_dir():  # asked for by name: a typo must not quietly drop it
        raise LprRayError(f"--real {real} is not a folder: expected a TAO dataset (images/, labels/)")
    work = Path(tempfile.mkdtemp(prefix="lpr-demo-"))
    try:
        synthetic = work / "synthetic"
        print(f"[demo] generating {count} synthetic {region.upper()} plate crops in {synthetic}")
        write_dataset(str(synthetic), count, seed=seed, region=region)
        print("[demo] starting a local S3 server (SeaweedFS on 127.0.0.1)")
        with LocalS3(root_dir=str(work / "s3")) as s3:
            s3.create_bucket(BUCKET)
            sources = {"synthetic": synthetic}
            if real_path.is_dir():
                sources[real_path.name] = real_path
            else:
                print(f"[demo] {real_path} not found: real plates skipped")
            uris: list[str] = []
            labels: list[str | None] = []
            for name, root in sources.items():
                prefix = f"s3://{BUCKET}/crops/{name}"
                print(f"[demo] uploading {root} to {prefix}/")
                s3.upload_dir(str(root), prefix)
                u, lab = _s3_samples(root, prefix)
                uris += u
                labels += lab
            manifest = work / "manifest.parquet"
            pq.write_table(pa.table({"uri": uris, "label": labels}), manifest)
            s3.put(f"s3://{BUCKET}/manifests/demo.parquet", manifest.read_bytes())
            # The job and its local Ray workers find the server through the standard
            # AWS variables, as they would find a real bucket.
            os.environ.update(s3.env())
            output = f"s3://{BUCKET}/results/plates"
            print(f"[demo] running the recognition job: {len(uris)} objects -> {output}/")
            summary = run_job(
                RunConfig(input=f"s3://{BUCKET}/manifests/demo.parquet", output=output, model=model)
            )
            print()
            print(summary.format())
            for source, (n, ok) in sorted(per_source_accuracy(output, summary.run_id).items()):
                print(f"  accuracy on {source}: {ok}/{n} = {ok / n:.2%}")
            if summary.rows != len(uris):
                raise LprRayError(f"{len(uris)} objects but {summary.rows} rows")
        print("[demo] S3 server stopped")
        return 0
    finally:
        if keep:
            print(f"[demo] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def execute(args: argparse.Namespace) -> int:
    configure_logging()
    return run_demo(count=args.count, real=args.real, seed=args.seed, keep=args.keep, model=args.model,
                    region=args.region)


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the job end to end on a local S3 server with sample crops",
        description="Starts SeaweedFS on 127.0.0.1 with generated credentials, uploads "
        "synthetic plates and the real validation plates (../shared/data/us_real_val, or "
        "cn_real_val with --region cn), writes a manifest, runs the recognition job on a private "
        "local Ray with the shipped model of the region, writes Parquet back to the bucket, "
        "prints a summary, and stops the server.",
    )
    p.add_argument("--region", choices=("us", "cn"), default="us",
                   help="US plates with us_lprnet_small, or Chinese plates with cn_lprnet_medium")
    p.add_argument("--count", type=non_negative_int, default=3000, help="synthetic crops to generate (default: 3000)")
    p.add_argument("--real", default=None, help="a TAO dataset of real crops to add (default: ../shared/data/us_real_val or cn_real_val)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--model", default=None, help="ONNX model file or folder, or a shipped model by name (lpr-ray models; default: us_lprnet_small, or cn_lprnet_medium with --region cn)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (data and server files)")
    p.set_defaults(func=execute)
