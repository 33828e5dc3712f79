"""TAO-layout datasets (images/, labels/, characters_list.txt) on local disk or any fsspec URL."""

from __future__ import annotations

import os
import posixpath
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import fsspec
import numpy as np

from lpr_ray.core.charset import REGIONS, Charset
from lpr_ray.core.errors import LprRayError
from lpr_ray.core.image import Crop, decode_crop
from lpr_ray.core.storage import is_storage_library_error, storage_error

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pnm", ".ppm", ".pgm")


@dataclass(frozen=True)
class Sample:
    uri: str
    label: str | None


def _join(fs, root: str, *parts: str) -> str:
    return posixpath.join(root, *parts)


def is_tao_dataset(uri: str) -> bool:
    fs, root = fsspec.core.url_to_fs(uri)
    return fs.isdir(_join(fs, root, "images")) and fs.isdir(_join(fs, root, "labels"))


def _unstrip(uri: str, fs, path: str) -> str:
    """fsspec strips the protocol from paths; give users back full URIs."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local") and "://" not in uri:
        return os.path.abspath(path)
    return fs.unstrip_protocol(path)


def list_tao(uri: str, charset: Charset | None = None) -> list[Sample]:
    with _storage_errors("cannot read the dataset", uri):
        return _list_tao(uri, charset)


@contextmanager
def _storage_errors(what: str, uri: str) -> Iterator[None]:
    """Refused credentials or an unreachable store: one line, not a traceback."""
    try:
        yield
    except LprRayError:
        raise
    except Exception as exc:
        if not is_storage_library_error(exc):
            raise
        raise LprRayError(storage_error(what, uri, exc)) from exc


def _list_tao(uri: str, charset: Charset | None = None) -> list[Sample]:
    """Every image of a TAO dataset with its normalised label (None when no label file).

    An image's label file has the image's path under images/ with .txt under labels/
    (labels/cam1/0001.txt for images/cam1/0001.jpg). Raises on a label file that is empty,
    not UTF-8, or has characters outside `charset`: such a label would score a good read
    as a misread, or train the model on a wrong target."""
    fs, root = fsspec.core.url_to_fs(uri)
    images_dir = _join(fs, root, "images")
    labels_dir = _join(fs, root, "labels")
    if not fs.isdir(images_dir):
        if not fs.exists(root):
            raise LprRayError(f"{uri} does not exist; expected a TAO dataset folder (images/, labels/)")
        raise LprRayError(f"{uri} is not a TAO dataset: {images_dir} is missing")
    if charset is None:
        chars_path = _join(fs, root, "characters_list.txt")
        charset = Charset.from_text(fs.cat_file(chars_path).decode("utf-8-sig")) if fs.exists(chars_path) else None
    label_files = {
        _stem(labels_dir, p): p for p in (fs.find(labels_dir) if fs.isdir(labels_dir) else []) if p.endswith(".txt")
    }
    image_paths = sorted(p for p in fs.find(images_dir) if p.lower().endswith(IMAGE_EXTENSIONS))
    wanted = [label_files.get(_stem(images_dir, p)) for p in image_paths]
    texts = _read_all(fs, [w for w in wanted if w])
    samples, bad = [], []
    for path, label_path in zip(image_paths, wanted, strict=True):
        label = None
        if label_path:
            label, problem = _label(texts[label_path], charset)
            if problem:
                bad.append(f"{_unstrip(uri, fs, label_path)}: {problem}")
        samples.append(Sample(uri=_unstrip(uri, fs, path), label=label))
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        region = _other_region([s.label for s in samples if s.label], charset)
        advice = (
            f"these are {REGION_NAMES.get(region, region)} plates, which the model's dictionary cannot "
            f"spell: use a model of that region ({_models_of(region)}`lpr-ray models` lists them)"
            if region else
            "expected one line with the plate's characters; remove the label file of an image "
            "whose plate is unknown"
        )
        raise LprRayError(
            f"{len(bad)} label file(s) of {uri} cannot be used: " + "; ".join(bad[:3]) + more + f". {advice[0].upper()}{advice[1:]}."
        )
    return samples


REGION_NAMES = {"us": "US", "cn": "Chinese"}


def _other_region(labels: list[str], charset: Charset | None) -> str | None:
    """The region (`--region` name) whose dictionary spells every label, when `charset` is another's."""
    used = set("".join(labels))
    for name, region in REGIONS.items():
        if charset is not None and region != charset and used <= set(region.characters):
            return name
    return None


