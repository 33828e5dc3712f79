"""The training loop: CTC loss, AdamW with warm-up + cosine decay, validation each epoch,
atomic last.pt / best.pt checkpoints, resume and fine-tuning, a JSONL metrics log."""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lpr_ray.core.atomic import atomic_open
from lpr_ray.core.charset import REGIONS, Charset, region_of
from lpr_ray.core.dataset import counts_text
from lpr_ray.core.errors import LprRayError, require
from lpr_ray.core.progress import terminal_bar
from lpr_ray.train.config import TrainConfig

torch = require("torch", "train")

from lpr_ray.train import data as tdata  # noqa: E402
from lpr_ray.train.checkpoint import (  # noqa: E402
    init_weights_from,
    load_checkpoint,
    save_atomic,
    weights_only,
)
from lpr_ray.train.evaluation import describe, evaluate  # noqa: E402


def resolve_device(name: str):
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LprRayError("--device cuda was asked for but torch sees no CUDA GPU")
    return torch.device(name)


def lr_lambda_for(cfg: TrainConfig):
    total = max(1, cfg.epochs * cfg.steps_per_epoch)
    warm = min(cfg.warmup_steps, total // 10 + 1)

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        p = min(1.0, (step - warm) / max(1, total - warm))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p))

    return f


def ctc_loss(logits, targets, target_lengths, blank: int):
    log_probs = torch.log_softmax(logits.float(), dim=-1).permute(1, 0, 2)  # [T, N, C]
    t, n = log_probs.shape[:2]
    input_lengths = torch.full((n,), t, dtype=torch.long)
    return torch.nn.functional.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank=blank, reduction="mean", zero_infinity=True
    )


def distill_loss(logits, teacher_probs, temperature: float):
    """KL divergence from the teacher's softened per-step distribution to the model's, per
    step, scaled by T^2 so its gradients keep their size as T changes (Hinton et al., 2015).
    Both models emit 24 steps over the same crop, so step t of one matches step t of the other."""
    log_p = torch.log_softmax(logits.float() / temperature, dim=-1)
    kl = torch.nn.functional.kl_div(log_p, teacher_probs, reduction="sum") / (logits.shape[0] * logits.shape[1])
    return kl * temperature**2


