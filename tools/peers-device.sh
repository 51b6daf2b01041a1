#!/usr/bin/env bash
# The H200 run of issue 9, on the device machine from the repository root, with .gpu/ filled by
# tools/stage-peers-device.sh and carried (`run` with carry [".gpu"]):
#   1. unpack Node, Dawn, onnxruntime-node's libonnxruntime and the Vulkan loader;
#   2. make the moe-mid and dense-mid checkpoints (and their Hugging Face q4 references) with the fixture script
#      (tools/peers/mid-fixtures.json through TINY_LLAMA4_EXTRA; CPU, torch), both at once;
#   3. `bench.mjs peers --node --json` on each: TabScout (webgpu package) against transformers.js (onnxruntime-node's
#      WebGPU provider) on the ONNX export made by the bench itself.
# Every step has a time limit; a failed step is reported (exit code and its log's tail) and the next still runs.
# PEERS_FIXTURES_JSON and PEERS_BENCH_ARGS (smaller models, fewer tokens) are for trying the script on a small
# machine. Results in $OUT: peers-<model>.json (the report), *.log, summary.txt, nvidia-smi.txt. Total under ~8 minutes.
set -u
OUT=${OUT:-/tmp/peers-out}
mkdir -p "$OUT"
G=$PWD/.gpu
W=${PEERS_WORK:-/tmp/peers-work}
mkdir -p "$W"
SUMMARY=$OUT/summary.txt
DEADLINE=${PEERS_DEADLINE:-570}
# shellcheck source=tools/device-steps.sh
source "$(dirname "$0")/device-steps.sh"

setup() {
  set -e
  unpack_gpu_tools "$G" "$W"
  xz -d < "$G/libonnxruntime.so.1.xz" > "$G/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  echo "Vulkan driver for Dawn (both engines): $VK_DRIVER_FILES"; ls -l "$VK_DRIVER_FILES"
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
}

# make NAME: the fixture NAME (model/ + reference/) under $W/fx
make_fixture() {
  TINY_LLAMA4_EXTRA="${PEERS_FIXTURES_JSON:-$G/mid-fixtures.json}" python3 "$G/make_tiny_llama4.py" "$W/fx" --only "$1"
}

# bench NAME: the peers bench on fixture NAME, its JSON report in $OUT/peers-NAME.json
bench() {
  # shellcheck disable=SC2086 # PEERS_BENCH_ARGS: extra options, word-split (e.g. --prompt 32 for a local try)
  "$W/node" "$G/bench.mjs" peers --node --model "$W/fx/$1" --json ${PEERS_BENCH_ARGS:-} > "$OUT/peers-$1.json"
}

export -f unpack_gpu_tools setup make_fixture bench
export G W OUT
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}

step setup 45 setup
# both checkpoints at once (8 threads each of the 16 cores), then the benches alone on the machine, so that no
# engine is timed next to a CPU-heavy job
( OMP_NUM_THREADS=8 step make-moe-mid 240 make_fixture moe-mid ) &
MOE_MAKER=$!
OMP_NUM_THREADS=8 step make-dense-mid 240 make_fixture dense-mid
wait $MOE_MAKER
for m in dense-mid moe-mid; do
  if [ -f "$W/fx/$m/reference/tensors.safetensors" ]; then
    step "peers-$m" "$([ $m = moe-mid ] && echo 170 || echo 120)" bench "$m"
  else
    note "skipped peers-$m: no $m checkpoint (see make-$m.log)"
  fi
done
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
for f in "$OUT"/peers-*.json; do [ -s "$f" ] && note "$(basename "$f"): $(head -c 300 "$f")…"; done
note "done"