def _models_of(region: str) -> str:
    """"--model a, --model b; " for the shipped models of REGION, or "" when they cannot be read."""
    from lpr_ray.core.catalog import shipped  # the catalog reads every shipped model's files

    try:
        names = [m.name for m in shipped() if m.region == region]
    except LprRayError:  # a broken install: the label error above is still the one to show
        return ""
    return "".join(f"--model {n}, " for n in names[:-1]) + (f"--model {names[-1]}; " if names else "")


def _read_all(fs, paths: list[str]) -> dict[str, bytes]:
    """path -> bytes; local files with plain open(), a third of fsspec's per-file cost."""
    if not paths:
        return {}
    if "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        out = {}
        for p in paths:
            with open(p, "rb") as f:
                out[p] = f.read()
        return out
    return fs.cat(paths)


def _stem(folder: str, path: str) -> str:
    """A file's path under `folder` without its extension: what pairs an image with its label."""
    prefix = folder.rstrip("/") + "/"
    # find() gives paths under `folder` as it was spelled: a prefix cut, 10x cheaper than
    # relpath (0.4 s per 20,000 images); relpath for anything else.
    rel = path[len(prefix):] if path.startswith(prefix) else posixpath.relpath(path, folder)
    return posixpath.splitext(rel)[0]


def _label(raw: bytes, charset: Charset | None) -> tuple[str, str | None]:
    """(normalised label, what is wrong with it or None)."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    label = charset.normalize_label(text) if charset else text.upper()
    if not label:
        return label, "empty"
    if charset:
        unknown = charset.unknown(label)
        if unknown:
            hint = ""
            if any(c.islower() for c in charset.characters):
                hint = " (labels are read upper-cased, and this characters_list has lower-case letters)"
            return label, f"label {text!r} has characters {unknown} that are not in characters_list{hint}"
    return label, None


def load_crops(samples: list[Sample]) -> Iterator[tuple[Sample, Crop]]:
    """Read and decode each sample (sequentially; the Ray pipeline does this in parallel)."""
    for s in samples:
        with fsspec.open(s.uri, "rb") as f:
            data = f.read()
        yield s, decode_crop(data)


@dataclass(frozen=True)
class TaoArrays:
    images: np.ndarray  # [N, 48, 96, 3] uint8 RGB, resized like the pipeline
    labels: list[str]
    uris: list[str]
    widths: list[int]  # source width of each crop in pixels, before the resize
    # images left out, by reason: "unlabelled" or the decoder's status (image.py), e.g. "truncated"
    skipped: dict[str, int] = field(default_factory=dict)


def load_tao(uri: str, charset: Charset | None = None) -> TaoArrays:
    """The decoded, labelled images of a TAO dataset with their source widths; images without
    a label or that do not decode are left out and counted in `skipped`."""
    images, labels, uris, widths = [], [], [], []
    skipped: Counter[str] = Counter()
    samples = list_tao(uri, charset)
    unlabelled = sum(s.label is None for s in samples)
    with _storage_errors("cannot read the dataset", uri):
        crops = list(load_crops([s for s in samples if s.label is not None]))
    for s, crop in crops:
        if crop.image is None or crop.width is None or s.label is None:  # decoded crops have widths
            skipped[crop.status] += 1
            continue
        images.append(crop.image)
        labels.append(s.label)
        uris.append(s.uri)
        widths.append(crop.width)
    if unlabelled:
        skipped["unlabelled"] = unlabelled
    if not images:
        why = f" ({counts_text(skipped)})" if skipped else ""
        raise LprRayError(f"no readable labelled images in {uri}{why}")
    return TaoArrays(np.stack(images), labels, uris, widths, dict(skipped))


def counts_text(counts: dict[str, int]) -> str:
    """"not_an_image=1, unlabelled=2": counts by reason, in a stable order."""
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def load_tao_arrays(uri: str, charset: Charset | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """Decoded images [N, 48, 96, 3] uint8, labels and URIs of a TAO dataset; skips bad images."""
    t = load_tao(uri, charset)
    return t.images, t.labels, t.uris
