#!/usr/bin/env bash
# The H200 measurement of the prefill GEMM (kernels/matmul), on the device machine from the repository root.
# Staging, here (the peers staging holds everything needed: Node, Dawn, the Vulkan loader, the bench bundle):
#   bash tools/stage-peers-device.sh && cp ../shared/fixtures/configs/Llama-4-Scout-17B-16E-Instruct.config.json .gpu/scout.config.json
# Device: `run` with carry [".gpu"] and the command `bash tools/gemm-device.sh`. Steps, each with a time limit:
#   1. unpack Node, Dawn and the Vulkan loader;
#   2. `bench.mjs --gemm`: the GEMM against the old mat-mul path and the per-item expert gather, TFLOP/s and % of an
#      f32 FMA roofline, at 512/256/64 items (gemm.log: the table at its end);
#   3. `bench.mjs model --config scout --prompt 512 --tokens 3`: Scout's prefill tok/s (docs/PERFORMANCE.md had
#      88.8–89.4 tok/s with the old path), if .gpu/scout.config.json was staged.
# Results in $OUT: gemm.log, model-scout.json, summary.txt. Under ~6 minutes. GEMM_BENCH_ARGS=--quick (with
# VK_DRIVER_FILES set to SwiftShader's ICD) tries the flow on a machine without a GPU. The peers comparison of issue 9 is
# tools/peers-device.sh (same staging), run separately.
set -u
OUT=${OUT:-/tmp/gemm-out}
mkdir -p "$OUT"
G=$PWD/.gpu
W=${GEMM_WORK:-/tmp/gemm-work}
mkdir -p "$W"
SUMMARY=$OUT/summary.txt
DEADLINE=100000
# shellcheck source=tools/device-steps.sh
source "$(dirname "$0")/device-steps.sh"

setup() {
  set -e
  unpack_gpu_tools "$G" "$W"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
}

# shellcheck disable=SC2086 # GEMM_BENCH_ARGS: extra options, word-split (e.g. --quick for a local try)
gemm() { "$W/node" "$G/bench.mjs" --gemm ${GEMM_BENCH_ARGS:-}; }
scout() { "$W/node" "$G/bench.mjs" model --config "$G/scout.config.json" --prompt 512 --tokens 3 --json > "$OUT/model-scout.json"; }

export -f unpack_gpu_tools setup gemm scout
export G W OUT
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}

step setup 45 setup || exit 1
step gemm 300 gemm
sed -n '/^| shape/,$p' "$OUT/gemm.log" | tee -a "$SUMMARY"
if [ -f "$G/scout.config.json" ]; then
  step model-scout 180 scout && note "model-scout.json: $(head -c 600 "$OUT/model-scout.json")"
else
  note "skipped model-scout: no .gpu/scout.config.json staged"
fi
note "done"
