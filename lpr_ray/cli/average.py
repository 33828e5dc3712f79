"""`lpr-ray average`: the weights of several checkpoints of one run averaged (SWA), BatchNorm
statistics measured again, validated, written as a checkpoint (lpr_ray/train/average.py)."""

from __future__ import annotations

import argparse
import time

from lpr_ray.cli.args import DefaultsHelpFormatter, non_negative_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "average",
        help="average checkpoints of one training run (SWA) into one checkpoint",
        description="Average the weights of checkpoints of one run (SWA), re-measure BatchNorm "
        "statistics on fresh plates of the run's training stream, validate, and write a checkpoint "
        "that loads like any other (`lpr-ray export --checkpoint AVG.pt`, `train --init-from AVG.pt`). "
        "`lpr-ray train --save-epochs` keeps every epoch's checkpoint as RUN/epochs/eNNN.pt.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("checkpoints", nargs="+", help="checkpoints of one architecture (e.g. RUN/epochs/e*.pt)")
    p.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    p.add_argument("--bn-plates", type=non_negative_int, default=4096,
                   help="training plates to re-measure BatchNorm on (0: average the statistics too)")
    p.add_argument("--val-synthetic", type=non_negative_int, default=2000,
                   help="held-out synthetic plates to validate on (the run's own set)")
    p.add_argument("--val-tao", default=None, metavar="URI", help="TAO dataset to report accuracy on (never used to choose)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lpr_ray.core.charset import Charset
    from lpr_ray.train import data as tdata
    from lpr_ray.train.average import average_checkpoints
    from lpr_ray.train.checkpoint import save_atomic
    from lpr_ray.train.config import DEFAULT_VAL_SEED
    from lpr_ray.train.evaluation import describe, evaluate

    t0 = time.perf_counter()
    ckpt, model = average_checkpoints(args.checkpoints, bn_plates=args.bn_plates)
    charset = Charset(tuple(ckpt["characters"]))
    val = {}
    if args.val_synthetic:
        seed = int(ckpt["config"].get("val_seed", DEFAULT_VAL_SEED))
        imgs, labs = tdata.synthetic_validation_set(args.val_synthetic, seed, charset)
        val["synthetic"], _ = evaluate(model, imgs, labs, charset.characters, "cpu")
    if args.val_tao:
        from lpr_ray.core.dataset import load_tao_arrays

        imgs, labs, _ = load_tao_arrays(args.val_tao, charset)
        val["tao"], _ = evaluate(model, imgs, labs, charset.characters, "cpu")
    ckpt["metrics"] = {"val": val, "epoch": ckpt["epoch"], "step": ckpt["step"]}
    save_atomic(ckpt, args.out)
    print(f"averaged {len(args.checkpoints)} checkpoints (epochs {ckpt['averaged']['epochs']}) -> {args.out} "
          f"in {time.perf_counter() - t0:.0f} s")
    for name, m in val.items():
        print(f"  {describe(name, m)} ({m['count']} plates)")
    return 0
