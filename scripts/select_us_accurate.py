"""Pick us_accurate's shipped epoch by the rules of docs/model-log.md: over every epoch
checkpoint of the given runs (and shipped model folders, scored with the synthetic accuracy
their config.json recorded), the highest sum of held-out synthetic accuracy (seed 7919) and
accuracy on the Latin part of real Chinese crops (labels without the province: the only real
photographs a US model may be selected on). us_real_val is never read here.

How to run (recipes/us_accurate.sh does): prints a table and, last, the chosen checkpoint.

    python scripts/select_us_accurate.py REAL RUN_OR_MODEL [RUN_OR_MODEL ...]

REAL: cn_real_train (labels with their province, dropped here) for stages 1-2, or the held-out
200 of scripts/latin_part.py (Latin labels) for stage 3. RUN: a `lpr-ray train --save-epochs`
output folder (RUN/epochs/eNNN.pt, RUN/metrics.jsonl); MODEL: a folder with model.pt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from lpr_ray.core.charset import US
from lpr_ray.core.dataset import load_tao_arrays
from lpr_ray.core.decode import ctc_greedy_decode
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
    images, labels, _ = load_tao_arrays(argv[0])  # in the dataset's own dictionary
    latin = [label if label[:1] in US.characters else label[1:] for label in labels]
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    rows = []
    for run in map(Path, argv[1:]):
        if (run / "model.pt").exists():  # a shipped model: its export recorded the metrics
            config = json.loads((run / "config.json").read_text(encoding="utf-8"))
            syn, lat = config["metrics"]["val"]["synthetic"]["accuracy"], latin_accuracy(run / "model.pt", x, latin)
            rows.append((syn + lat, syn, lat, str(run / "model.pt")))
            print(f"{run}: synthetic {syn:.4f} + Latin {lat:.4f} = {rows[-1][0]:.4f}", flush=True)
            continue
        synthetic = {}
        for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            synthetic[m["epoch"]] = m["val"]["synthetic"]["accuracy"]
        for ckpt in sorted((run / "epochs").glob("e*.pt")):
            epoch = int(ckpt.stem[1:])
            lat = latin_accuracy(ckpt, x, latin)
            rows.append((synthetic[epoch] + lat, synthetic[epoch], lat, str(ckpt)))
            print(f"{ckpt}: synthetic {synthetic[epoch]:.4f} + Latin {lat:.4f} = {rows[-1][0]:.4f}", flush=True)
    best = max(rows)  # ties: the higher synthetic accuracy (second in the tuple)
    print(best[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