def _log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Trainer:
    def __init__(self, cfg: TrainConfig):
        from lpr_ray.models import PRETRAINED

        self.out = Path(cfg.out)
        resume_ckpt = None
        if cfg.resume:
            last = self.out / "last.pt"
            if not last.exists():
                raise LprRayError(f"--resume: no checkpoint {last} to resume from")
            resume_ckpt = load_checkpoint(last)
            saved = TrainConfig.from_dict(resume_ckpt["config"])
            # The saved run's data and architecture hold; what the user may change on resume:
            # more epochs, device, threads, workers, logging and keeping epochs.
            cfg = saved.replace(
                out=cfg.out,
                resume=True,
                epochs=cfg.epochs or saved.epochs,
                device=cfg.device,
                threads=cfg.threads,
                workers=cfg.workers,
                log_every=cfg.log_every,
                val_tao=cfg.val_tao or saved.val_tao,
                save_epochs=cfg.save_epochs or saved.save_epochs,
            )
        if cfg.region not in REGIONS:
            raise LprRayError(f"unknown region {cfg.region!r}; expected one of {sorted(REGIONS)}")
        if not cfg.characters:
            charset = REGIONS[cfg.region]
            if cfg.train_tao:
                charset = _tao_charset(cfg.train_tao[0]) or charset
            cfg = cfg.replace(characters=charset.characters)
        if cfg.synthetic and region_of(Charset(tuple(cfg.characters))) not in (cfg.region, None):
            raise LprRayError(
                f"the training data's characters are {region_of(Charset(tuple(cfg.characters)))!r} plates', "
                f"but the synthetic plates would be {cfg.region!r}: give --region "
                f"{region_of(Charset(tuple(cfg.characters)))}"
            )
        self.cfg = cfg
        self.charset = Charset(tuple(cfg.characters))
        self.blank = self.charset.blank
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        torch.manual_seed(cfg.seed)

        self.model = self._create(cfg)
        self.ema = self._create(cfg) if cfg.ema else None
        if cfg.freeze:
            if not hasattr(self.model, "freeze"):
                raise LprRayError(f"--freeze needs an architecture with pretrained blocks (ppocr_v4), not {cfg.arch}")
            self.model.freeze(cfg.freeze)
        self.teacher = self._load_teacher(cfg) if cfg.teacher else None
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_lambda_for(cfg))
        self.start_epoch = 1
        self.step = 0
        self.best = None
        if resume_ckpt is not None:
            self.model.load_state_dict(resume_ckpt.get("raw_model", resume_ckpt["model"]))
            if self.ema is not None:
                self.ema.load_state_dict(resume_ckpt["model"])
            self.opt.load_state_dict(resume_ckpt["optimizer"])
            self.sched.load_state_dict(resume_ckpt["scheduler"])
            self.sched.lr_lambdas = [lr_lambda_for(cfg)]
            self.start_epoch = int(resume_ckpt["epoch"]) + 1
            self.step = int(resume_ckpt.get("step", 0))
            self.best = resume_ckpt.get("best")
            _log(f"resumed {self.out / 'last.pt'} after epoch {resume_ckpt['epoch']} (step {self.step})")
        elif cfg.init_from:
            skipped = init_weights_from(self.model, cfg.init_from, self.charset.characters)
            _log(f"initialised from {cfg.init_from}" + (f" (fresh: {skipped})" if skipped else ""))
        elif cfg.arch in PRETRAINED:
            from lpr_ray.models.pretrained import load_pretrained

            fresh = load_pretrained(self.model, self.charset.characters, cfg.pretrained)
            source = cfg.pretrained or "the installed rapidocr wheel"
            _log(f"initialised {cfg.arch} from PP-OCRv4's weights in {source}" + (f" (fresh classes: {fresh})" if fresh else ""))
        if self.ema is not None and resume_ckpt is None:
            self.ema.load_state_dict(self.model.state_dict())

        self.tao_images = self.tao_labels = None
        if cfg.train_tao:
            self.tao_images, self.tao_labels, skipped = tdata.load_tao_sets(cfg.train_tao, self.charset)
            left_out = f"; {sum(skipped.values())} images left out ({counts_text(skipped)})" if skipped else ""
            _log(f"TAO training data: {len(self.tao_labels)} plates from {list(cfg.train_tao)}{left_out}")
            if cfg.synthetic:
                n = tdata.tao_share(cfg.tao_fraction, cfg.batch_size)
                _log(f"each batch: {n} TAO + {cfg.batch_size - n} synthetic plates")
        self.val_sets: dict[str, tuple[np.ndarray, list[str]]] = {}
        if cfg.synthetic and cfg.val_synthetic:
            self.val_sets["synthetic"] = tdata.synthetic_validation_set(
                cfg.val_synthetic, cfg.val_seed, self.charset, cfg.region
            )
        if cfg.val_tao:
            from lpr_ray.core.dataset import load_tao_arrays

            imgs, labs, _ = load_tao_arrays(cfg.val_tao, self.charset)
            self.val_sets["tao"] = (imgs, labs)
        # Only once the data has loaded: a run refused before it starts leaves no folder behind.
        self.out.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.out / "config.json", "w", encoding="utf-8") as f:
            f.write(cfg.to_json())

    def _create(self, cfg: TrainConfig):
        from lpr_ray.models import create_model

        model = create_model(cfg.arch, self.charset.num_classes).to(self.device)
        if getattr(model, "channels_last", False):
            model = model.to(memory_format=torch.channels_last)
        return model

    def _load_teacher(self, cfg: TrainConfig):
        from lpr_ray.train.checkpoint import load_model_from_checkpoint

        teacher, ckpt = load_model_from_checkpoint(cfg.teacher)
        if tuple(ckpt["characters"]) != tuple(cfg.characters):
            raise LprRayError(
                f"--teacher {cfg.teacher} reads {''.join(ckpt['characters'])!r}, this run "
                f"{''.join(cfg.characters)!r}: a teacher must have the same characters list"
            )
        teacher = teacher.to(self.device).eval().requires_grad_(False)
        if getattr(teacher, "channels_last", False):
            teacher = teacher.to(memory_format=torch.channels_last)
        _log(f"distilling from {cfg.teacher} ({ckpt['arch']}), weight {cfg.distill_weight}, "
             f"temperature {cfg.distill_temperature}")
        return teacher

    def loss(self, x, targets, lengths):
        logits = self.model(x)
        loss = ctc_loss(logits, targets, lengths, self.blank)
        if self.teacher is None:
            return loss
        with torch.no_grad():
            soft = torch.softmax(self.teacher(x).float() / self.cfg.distill_temperature, dim=-1)
        return loss + self.cfg.distill_weight * distill_loss(logits, soft, self.cfg.distill_temperature)

    @property
    def reader(self):
        """The weights that are validated, selected and saved as "model": the average when
        --ema is on."""
        return self.model if self.ema is None else self.ema

    def checkpoint(self, epoch: int, metrics: dict) -> dict:
        extra = {} if self.ema is None else {"raw_model": self.model.state_dict()}
        return {
            **extra,
            "arch": self.cfg.arch,
            "characters": list(self.charset.characters),
            "model": self.reader.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "epoch": epoch,
            "step": self.step,
            "config": self.cfg.to_dict(),
            "metrics": metrics,
            "best": self.best,
        }

    def train_epoch(self, epoch: int) -> dict:
        cfg = self.cfg
        stream = tdata.TrainStream(
            batch_size=cfg.batch_size,
            steps=cfg.steps_per_epoch,
            epoch=epoch,
            seed=cfg.seed,
            val_seed=cfg.val_seed,
            synthetic=bool(cfg.synthetic),
            tao_images=self.tao_images,
            tao_labels=self.tao_labels,
            tao_fraction=cfg.tao_fraction,
            augment=cfg.augment,
            style_p=cfg.style_augment,
            region=cfg.region,
        )
        loader = tdata.make_loader(stream, cfg.workers)
        self.model.train()
        t0 = time.perf_counter()
        losses: list[float] = []
        # On a terminal a bar replaces the per-step lines (the epoch's summary line stays).
        bar = terminal_bar(cfg.steps_per_epoch, f"epoch {epoch}", unit="steps", unit_scale=False)
        try:
            seen = self._train_steps(loader, bar, epoch, losses)
        finally:
            if bar is not None:
                bar.close()
        dt = time.perf_counter() - t0
        return {"train_loss": float(np.mean(losses)) if losses else None, "train_plates": seen,
                "train_seconds": round(dt, 1), "train_plates_per_s": round(seen / dt, 1) if dt else None}

    def _train_steps(self, loader, bar, epoch: int, losses: list[float]) -> int:
        """One epoch's steps; appends each step's loss to LOSSES and returns the plates seen."""
        cfg = self.cfg
        tw, seen, wseen, window = time.perf_counter(), 0, 0, []
        for images, labels in loader:
            x, targets, lengths = tdata.collate(np.asarray(images), list(labels), self.charset, self.device)
            if getattr(self.model, "channels_last", False):
                x = x.contiguous(memory_format=torch.channels_last)
            loss = self.loss(x, targets, lengths)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.opt.step()
            self.sched.step()
            self.step += 1
            if self.ema is not None:
                self._update_ema()
            v = float(loss.detach())
            losses.append(v)
            window.append(v)
            seen += len(labels)
            wseen += len(labels)
            if bar is not None:
                bar.update(1)
            if cfg.log_every and len(losses) % cfg.log_every == 0:
                now = time.perf_counter()
                rate = wseen / (now - tw)
                if bar is not None:
                    bar.set_postfix(loss=f"{np.mean(window):.4f}", plates_s=f"{rate:.0f}")
                else:
                    _log(
                        f"epoch {epoch} step {len(losses)}/{cfg.steps_per_epoch} loss {np.mean(window):.4f} "
                        f"lr {self.sched.get_last_lr()[0]:.2e} {rate:.0f} plates/s"
                    )
                window, wseen, tw = [], 0, now
        return seen

    @torch.no_grad()
    def _update_ema(self) -> None:
        from torch.optim.swa_utils import get_ema_multi_avg_fn

        # swa_utils' EMA step (a lerp of every weight towards the model's), without its
        # AveragedModel wrapper, which would rename every weight in the checkpoints.
        get_ema_multi_avg_fn(self.cfg.ema)(list(self.ema.parameters()), list(self.model.parameters()), None)
        # BatchNorm statistics are already running averages: take the model's.
        for avg, b in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            avg.copy_(b)

    def val_fingerprint(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for name, (imgs, labs) in sorted(self.val_sets.items()):
            h.update(name.encode())
            h.update("\n".join(labs).encode())
            h.update(np.ascontiguousarray(imgs[:: max(1, len(imgs) // 64)]).tobytes())
        return h.hexdigest()[:16]

    def validate(self) -> dict:
        out = {}
        for name, (imgs, labs) in self.val_sets.items():
            m, _ = evaluate(self.reader, imgs, labs, self.charset.characters, self.device)
            out[name] = m
        return out

    def run(self) -> dict:
        cfg = self.cfg
        log_path = self.out / "metrics.jsonl"
        _log(
            f"training {cfg.arch} on {self.device} for epochs {self.start_epoch}..{cfg.epochs} "
            f"x {cfg.steps_per_epoch} steps x batch {cfg.batch_size} -> {self.out}"
        )
        last = {}
        if self.start_epoch > cfg.epochs:
            _log(
                f"nothing to train: the run already finished epoch {self.start_epoch - 1} of {cfg.epochs}; "
                "give --resume --epochs N with a larger N to lengthen it"
            )
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            metrics = {"epoch": epoch, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            metrics.update(self.train_epoch(epoch))
            metrics["step"] = self.step  # optimizer steps done by the end of this epoch
            t0 = time.perf_counter()
            metrics["val"] = self.validate()
            metrics["val_seconds"] = round(time.perf_counter() - t0, 1)
            key = _selection_key(metrics)
            # Scores are comparable only on the same validation set: a resumed run whose
            # synthetic set was rendered by a changed generator starts a new comparison.
            fingerprint = self.val_fingerprint()
            is_best = (
                self.best is None
                or self.best.get("val_fingerprint") != fingerprint
                or key > tuple(self.best["key"])
            )
            if is_best:
                self.best = {"epoch": epoch, "key": list(key), "val_fingerprint": fingerprint}
            # A stop (Ctrl-C, kill) that arrives while the epoch is saved waits for it: raised
            # inside torch.save, it turned into torch's own error and a traceback (exit 1).
            with _STOP.deferred():
                ckpt = self.checkpoint(epoch, metrics)
                save_atomic(ckpt, self.out / "last.pt")
                if is_best:
                    save_atomic(ckpt, self.out / "best.pt")
                if cfg.save_epochs:  # for weight averaging (lpr_ray.train.average)
                    save_atomic(weights_only(ckpt), self.out / "epochs" / f"e{epoch:03d}.pt")
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(metrics) + "\n")
            parts = [f"epoch {epoch} done: loss {metrics['train_loss']:.4f}, {metrics['train_plates_per_s']} plates/s"]
            parts.extend(describe(name, m) for name, m in metrics["val"].items())
            _log("; ".join(parts) + (" (best)" if is_best else ""))
            last = metrics
        return last


def _selection_key(metrics: dict) -> tuple[float, float]:
    """best.pt is chosen on the held-out synthetic set when there is one (never on real
    validation data, which stays an honest test), else on the TAO validation set, else on
    the training loss."""
    val = metrics.get("val", {})
    m = val.get("synthetic") or val.get("tao")
    if m:
        return (m["accuracy"], m["char_accuracy"])
    return (-(metrics.get("train_loss") or 0.0), 0.0)


def _tao_charset(uri: str) -> Charset | None:
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri)
    path = root.rstrip("/") + "/characters_list.txt"
    if fs.exists(path):
        return Charset.from_text(fs.cat_file(path).decode("utf-8"))
    return None


def train(cfg: TrainConfig) -> dict:
    trainer = Trainer(cfg)
    try:
        with _stop_on_term():
            return trainer.run()
    except KeyboardInterrupt:
        _log("interrupted: the last finished epoch is in last.pt; continue with --resume")
        raise


class _Stop:
    """The stop signals' handler: raise KeyboardInterrupt now, or, inside `deferred()`, as
    soon as the block is done."""

    def __init__(self) -> None:
        self.deferring = False
        self.pending = False

    def handle(self, signum, frame) -> None:
        if self.deferring and not self.pending:  # a second stop does not wait (a hung save)
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring, self.pending = True, False
        try:
            yield
        finally:
            self.deferring = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


_STOP = _Stop()


@contextlib.contextmanager
def _stop_on_term() -> Iterator[None]:
    """Stop a run the same way on Ctrl-C, `kill` (SIGTERM) or `kill -INT`.

    Long runs are started in the background, where the shell makes the process ignore
    SIGINT; without this, `kill -INT` did nothing and `kill` ended the run without a word.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    old = {s: signal.signal(s, _STOP.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)

if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `lpr-ray train`")
