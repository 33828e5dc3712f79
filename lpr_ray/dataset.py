"""TAO-layout datasets (images/, labels/, characters_list.txt) on local disk or any fsspec URL."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import numpy as np

from lpr_ray.charset import Charset
from lpr_ray.errors import LprRayError
from lpr_ray.image import Crop, decode_crop

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
    """Every image of a TAO dataset with its normalised label (None when no label file)."""
    fs, root = fsspec.core.url_to_fs(uri)
    images_dir = _join(fs, root, "images")
    labels_dir = _join(fs, root, "labels")
    if not fs.isdir(images_dir):
        raise LprRayError(f"{uri} is not a TAO dataset: {images_dir} is missing")
    if charset is None:
        chars_path = _join(fs, root, "characters_list.txt")
        charset = Charset.from_text(fs.cat_file(chars_path).decode()) if fs.exists(chars_path) else None
    label_files = {
        posixpath.splitext(posixpath.basename(p))[0]: p
        for p in (fs.find(labels_dir) if fs.isdir(labels_dir) else [])
        if p.endswith(".txt")
    }
    image_paths = sorted(p for p in fs.find(images_dir) if p.lower().endswith(IMAGE_EXTENSIONS))
    wanted = [label_files.get(posixpath.splitext(posixpath.basename(p))[0]) for p in image_paths]
    texts = fs.cat([w for w in wanted if w]) if any(wanted) else {}
    samples = []
    for path, label_path in zip(image_paths, wanted, strict=True):
        label = None
        if label_path:
            raw = texts[label_path].decode("utf-8").strip()
            label = charset.normalize_label(raw) if charset else raw.upper()
        samples.append(Sample(uri=_unstrip(uri, fs, path), label=label))
    return samples


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


def load_tao(uri: str, charset: Charset | None = None) -> TaoArrays:
    """The decoded, labelled images of a TAO dataset with their source widths; skips bad images."""
    images, labels, uris, widths = [], [], [], []
    for s, crop in load_crops(list_tao(uri, charset)):
        if crop.image is not None and s.label is not None:
            images.append(crop.image)
            labels.append(s.label)
            uris.append(s.uri)
            widths.append(int(crop.width))
    if not images:
        raise LprRayError(f"no readable labelled images in {uri}")
    return TaoArrays(np.stack(images), labels, uris, widths)


def load_tao_arrays(uri: str, charset: Charset | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """Decoded images [N, 48, 96, 3] uint8, labels and URIs of a TAO dataset; skips bad images."""
    t = load_tao(uri, charset)
    return t.images, t.labels, t.uris
