"""`lpr-ray train`: train an LPRNet model (PyTorch, CTC loss) on synthetic and/or TAO data."""

from __future__ import annotations

import argparse
import os
import re
import sys

from lpr_ray.cli.args import (
    DefaultsHelpFormatter,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)

# What a resumed run takes from the command line; everything else is the saved run's.
RESUMABLE = ("epochs", "device", "threads", "workers", "log_every", "val_tao", "save_epochs")


def _absolute(uri: str | None) -> str | None:
    from lpr_ray.core.storage import normalize_uri

    return normalize_uri(uri) if uri else uri


# glibc serves each of a training step's large activations from a fresh mmap and unmaps it
# when freed, so every step page-faults its working set again (26,000 faults/s, 13 plates/s
# for ppocr_v4 on 2 cores); kept in the heap they are reused (12 faults/s, 45-50 plates/s).
# These settings only take effect when the process starts (mallopt at run time was undone by
# whatever was allocated before it), so the command line re-executes itself with them.
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40), "MALLOC_TOP_PAD_": str(1 << 28)}


def reexec_with_heap_settings() -> None:
    """Re-run this `lpr-ray train` command line with MALLOC_ENV, once, on glibc Linux."""
    import platform

    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc" or "MALLOC_MMAP_MAX_" in os.environ:
        return
    os.environ.update(MALLOC_ENV)
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def device(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, got {text!r}")
    return text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an LPRNet model (PyTorch, CTC) on synthetic plates and/or TAO datasets",
        description=(
            "Train an LPRNet model with CTC loss. Data: synthetic plates rendered on the fly "
            "(--synthetic N) and/or TAO datasets (--train-tao, local or any fsspec URL). "
            "Validates each epoch on a fixed held-out synthetic set and on --val-tao (reported, "
            "never trained on); writes OUT/last.pt, OUT/best.pt, OUT/config.json, OUT/metrics.jsonl."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--out", required=True, help="output folder for checkpoints, config and metrics")
    p.add_argument(
        "--arch", default=None, choices=["lprnet_small", "lprnet_small_ctx", "lprnet_medium", "lprnet_medium_ctx", "baseline18", "ppocr_v4"],
        help="lprnet_small/_ctx/medium/medium_ctx: CPU-sized (76/97/133/171 MFLOP per plate; _ctx adds "
        "plate-wide context after the temporal conv); baseline18: NVIDIA's "
        "(5.66 GFLOP); ppocr_v4: PaddleOCR's PP-OCRv4 mobile recogniser, starting from its "
        "real-text weights (see --pretrained; 0.8 GFLOP). Default: the --init-from "
        "checkpoint's, else lprnet_small",
    )
    p.add_argument(
        "--pretrained", default=None, metavar="PATH",
        help="ppocr_v4's starting weights without --init-from: a rapidocr 3.4.5 wheel (.whl) or "
        "its ch_PP-OCRv4_rec_infer.onnx. Default: the installed rapidocr package "
        "(pip install --no-deps rapidocr==3.4.5)",
    )
    p.add_argument(
        "--freeze", type=non_negative_int, default=0, metavar="N",
        help="ppocr_v4: keep the stem and the first N of its 14 backbone blocks at their starting "
        "weights (faster steps, and the low-level features learned on real text stay as they are)",
    )
    p.add_argument("--epochs", type=non_negative_int, default=None, help="total epochs (default 20; with --resume: the saved run's, or this to lengthen/shorten its schedule)")
    p.add_argument(
        "--steps-per-epoch", type=positive_int, default=None,
        help="batches per epoch (default: --synthetic N / batch size for N > 1, else 500)",
    )
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=2e-3, help="peak learning rate (AdamW, warm-up + cosine)")
    p.add_argument("--weight-decay", type=non_negative_float, default=1e-4)
    p.add_argument("--warmup-steps", type=non_negative_int, default=300)
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="validate, select and save an exponential moving average of the weights with this "
        "decay per step, e.g. 0.999 (about the last 1000 steps); 0: off",
    )
    p.add_argument(
        "--synthetic",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="mix in synthetic plates rendered on the fly (fresh ones every epoch); 0 turns them "
        "off (default: on unless --train-tao is given). N also sets the epoch's length when "
        "--steps-per-epoch is not given: N / batch size batches, rounded up, except that 1 "
        "only switches them on (500 batches). With --train-tao each batch takes --tao-fraction "
        "of its plates from the TAO data and the rest synthetic",
    )
    p.add_argument(
        "--region", choices=("us", "cn"), default="us",
        help="which synthetic plates to render (US or Chinese), and the dictionary (NVIDIA's "
        "US or Chinese one) when no --train-tao dataset brings its own characters_list.txt",
    )
    p.add_argument("--train-tao", action="append", default=[], metavar="URI", help="TAO dataset to train on (repeatable)")
    p.add_argument("--tao-fraction", type=probability, default=0.5, help="share of each batch from --train-tao when mixing with synthetic")
    p.add_argument("--val-tao", default=None, metavar="URI", help="TAO dataset to report accuracy on each epoch (never trained on). "
        "OUT/best.pt is the epoch with the best held-out synthetic accuracy when synthetic plates are on "
        "(so --val-tao stays an untouched test), else the best on --val-tao, else the lowest training loss")
    p.add_argument("--val-synthetic", type=non_negative_int, default=2000, help="size of the held-out synthetic validation set")
    p.add_argument("--no-augment", action="store_true", help="turn train-time augmentation off")
    p.add_argument(
        "--style-augment", type=float, default=0.0, metavar="P",
        help="probability that a training crop also gets one or two style operations "
        "(channel shuffle, inversion, hue, posterize, equalise, gamma, pixelate, bend, sharpen: "
        "lpr_ray/train/style.py); 0: off",
    )
    p.add_argument("--init-from", default=None, metavar="PATH", help="fine-tune: start from this checkpoint's weights (a .pt, or a shipped model's name such as us_accurate); "
        "a narrower lprnet checkpoint is grown into a wider --arch with its reads unchanged (lprnet_small -> "
        "lprnet_medium or lprnet_small_ctx; lprnet_small_ctx -> lprnet_medium_ctx), also into another dictionary")
    p.add_argument(
        "--teacher", default=None, metavar="PATH",
        help="distil: also learn each step's class probabilities from this checkpoint (a .pt, or "
        "a shipped model's name such as us_accurate), which must read the same characters",
    )
    p.add_argument("--distill-weight", type=non_negative_float, default=1.0,
                   help="weight of the distillation loss beside the CTC loss (with --teacher)")
    p.add_argument("--distill-temperature", type=positive_float, default=2.0,
                   help="softmax temperature of the teacher's and the model's distributions (with --teacher)")
    p.add_argument("--save-epochs", action="store_true", help="also keep every epoch's weights as OUT/epochs/eNNN.pt, "
        "to average them afterwards (lpr-ray average)")
    p.add_argument("--resume", action="store_true", help="continue OUT/last.pt (model, optimizer, schedule, epoch)")
    p.add_argument("--device", type=device, default="auto", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--workers", type=non_negative_int, default=1, help="data-loader processes rendering and augmenting plates")
    p.add_argument("--log-every", type=non_negative_int, default=50, help="print loss and throughput every N steps")
    p.set_defaults(func=run, parser_defaults={a.dest: a.default for a in p._actions})


def run(args) -> int:
    from lpr_ray.core.errors import LprRayError, require

    require("torch", "train")
    from lpr_ray.train.config import TrainConfig
    from lpr_ray.train.loop import train

    if not 0.0 <= args.ema < 1.0:
        raise LprRayError(f"--ema must be a decay in [0, 1), got {args.ema}")

    if not 0.0 <= args.style_augment <= 1.0:
        raise LprRayError(f"--style-augment must be a probability in [0, 1], got {args.style_augment}")
    if args.style_augment and args.no_augment:
        raise LprRayError("--style-augment needs augmentation on: drop --no-augment or the style option")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise LprRayError(f"--out {args.out} exists and is not a folder")
    if args.resume:
        ignored = [
            f"--{dest.replace('_', '-')} {value}" for dest, value in vars(args).items()
            if dest in args.parser_defaults and dest not in RESUMABLE + ("out", "resume")
            and value != args.parser_defaults[dest]
        ]
        if ignored:
            raise LprRayError(
                f"--resume continues the saved run's data and settings, so {', '.join(ignored)} would be "
                f"ignored; with --resume only --{', --'.join(d.replace('_', '-') for d in RESUMABLE)} apply"
            )
    else:
        if os.path.exists(os.path.join(args.out, "last.pt")):
            raise LprRayError(
                f"{args.out} already holds a run (last.pt): continue it with --resume, or give a new --out"
            )
        if args.epochs == 0:
            raise LprRayError("--epochs 0 trains nothing: give at least 1 (0 only means 'the saved run's' with --resume)")

    from lpr_ray.core.model import shipped_checkpoint

    if args.init_from:
        args.init_from = shipped_checkpoint(args.init_from)
    if args.teacher:
        args.teacher = shipped_checkpoint(args.teacher)
    synthetic = args.synthetic if args.synthetic is not None else (0 if args.train_tao else 1)
    if not args.resume and synthetic == 0 and not args.train_tao:
        raise LprRayError("nothing to train on: --synthetic 0 turns synthetic plates off, so give --train-tao DATASET")
    steps = args.steps_per_epoch
    if steps is None:
        steps = -(-synthetic // args.batch_size) if synthetic > 1 else 500
    arch = args.arch
    if arch is None:
        # Fine-tuning a checkpoint means training its architecture unless told otherwise.
        arch = "lprnet_small"
        if args.init_from and not args.resume:
            from lpr_ray.train.checkpoint import load_checkpoint

            arch = load_checkpoint(args.init_from)["arch"]
    cfg = TrainConfig(
        out=args.out,
        arch=arch,
        epochs=args.epochs if args.epochs is not None else (0 if args.resume else 20),
        steps_per_epoch=steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        ema=args.ema,
        synthetic=synthetic,
        region=args.region,
        # Local paths are saved absolute: --resume may run from another working directory.
        train_tao=tuple(_absolute(u) for u in args.train_tao),
        tao_fraction=args.tao_fraction,
        val_tao=_absolute(args.val_tao),
        val_synthetic=args.val_synthetic,
        augment=not args.no_augment,
        style_augment=args.style_augment,
        init_from=_absolute(args.init_from),
        pretrained=_absolute(args.pretrained),
        freeze=args.freeze,
        teacher=_absolute(args.teacher),
        distill_weight=args.distill_weight,
        distill_temperature=args.distill_temperature,
        save_epochs=args.save_epochs,
        resume=args.resume,
        device=args.device,
        seed=args.seed,
        threads=args.threads,
        workers=args.workers,
        log_every=args.log_every,
    )
    train(cfg)
    return 0
