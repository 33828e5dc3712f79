#!/usr/bin/env bash
# Reproduces lpr_ray/assets/cn_lprnet_medium/ (see its MODEL_CARD.md and docs/model-log.md,
# session 20): lprnet_medium_ctx grown from the default US model (its digits' and letters'
# classifier rows moved to NVIDIA's Chinese dictionary) and trained on synthetic Chinese plates
# mixed with 800 of cn_real_train's 1,000 crops; the other 200 are held out to choose by.
#
# The shipped epoch has the highest sum of held-out synthetic accuracy (seed 7919) and accuracy
# on the 200 held-out real crops. cn_real_val is not read here. About 3.5 minutes an epoch on
# 2 cores, 70 minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/cn_lprnet_medium}
DATA=${DATA:-../shared/data}
ASSET=${ASSET:-lpr_ray/assets/cn_lprnet_medium}

python scripts/latin_part.py --whole "$DATA/cn_real_train" "$OUT/split"  # OUT/split/cn_real_{train,holdout}

lpr-ray train --out "$OUT/stage1" --arch lprnet_medium_ctx --init-from us_lprnet_small --region cn \
  --train-tao "$OUT/split/cn_real_train" --tao-fraction 0.2 --synthetic 64000 \
  --epochs 12 --steps-per-epoch 1000 --batch-size 64 --lr 1e-3 --warmup-steps 200 --ema 0.999 \
  --val-tao "$OUT/split/cn_real_holdout" --val-synthetic 2000 --seed 62 --threads 1 --workers 1 \
  --log-every 100 --save-epochs

# Stage 2: synthetic accuracy was still rising; the same data, 8 more epochs at 5e-4
lpr-ray train --out "$OUT/stage2" --init-from "$OUT/stage1/last.pt" --region cn \
  --train-tao "$OUT/split/cn_real_train" --tao-fraction 0.2 --synthetic 64000 \
  --epochs 8 --steps-per-epoch 1000 --batch-size 64 --lr 5e-4 --warmup-steps 100 --ema 0.999 \
  --val-tao "$OUT/split/cn_real_holdout" --val-synthetic 2000 --seed 63 --threads 1 --workers 1 \
  --log-every 100 --save-epochs

# Each stage's epoch with the highest sum of the two held-out accuracies (ties: the higher
# synthetic); stage 2's replaces stage 1's if its sum is higher (docs/model-log.md also asked
# that it read no fewer than 5 below stage 1 on 4,000 further synthetic plates: it read 11 more).
CHECKPOINT=$(python -c "import json
def best(stage):
    rows = [json.loads(line) for line in open(f'$OUT/{stage}/metrics.jsonl', encoding='utf-8')]
    rows = [r for r in rows if 'val' in r]
    key = lambda r: (r['val']['synthetic']['accuracy'] + r['val']['tao']['accuracy'], r['val']['synthetic']['accuracy'])
    r = max(rows, key=key)
    return key(r), f'$OUT/{stage}/epochs/e{r[\"epoch\"]:03d}.pt'
print(max(best('stage1'), best('stage2'), key=lambda b: b[0])[1])")
lpr-ray export --checkpoint "$CHECKPOINT" --out "$ASSET" --with-checkpoint
