#!/usr/bin/env bash
# The default model distilled from us_accurate (issue "Read real plates", item 4): the shipped
# us_lprnet_small fine-tuned on synthetic plates with a per-step KL term towards us_accurate's
# softened outputs. The rule that decides whether it replaces the default is in
# docs/model-log.md ("The default distilled from us_accurate"). About 11 minutes an epoch.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/us_lprnet_small_distill}
REAL_VAL=${REAL_VAL:-../shared/data/us_real_val}
VAL_TAO=()
[ -d "$REAL_VAL" ] && VAL_TAO=(--val-tao "$REAL_VAL")

lpr-ray train --out "$OUT/stage1" --init-from us_lprnet_small --teacher us_accurate \
  --distill-weight 0.5 --distill-temperature 2 --style-augment 0.3 --synthetic 64000 \
  --epochs 6 --steps-per-epoch 1000 --batch-size 64 --lr 5e-4 --warmup-steps 200 --ema 0.999 \
  --val-synthetic 2000 --seed 45 --threads 2 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"
