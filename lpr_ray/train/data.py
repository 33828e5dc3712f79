"""Training data: synthetic plates rendered on the fly, TAO datasets, light augmentation.

Batches are uint8 NHWC RGB [B, 48, 96, 3] with labels; `collate` turns them into the
model's float input and CTC targets. Synthetic data comes from `lpr_ray.synth.render_batch
(seed, n)`; each (epoch, worker, chunk) gets its own seed derived from the run's seed, so a
resumed run sees fresh plates and no training seed equals the validation seed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lpr_ray.core.charset import Charset
from lpr_ray.core.errors import LprRayError, require
from lpr_ray.train.style import style_augment

torch = require("torch", "train")

CHUNK = 64  # synthetic plates rendered per render_batch call


def render_synthetic(seed: int, n: int, region: str = "us") -> tuple[np.ndarray, list[str]]:
    try:
        from lpr_ray.synth import render_batch
    except ImportError as exc:
        raise LprRayError(
            f"synthetic data needs lpr_ray.synth.render_batch, which is not available ({exc})"
        ) from exc
    images, labels = render_batch(int(seed), int(n), region)
    images = np.asarray(images)
    if images.shape[1:] != (48, 96, 3) or images.dtype != np.uint8:
        raise LprRayError(f"render_batch returned {images.shape} {images.dtype}, expected uint8 [n, 48, 96, 3]")
    return images, list(labels)


def synthetic_validation_set(
    n: int, seed: int, charset: Charset, region: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """The fixed held-out synthetic set: rendered from `seed` only (never a training seed).
    Plates of `region`, by default the one whose dictionary `charset` fits (else US)."""
    from lpr_ray.core.charset import region_of

    region = region or region_of(charset) or "us"
    images, labels = [], []
    for i, start in enumerate(range(0, n, 500)):
        imgs, labs = render_synthetic(seed + i * 1_000_003, min(500, n - start), region)
        images.append(imgs)
        labels.extend(charset.normalize_label(lab) for lab in labs)
    return np.concatenate(images), labels


def train_seed(seed: int, epoch: int, worker: int, chunk: int, val_seed: int) -> int:
    s = int(np.random.SeedSequence([seed, epoch, worker, chunk, 0x4C5052]).generate_state(1)[0]) & 0x7FFFFFFF
    return s + 1 if s == val_seed else s


# --- augmentation -------------------------------------------------------------------


def augment_image(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light, label-preserving changes: crop jitter, small rotation/shear, resolution loss,
    blur, noise, contrast/brightness/colour and JPEG artefacts. uint8 [48, 96, 3] in/out.

    lpr_ray.synth already degrades its plates; this adds variety on top (mostly the detector's
    crop jitter) and is what TAO training data gets."""
    h, w = img.shape[:2]
    out = img
    if rng.random() < 0.5:  # detector crop jitter + small rotation/shear, as an affine map
        angle = rng.normal(0, 2.5)
        shear = rng.normal(0, 0.08)
        # Never zoom in much: lpr_ray.synth already places text close to the crop's edges,
        # and a cut-off first or last character would make the label wrong.
        sx = 1.0 + rng.uniform(-0.16, 0.0)  # condensed fonts (California's) as well
        sy = 1.0 + rng.uniform(-0.10, 0.04)
        tx = rng.uniform(-0.025, 0.025) * w
        ty = rng.uniform(-0.06, 0.06) * h
        a = math.radians(angle)
        m = np.array(
            [[sx * math.cos(a), -sy * math.sin(a) + shear, 0], [sx * math.sin(a), sy * math.cos(a), 0]],
            dtype=np.float32,
        )
        c = np.array([w / 2, h / 2], dtype=np.float32)
        m[:, 2] = c - m[:, :2] @ c + np.array([tx, ty], dtype=np.float32)
        out = cv2.warpAffine(out, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.2:  # stroke weight: thin or thicken the characters by a pixel
        k = np.ones((2, 2), np.uint8)
        out = cv2.erode(out, k) if rng.random() < 0.5 else cv2.dilate(out, k)
    if rng.random() < 0.15:  # low resolution: real crops are often 25-45 px high
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(out, (max(8, int(w * f)), max(4, int(h * f))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.1:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), rng.uniform(0.5, 1.3))
    x = out.astype(np.float32)
    if rng.random() < 0.5:  # contrast, brightness, per-channel gain
        x = (x - x.mean()) * rng.uniform(0.75, 1.25) + x.mean() + rng.uniform(-25, 25)
        x = x * rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    if rng.random() < 0.05:
        x = np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)
    if rng.random() < 0.2:
        x = x + rng.normal(0, rng.uniform(2, 8), size=x.shape).astype(np.float32)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 80))])
        if ok:
            out = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return out


