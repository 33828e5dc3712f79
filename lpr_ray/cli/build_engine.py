"""`lpr-ray build-engine`: build a TensorRT engine ahead of time and put it in the engine cache."""

from __future__ import annotations

from lpr_ray.cli.args import DefaultsHelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build-engine",
        help="build a TensorRT FP16 engine for this node's GPU (ahead of a job)",
        description=(
            "Build a TensorRT engine from the model's ONNX for the GPU of this machine and store it "
            "in the engine cache (a local folder and, with --out, shared object storage), keyed by the "
            "ONNX hash, TensorRT version, GPU model and compute capability, precision and batch "
            "profile. Run it once per GPU model of the cluster (a T4 engine does not run on an A10), "
            "with the TensorRT version the workers have. Needs TensorRT, cuda-python and a GPU."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--model", default=None, help="model folder or .onnx, or a shipped model by name (lpr-ray models; default: us_lprnet_small)")
    p.add_argument("--characters", default=None, help="characters_list.txt (default: beside the ONNX)")
    p.add_argument("--out", default=None, metavar="URI", help="shared engine cache, e.g. s3://bucket/lpr-engines (also $LPR_RAY_ENGINE_CACHE)")
    p.add_argument("--cache-dir", default=None, help="local engine cache folder (default: $LPR_RAY_ENGINE_CACHE_DIR or ~/.cache/lpr-ray/engines)")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    p.add_argument("--min-batch", type=int, default=1)
    p.add_argument("--opt-batch", type=int, default=128, help="the job's --batch-size")
    p.add_argument("--max-batch", type=int, default=None, help="default: --opt-batch")
    p.add_argument("--workspace-mb", type=int, default=2048, help="TensorRT builder workspace")
    p.add_argument("--device", type=int, default=0, help="CUDA device ordinal")
    p.add_argument("--force", action="store_true", help="rebuild even when the cache holds the engine")
    p.set_defaults(func=run)


def run(args) -> int:
    from lpr_ray.backends.engine_cache import EngineCache
    from lpr_ray.backends.gpu_probe import probe_gpus
    from lpr_ray.backends.tensorrt import engine_key, import_tensorrt
    from lpr_ray.backends.trt_build import Profile, build_engine
    from lpr_ray.core.errors import LprRayError
    from lpr_ray.core.model import resolve_model

    spec = resolve_model(args.model, args.characters)
    profile = Profile(args.min_batch, args.opt_batch, args.max_batch or args.opt_batch)
    problems = []
    trt = None
    try:
        trt = import_tensorrt()
    except LprRayError as exc:
        problems.append(str(exc))
    gpus = probe_gpus()  # never create a TensorRT object before this says there is a GPU
    if isinstance(gpus, str):
        problems.append(f"no usable GPU: {gpus}")
    elif not 0 <= args.device < len(gpus):
        problems.append(f"no GPU cuda:{args.device} (visible: {[g.describe() for g in gpus]})")
    if problems:
        raise LprRayError(
            "cannot build a TensorRT engine here: " + "; ".join(problems)
            + ". Build engines on a node with the cluster's GPU model and TensorRT version "
            "(e.g. a T4 node for a T4 cluster)."
        )
    gpu = gpus[args.device]
    cache = EngineCache(args.cache_dir, remote=args.out)
    key = engine_key(spec, trt.__version__, gpu, args.precision, profile)
    print(f"engine key for {spec.tag} on {gpu.describe()}, TensorRT {trt.__version__}, {args.precision}, batch {profile}")
    if args.force:
        data = build_engine(spec.onnx_path, precision=args.precision, profile=profile, workspace_mb=args.workspace_mb, device=args.device)
        cache.put(key, data)
        source = "built"
    else:
        data, source = cache.get_or_build(
            key,
            lambda: build_engine(spec.onnx_path, precision=args.precision, profile=profile, workspace_mb=args.workspace_mb, device=args.device),
        )
    where = cache.local_path(key)
    print(f"engine {key.stem} ({len(data) / 2**20:.1f} MiB, {source}) at {where}" + (f" and {cache.remote}" if cache.remote else ""))
    return 0
