"""Pick us_accurate's shipped epoch by the rule of docs/model-log.md: over every epoch
checkpoint of the given runs, the highest sum of held-out synthetic accuracy (seed 7919, from
the run's metrics.jsonl) and accuracy on the Latin part of cn_real_train (its 1,000 real crops'
labels without the province: the only real photographs a US model may be selected on).
us_real_val is never read here.

How to run (recipes/us_accurate.sh does): prints a table and, last, the chosen checkpoint.

    python scripts/select_us_accurate.py ../shared/data/cn_real_train RUN [RUN ...]

RUN is a `lpr-ray train --save-epochs` output folder (RUN/epochs/eNNN.pt, RUN/metrics.jsonl).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from lpr_ray.charset import CN, US
from lpr_ray.dataset import load_tao_arrays
from lpr_ray.decode import ctc_greedy_decode
from lpr_ray.train.checkpoint import load_model_from_checkpoint


def latin_accuracy(path: Path, x: torch.Tensor, latin: list[str]) -> float:
    model, _ = load_model_from_checkpoint(path)
    with torch.no_grad():
        probs = torch.cat([model(x[i : i + 100]).softmax(-1) for i in range(0, len(x), 100)])
    top, best = probs.max(-1)
    reads = ctc_greedy_decode(best.numpy().astype(np.int32), top.numpy(), US.characters)
    return sum(r.plate == label for r, label in zip(reads, latin, strict=True)) / len(latin)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    images, labels, _ = load_tao_arrays(argv[0], CN)
    latin = [label[1:] for label in labels]  # every cn_real_train plate starts with its province
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    rows = []
    for run in map(Path, argv[1:]):
        synthetic = {}
        for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            synthetic[m["epoch"]] = m["val"]["synthetic"]["accuracy"]
        for ckpt in sorted((run / "epochs").glob("e*.pt")):
            epoch = int(ckpt.stem[1:])
            lat = latin_accuracy(ckpt, x, latin)
            rows.append((synthetic[epoch] + lat, synthetic[epoch], lat, str(ckpt)))
            print(f"{ckpt}: synthetic {synthetic[epoch]:.4f} + cn_real_train Latin {lat:.4f} = {rows[-1][0]:.4f}", flush=True)
    best = max(rows)  # ties: the higher synthetic accuracy (second in the tuple)
    print(best[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
