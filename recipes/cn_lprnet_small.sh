#!/usr/bin/env bash
# Reproduces lpr_ray/assets/cn_lprnet_small/ (see its MODEL_CARD.md): the default US model's
# architecture and weights (lprnet_small_ctx) moved to NVIDIA's Chinese dictionary (the digits'
# and letters' classifier rows kept, the provinces', 警's and 学's new) and trained on
# synthetic Chinese plates mixed with cn_real_train.
#
# cn_real_val is only reported each epoch (--val-tao), never trained on; best.pt is the epoch
# with the most held-out synthetic plates (seed 7919). About 6 minutes an epoch on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/cn_lprnet_small}
DATA=${DATA:-../shared/data}
ASSET=${ASSET:-lpr_ray/assets/cn_lprnet_small}
VAL_TAO=()
[ -d "$DATA/cn_real_val" ] && VAL_TAO=(--val-tao "$DATA/cn_real_val")

lpr-ray train --out "$OUT/stage1" --init-from us_lprnet_small --region cn \
  --train-tao "$DATA/cn_real_train" --tao-fraction 0.2 --synthetic 64000 \
  --epochs 8 --steps-per-epoch 1000 --batch-size 64 --lr 1e-3 --warmup-steps 200 --ema 0.999 \
  --val-synthetic 2000 --seed 44 --threads 1 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"

lpr-ray export --checkpoint "$OUT/stage1/best.pt" --out "$ASSET" --with-checkpoint
