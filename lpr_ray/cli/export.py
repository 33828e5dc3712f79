"""`lpr-ray export`: checkpoint -> ONNX (NVIDIA LPRNet contract), checked against PyTorch."""

from __future__ import annotations

from lpr_ray.cli.args import DefaultsHelpFormatter, non_negative_int, positive_float, positive_int


def temperature(text: str) -> float | str:
    """'auto', or T > 0: a T <= 0 (or nan) would flip or erase the softmax's ranking."""
    return "auto" if text == "auto" else positive_float(text)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained checkpoint to ONNX (NVIDIA LPRNet contract) and check it",
        description=(
            "Write OUT/model.onnx (input image_input [N,3,48,96]; outputs tf_op_layer_ArgMax, "
            "tf_op_layer_Max, softmax; dynamic batch), OUT/characters_list.txt and OUT/config.json. "
            "Fails unless ONNX Runtime and PyTorch agree on the probabilities and on every decoded "
            "plate of a validation batch (--val-tao and/or held-out synthetic plates)."
        ),
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="a .pt written by `lpr-ray train` (best.pt, last.pt), or a shipped model's name (its model.pt)")
    p.add_argument("--out", required=True, help="model folder to write; a previous model in it is replaced (its model.pt removed unless --with-checkpoint writes a new one)")
    p.add_argument("--val-tao", default=None, metavar="URI", help="TAO dataset whose images check the export")
    p.add_argument("--val-synthetic", type=non_negative_int, default=256, help="held-out synthetic plates to check with (0: none)")
    p.add_argument("--opset", type=positive_int, default=17, help="ONNX opset (TensorRT 8.6+ and ONNX Runtime read 17)")
    p.add_argument(
        "--temperature",
        type=temperature,
        default=1.0,
        help="divide logits by T before the softmax (calibrates confidences, never changes a read); "
        "'auto' fits T on held-out synthetic plates; otherwise a number > 0",
    )
    p.add_argument("--with-checkpoint", action="store_true", help="also write OUT/model.pt (weights only, no optimizer)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lpr_ray.core.errors import require

    require("torch", "train")
    from lpr_ray.core.model import shipped_checkpoint
    from lpr_ray.train.export import export_checkpoint

    info = export_checkpoint(
        shipped_checkpoint(args.checkpoint),
        args.out,
        val_tao=args.val_tao,
        val_synthetic=args.val_synthetic,
        opset=args.opset,
        include_checkpoint=args.with_checkpoint,
        temperature=args.temperature,
    )
    v = info["verification"]
    print(
        f"wrote {args.out}/model.onnx ({info['arch']}, {info['params']:,} params, "
        f"{info['gflops_per_plate']} GFLOP/plate, temperature {info['temperature']:g}); ONNX Runtime vs PyTorch on {v['samples']} images: "
        f"max |prob diff| {v['max_prob_diff']:.1e}, {v['plate_mismatches']} plate mismatches"
    )
    return 0
