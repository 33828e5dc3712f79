"""From model outputs to plate reads: the decoders a run or an evaluation can use.

`greedy` is NVIDIA's (docs/READING.md): it needs only the contract's two outputs, so it
works with every model and backend, and its confidences match DeepStream's. `grammar`
(lpr_ray.core.grammar) also weighs US plate formats; it needs every class's probability, which
models exported by `lpr-ray export` offer as their `softmax` output and the onnxruntime and
torch backends pass on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lpr_ray.core.errors import LprRayError

if TYPE_CHECKING:  # the CLI imports DECODES for --help: keep numpy out of that path
    import numpy as np

    from lpr_ray.core.decode import PlateRead

DECODES = ("greedy", "grammar")
TTAS = ("off", "zoom3")  # lpr_ray.core.tta.VIEW_SETS, named here so that --help needs no numpy
TTA_HELP = (
    "off: read each crop once (default); zoom3: also read it zoomed out to 92%% and in to "
    "108%% and keep the plate most views agree on, its confidence lowered where they "
    "disagree (3 model passes; more correct reads and fewer confident misreads, see the model card)"
)


def check_decode_name(decode: str) -> None:
    if decode not in DECODES:
        raise LprRayError(f"unknown decoding {decode!r}; expected one of {', '.join(DECODES)}")


def check_decode(backend, characters: Sequence[str], decode: str) -> None:
    """Fail before any image is read when `backend` cannot feed `decode`."""
    check_decode_name(decode)
    if decode == "greedy":
        return
    import numpy as np

    from lpr_ray.core.grammar import check_grammar_characters
    from lpr_ray.core.image import MODEL_HEIGHT, MODEL_WIDTH

    check_grammar_characters(characters)
    if not callable(getattr(backend, "infer_probs", None)):  # backends.base.ProbsBackend
        raise LprRayError(
            f"the {backend.name} backend gives only the contract's best class and its probability, "
            "but --decode grammar needs every class's probability: use --backend onnxruntime or "
            "torch, or --decode greedy"
        )
    # Raises with the reason when the model has no per-class output.
    backend.infer_probs(np.zeros((1, MODEL_HEIGHT, MODEL_WIDTH, 3), np.uint8))


def read_batch(
    backend, images: np.ndarray, characters: Sequence[str], decode: str = "greedy", tta: str = "off"
) -> list[PlateRead]:
    """uint8 [N, 48, 96, 3] RGB crops -> one PlateRead each.

    `tta` other than "off" reads every view of lpr_ray.core.tta's view set (one model pass each)
    and votes.
    """
    if tta == "off":
        return _read_view(backend, images, characters, decode)
    from lpr_ray.core.tta import check_tta, vote, zoom

    scales = check_tta(tta)
    return vote([_read_view(backend, zoom(images, s), characters, decode) for s in scales])


def _read_view(backend, images: np.ndarray, characters: Sequence[str], decode: str) -> list[PlateRead]:
    if decode == "greedy":
        from lpr_ray.core.decode import ctc_greedy_decode

        best, prob = backend.infer(images)
        return ctc_greedy_decode(best, prob, characters)
    if decode == "grammar":
        from lpr_ray.core.grammar import grammar_decode

        return grammar_decode(backend.infer_probs(images), characters)
    check_decode_name(decode)
    raise AssertionError("unreachable")


def reading_tag(model_tag: str, decode: str, tta: str, backend: str | None = None) -> str:
    """The `model` of a row and the incremental key: "name@hash", plus "+grammar" and/or
    "+zoom3" when the reads were not NVIDIA's greedy decoding of one view, so that another
    way of reading is neither skipped as done by an --incremental run nor mixed up in queries;
    "+standin" for the benchmark backend's fixed reads, which must never pass for the model's."""
    return (model_tag + (f"+{decode}" if decode != "greedy" else "") + (f"+{tta}" if tta != "off" else "")
            + ("+standin" if backend == "standin" else ""))
