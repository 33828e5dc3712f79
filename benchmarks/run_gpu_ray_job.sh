#!/usr/bin/env bash
# The Ray job end to end on one GPU node (issues 4 and 25): a TAO folder's images hard-linked
# COPIES times into one local folder, then `lpr-ray run`, each on its own local Ray: twice with
# --backend auto (the GPU) at the default block of 1024 objects, once at 4096, once with three
# actors sharing the GPU, once with --backend standin (no model: the pipeline's own ceiling on
# this node) and once with
# --backend onnxruntime (the CPUs). Each run's summary carries its per-stage times. From the
# repository root:
#   bash benchmarks/run_gpu_ray_job.sh TAO_FOLDER COPIES OUT_FOLDER
# Needs lpr-ray's pipeline and torch extras. On the lent machine, which has no Ray, put Ray's
# cp312 wheel (and jsonschema, jsonschema-specifications, referencing, rpds-py) in .whl/ and
# they are installed into /tmp/site first (BENCHMARKS.md "The Ray job on the GPU node").
set -u
case "${1:-}" in -h|--help) sed -n '2,12p' "$0" | cut -c3-; exit 0;; esac
val=${1:?TAO folder}
copies=${2:?copies}
out=${3:?output folder}
mkdir -p "$out"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
python3 -c "import ray; print('ray', ray.__version__)" || exit 1
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
  echo "run_gpu_ray_job.sh: torch sees no CUDA GPU here: --backend auto would measure the CPU" >&2; exit 3; }
status=0
files=$(mktemp -d /tmp/lpr-e2e-XXXX)
python3 - "$val/images" "$files" "$copies" <<'PY'
import os, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(os.listdir(src))
for c in range(copies):
    for n in names:
        os.link(os.path.join(src, n), os.path.join(dst, f"{c:04d}_{n}"))
print("files", len(names) * copies)
PY
i=0
for spec in auto:1024:1 auto:1024:1 auto:4096:1 auto:1024:3 standin:1024:1 onnxruntime:1024:0; do
  IFS=: read -r b block actors <<< "$spec"
  actor_flag=()
  [ "$actors" = 0 ] || actor_flag=(--actors-per-gpu "$actors")
  i=$((i+1))
  python3 -m lpr_ray.cli.main run --input "$files" --output "$files-out-$i" --backend $b --json \
    --fetch-batch-size "$block" "${actor_flag[@]}" > "$out/run_${i}_$b.json" 2> "$out/run_${i}_$b.err"
  rc=$?
  echo "run $i ($b, blocks of $block, actors $actors): exit $rc"
  [ $rc -eq 0 ] || status=1
  python3 -c "import json, sys; s = json.load(open(sys.argv[1])); print({k: s.get(k) for k in ('rows', 'by_status', 'backend', 'timings', 'cluster', 'plates_per_second', 'stages')})" "$out/run_${i}_$b.json"
  if [ "$b" = auto ] && grep -q '"backend": "onnxruntime' "$out/run_${i}_$b.json"; then
    echo "run $i: --backend auto ran on ONNX Runtime (CPU), not the GPU" >&2; status=1
  fi
done
rm -rf "$files" "$files"-out-*
exit $status