def augment_batch(images: np.ndarray, rng: np.random.Generator, style_p: float = 0.0) -> np.ndarray:
    return np.stack([style_augment(augment_image(img, rng), rng, style_p) for img in images])


# --- datasets ----------------------------------------------------------------------------


def tao_share(fraction: float, batch_size: int) -> int:
    """TAO plates per mixed batch: round(fraction * batch), but at least one when the fraction
    is above 0 and at least one synthetic plate when it is below 1 (rounding to 0 would
    silently train on none of the user's plates)."""
    if fraction <= 0:
        return 0
    if fraction >= 1 or batch_size == 1:
        return batch_size
    return min(batch_size - 1, max(1, round(fraction * batch_size)))


class TrainStream(torch.utils.data.IterableDataset):
    """An endless stream of (images uint8 [B, 48, 96, 3], labels) batches for one epoch.

    Each batch takes tao_share(tao_fraction, B) samples from the TAO arrays (when given) and
    the rest from freshly rendered synthetic plates. Worker w of W renders its own seeds.
    """

    def __init__(
        self,
        *,
        batch_size: int,
        steps: int,
        epoch: int,
        seed: int,
        val_seed: int,
        synthetic: bool,
        tao_images: np.ndarray | None,
        tao_labels: list[str] | None,
        tao_fraction: float,
        augment: bool,
        style_p: float = 0.0,
        region: str = "us",
    ):
        super().__init__()
        self.batch_size = batch_size
        self.steps = steps
        self.epoch = epoch
        self.seed = seed
        self.val_seed = val_seed
        self.synthetic = synthetic
        self.tao_images = tao_images
        self.tao_labels = tao_labels
        have_tao = tao_images is not None and len(tao_images) > 0
        if not synthetic and not have_tao:
            raise LprRayError("no training data: give --synthetic N and/or --train-tao URI")
        self.n_tao = batch_size if not synthetic else (tao_share(tao_fraction, batch_size) if have_tao else 0)
        self.augment = augment
        self.style_p = style_p
        self.region = region

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        rng = np.random.default_rng([self.seed, self.epoch, wid, 0xA06])
        pending_imgs: list[np.ndarray] = []
        pending_labels: list[str] = []
        chunk = 0
        n_syn = self.batch_size - self.n_tao
        for _step in range(wid, self.steps, nw):
            parts, labels = [], []
            if n_syn:
                while sum(len(p) for p in pending_imgs) < n_syn:
                    s = train_seed(self.seed, self.epoch, wid, chunk, self.val_seed)
                    imgs, labs = render_synthetic(s, CHUNK, self.region)
                    chunk += 1
                    pending_imgs.append(imgs)
                    pending_labels.extend(labs)
                allimgs = np.concatenate(pending_imgs)
                parts.append(allimgs[:n_syn])
                labels.extend(pending_labels[:n_syn])
                pending_imgs = [allimgs[n_syn:]]
                pending_labels = pending_labels[n_syn:]
            if self.n_tao:
                idx = rng.integers(0, len(self.tao_images), self.n_tao)
                parts.append(self.tao_images[idx])
                labels.extend(self.tao_labels[i] for i in idx)
            images = np.concatenate(parts)
            if self.augment:
                images = augment_batch(images, rng, self.style_p)
            yield images, labels


def make_loader(stream: TrainStream, workers: int):
    # Workers are spawned afresh each epoch (not forked): they import lpr_ray.synth anew, so
    # a long run picks up an improved generator at its next epoch without restarting.
    return torch.utils.data.DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        multiprocessing_context="spawn" if workers else None,
    )


def collate(images: np.ndarray, labels: list[str], charset: Charset, device):
    """uint8 NHWC + labels -> float NCHW tensor, flat targets, target lengths."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    encoded = [charset.encode(charset.normalize_label(lab)) for lab in labels]
    targets = torch.tensor([c for e in encoded for c in e], dtype=torch.long)
    lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
    return x, targets, lengths


def load_tao_sets(uris, charset: Charset) -> tuple[np.ndarray, list[str], dict[str, int]]:
    """Images and labels of every TAO dataset in `uris`, and the images left out by reason."""
    from lpr_ray.core.dataset import load_tao

    images, labels, skipped = [], [], {}
    for uri in uris:
        t = load_tao(uri, charset)
        images.append(t.images)
        labels.extend(t.labels)
        for reason, n in t.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    return np.concatenate(images), labels, skipped
