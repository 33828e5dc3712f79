"""Evaluate a model on a TAO dataset in one process (no Ray): what `lpr-ray eval` runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lpr_ray.backends.base import BackendOptions, load_backend
from lpr_ray.core.dataset import load_tao
from lpr_ray.core.decode import PlateRead
from lpr_ray.core.metrics import Report, evaluate_reads
from lpr_ray.core.model import ModelSpec, resolve_model
from lpr_ray.core.progress import terminal_bar
from lpr_ray.core.reading import check_decode, read_batch
from lpr_ray.core.tta import check_tta


@dataclass(frozen=True)
class Evaluation:
    report: Report
    reads: list[PlateRead]
    labels: list[str]
    uris: list[str]
    model: ModelSpec
    decode: str = "greedy"
    tta: str = "off"
    skipped: dict[str, int] = field(default_factory=dict)  # images left out, by reason (dataset.TaoArrays)


def recognise_arrays(
    backend, images: np.ndarray, characters, batch_size: int = 128, decode: str = "greedy", tta: str = "off",
    progress: bool = False,
) -> list[PlateRead]:
    """PROGRESS: a bar on stderr when it is a terminal."""
    reads: list[PlateRead] = []
    bar = terminal_bar(len(images), "eval") if progress else None
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            reads.extend(read_batch(backend, batch, characters, decode, tta))
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    return reads


def folders(uris: list[str]) -> list[str]:
    """Each image's first folder under the dataset's images/ ("." for images at its top):
    cameras, sites or plate colours, when a dataset is organised that way."""
    out = []
    for uri in uris:
        rest = uri.rsplit("/images/", 1)[-1]
        out.append(rest.split("/", 1)[0] if "/" in rest else ".")
    return out


def evaluate_dataset(
    dataset: str,
    model: str | None = None,
    characters: str | None = None,
    backend: str = "onnxruntime",
    batch_size: int = 128,
    threads: int = 0,
    decode: str = "greedy",
    tta: str = "off",
    progress: bool = False,
) -> Evaluation:
    check_tta(tta)
    spec = resolve_model(model, characters)
    runner = load_backend(backend, spec, BackendOptions(threads=threads))
    try:
        check_decode(runner, spec.charset.characters, decode)
        data = load_tao(dataset, spec.charset)
        reads = recognise_arrays(runner, data.images, spec.charset.characters, batch_size, decode, tta, progress)
    finally:
        runner.close()
    groups = folders(data.uris)
    report = evaluate_reads(
        [r.plate for r in reads], [r.confidence for r in reads], data.labels, widths=data.widths,
        groups=groups if len(set(groups)) > 1 else None,
    )
    return Evaluation(report, reads, data.labels, data.uris, spec, decode, tta, data.skipped)
