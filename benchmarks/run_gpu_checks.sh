#!/usr/bin/env bash
# The lent GPU machine's whole check (issue 4), one call: the `gpu`-marked tests, then
# benchmarks/bench_gpu.py. Run from the repository root:
#   bash benchmarks/run_gpu_checks.sh TAO_FOLDER OUT_FOLDER [bench_gpu.py options]
# Needs a python3 with CUDA torch, onnxruntime, onnx, opencv, pyarrow, fsspec and pytest (the
# lent machine's image has them; Ray is not needed); lpr_ray is imported from this checkout.
set -uo pipefail
case "${1:-}" in -h|--help) sed -n '2,6p' "$0" | cut -c3-; exit 0;; esac
val=${1:?TAO folder (us_real_val)}
out=${2:?output folder}
shift 2
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
# Without a GPU every gpu-marked test skips and the run would pass having checked nothing.
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
  echo "run_gpu_checks.sh: torch sees no CUDA GPU here: this script is for the GPU machine" >&2; exit 3; }
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_backends_gpu.py 2>&1 | tee "$out/pytest_gpu.txt"
tests=${PIPESTATUS[0]}
python3 benchmarks/bench_gpu.py --val-tao "$val" --json "$out/bench_gpu.json" "$@" 2>&1 | tee "$out/bench_gpu.log"
bench=${PIPESTATUS[0]}
echo "gpu tests exit $tests, bench exit $bench"
exit $((tests || bench))
