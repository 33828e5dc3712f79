#!/usr/bin/env bash
# Reproduces lpr_ray/assets/us_accurate/ (see its MODEL_CARD.md): PaddleOCR's PP-OCRv4 mobile
# recogniser (real-text weights from the rapidocr 3.4.5 wheel) fine-tuned on synthetic US
# plates behind NVIDIA's contract.
#
# Synthetic data only: no image of us_real_val is trained on; it is only reported each epoch
# (--val-tao). Epochs are chosen by held-out synthetic plates (seed 7919) plus the Latin part of
# real Chinese crops (docs/model-log.md; scripts/select_us_accurate.py).
# On 2 shared CPU cores one epoch (800 steps x 64 plates) takes about 20 minutes.
# With a GPU add --device cuda and raise --workers to feed it.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/us_accurate}
REAL_VAL=${REAL_VAL:-../shared/data/us_real_val}
ASSET=${ASSET:-lpr_ray/assets/us_accurate}
VAL_TAO=()
[ -d "$REAL_VAL" ] && VAL_TAO=(--val-tao "$REAL_VAL")

# The starting weights: rapidocr's wheel, installed without its dependencies (only the ONNX
# file is read; its opencv-python would clash with opencv-python-headless).
python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('rapidocr') is None)" \
  || python -m pip install --no-deps rapidocr==3.4.5

# 1. Fine-tune: stem and first 6 blocks frozen, AdamW 5e-4, 300 warm-up steps then cosine,
#    moving average of the weights validated and saved.
lpr-ray train --out "$OUT/stage1" --arch ppocr_v4 --freeze 6 --synthetic 51200 \
  --epochs 6 --steps-per-epoch 800 --batch-size 64 --lr 5e-4 --warmup-steps 300 --ema 0.999 \
  --val-synthetic 2000 --seed 41 --threads 2 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"

# 2. The same from the pretrained weights with more of the backbone frozen (only the last three
#    blocks, the neck and the classifier train): stage 1 forgot real-photo robustness.
lpr-ray train --out "$OUT/stage2" --arch ppocr_v4 --freeze 11 --synthetic 51200 \
  --epochs 4 --steps-per-epoch 800 --batch-size 64 --lr 5e-4 --warmup-steps 300 --ema 0.999 \
  --val-synthetic 2000 --seed 46 --threads 2 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"

# 3. Choose among every epoch of both stages (about 40 s a checkpoint).
CN_TRAIN=${CN_TRAIN:-../shared/data/cn_real_train}
CHOSEN=$(python scripts/select_us_accurate.py "$CN_TRAIN" "$OUT/stage1" "$OUT/stage2" | tail -1)

# 4. Real photographs in the batch: 800 of cn_real_train's crops labelled with their Latin part
#    (200 held out to choose with), a fifth of each batch, from the chosen epoch.
python scripts/latin_part.py "$CN_TRAIN" "$OUT/latin"
lpr-ray train --out "$OUT/stage3" --init-from "$CHOSEN" --arch ppocr_v4 --freeze 6 \
  --train-tao "$OUT/latin/cn_latin_train" --tao-fraction 0.2 --synthetic 32000 \
  --epochs 3 --steps-per-epoch 500 --batch-size 64 --lr 2e-4 --warmup-steps 100 --ema 0.999 \
  --val-synthetic 2000 --seed 48 --threads 2 --workers 1 --log-every 100 --save-epochs "${VAL_TAO[@]}"

# 5. Ship stage 3's best epoch only if it beats the chosen one on synthetic + held-out Latin
#    crops; export it with the weights beside it (for --init-from and the torch backend).
lpr-ray export --checkpoint "$CHOSEN" --out "$OUT/chosen" --with-checkpoint
FINAL=$(python scripts/select_us_accurate.py "$OUT/latin/cn_latin_holdout" "$OUT/chosen" "$OUT/stage3" | tail -1)
lpr-ray export --checkpoint "$FINAL" --out "$ASSET" --with-checkpoint
