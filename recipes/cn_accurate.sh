#!/usr/bin/env bash
# Reproduces lpr_ray/assets/cn_accurate/ (see its MODEL_CARD.md): PaddleOCR's PP-OCRv4 mobile
# recogniser (real-text weights from the rapidocr 3.4.5 wheel; it reads Chinese natively)
# fine-tuned on synthetic Chinese plates mixed with cn_real_train behind NVIDIA's contract.
#
# cn_real_val is only reported each epoch (--val-tao), never trained on; best.pt is the epoch
# with the most held-out synthetic plates (seed 7919). About 20 minutes an epoch on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/cn_accurate}
DATA=${DATA:-../shared/data}
ASSET=${ASSET:-lpr_ray/assets/cn_accurate}
VAL_TAO=()
[ -d "$DATA/cn_real_val" ] && VAL_TAO=(--val-tao "$DATA/cn_real_val")

python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('rapidocr') is None)" \
  || python -m pip install --no-deps rapidocr==3.4.5

# A fifth of each batch from the 1,000 real crops of cn_real_train, the rest synthetic.
lpr-ray train --out "$OUT/stage1" --arch ppocr_v4 --region cn --freeze 6 \
  --train-tao "$DATA/cn_real_train" --tao-fraction 0.2 --synthetic 51200 \
  --epochs 4 --steps-per-epoch 800 --batch-size 64 --lr 5e-4 --warmup-steps 300 --ema 0.999 \
  --val-synthetic 2000 --seed 43 --threads 2 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"

lpr-ray export --checkpoint "$OUT/stage1/best.pt" --out "$ASSET" --with-checkpoint
