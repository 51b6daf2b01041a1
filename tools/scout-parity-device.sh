#!/usr/bin/env bash
# Parity at full width (issue 8 §3), on the device machine from the repository root, with .gpu-parity/ filled by
# tools/stage-scout-parity-device.sh and carried (`run` with carry [".gpu-parity"]), in one call:
#   1. unpack Node, Dawn and the Vulkan loader;
#   2. tools/scout_parity.py: a 4-layer checkpoint with Scout's widths, heads, experts and vocab (3 chunked RoPE
#      layers + 1 NoPE layer, random bfloat16 weights made on the GPU, the fixture tokenizer padded to 202048 rows;
#      ~21.8 GB in 5 GB shards), through make_tiny_llama4.py (TINY_LLAMA4_EXTRA), and Hugging Face's references for
#      the `chat` case (logits, 40 greedy tokens), float32 and q4, computed on the GPU (TF32 off);
#   3. `npm run verify` (bundled) on it, --weights f32 and q4 side by side (one Node process each, the real GPU
#      through the `webgpu` package): max |Δlogit| ≤ 1e-3 and identical greedy tokens, as on the tiny fixtures.
# Every step has a time limit; nothing starts after PARITY_DEADLINE s (default 560) from the start, so a slow step
# still leaves the earlier results. Results in $OUT (the device returns at most 8 files): summary.txt (time-stamped
# steps and the figures), verify-f32.json / verify-q4.json (verify's report: max_abs_diff, greedy_match, greedy_ids,
# load_s and its phases), reference-cases.json (what Hugging Face generated), logs.txt (every step's log, appended as
# each ends), memory.csv (GPU and host memory used every 2 s), nvidia-smi.txt.
# A local try on a CPU (SwiftShader): PARITY_SMALL=1 (hidden 256, vocab 2048 or PARITY_SMALL_VOCAB, torch on the CPU), PARITY_PYTHON,
# PARITY_WORK, VK_DRIVER_FILES, and shims for dpkg / ldconfig / nvidia-smi.
set -u
OUT=${OUT:-/tmp/parity-out}
mkdir -p "$OUT"
R=$OUT
G=${PARITY_GPU_DIR:-$PWD/.gpu-parity}
# the work folder: /tmp, or the repository's parent folder where /tmp has less than the checkpoint needs (~24 GB)
avail_gb() { mkdir -p "$1" && df -Pk "$1" | awk 'NR == 2 {print int($4 / 1048576)}'; }
if [ -n "${PARITY_WORK:-}" ]; then W=$PARITY_WORK
elif [ -n "${PARITY_SMALL:-}" ] || [ "$(avail_gb /tmp/parity-work)" -ge 30 ]; then W=/tmp/parity-work
else W=$(dirname "$PWD")/parity-work; fi
L=$W/logs
mkdir -p "$W" "$L"
SUMMARY=$R/summary.txt
: > "$SUMMARY"
: > "$R/logs.txt"
DEADLINE=${PARITY_DEADLINE:-560}
# shellcheck source=tools/device-steps.sh
source "$(dirname "$0")/device-steps.sh"
FX=$W/fx/scout-width
PY=${PARITY_PYTHON:-python3}

setup() {
  set -e
  unpack_gpu_tools "$G" "$W"
  cat "$G/commit.txt" || true
  echo "Vulkan driver for Dawn: $VK_DRIVER_FILES"; ls -l "$VK_DRIVER_FILES"
  "$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nproc; free -g; df -h "$W"
}

# the checkpoint and its references (~22 GB written under $W; GPU: ~44 GB of float32 weights + a 22 GB bf16 copy
# while saving)
make_checkpoint() {
  set -e
  rm -rf "$W/fx"
  if [ -n "${PARITY_SMALL:-}" ]; then
    "$PY" tools/scout_parity.py "$G/make_tiny_llama4.py" "$G/configs/Llama-4-Scout-17B-16E-Instruct.config.json" "$W/fx" --device cpu --small ${PARITY_SMALL_VOCAB:+--vocab "$PARITY_SMALL_VOCAB"}
  else
    "$PY" tools/scout_parity.py "$G/make_tiny_llama4.py" "$G/configs/Llama-4-Scout-17B-16E-Instruct.config.json" "$W/fx" --device cuda
  fi
  ls -la "$FX/model" "$FX/reference"
}

# verify WEIGHTS: verify's JSON report in $OUT/verify-WEIGHTS.json, its log (progress, timings) on stderr
verify() {
  "$W/node" "$G/verify.mjs" --model "$FX/model" --reference "$FX/reference" --weights "$1" --json > "$R/verify-$1.json"
}

export -f unpack_gpu_tools setup make_checkpoint verify
export G W R FX PY
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 # nothing can be fetched there: no hub look-ups
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}

# run NAME LIMIT CMD...: a step whose log is kept in $L and appended to $OUT/logs.txt when it ends
run() {
  local rc
  OUT=$L step "$@"
  rc=$?
  { echo "===== $1 (exit $rc)"; cat "$L/$1.log"; } >> "$R/logs.txt"
  return $rc
}

# memory every 2 s: seconds since the start, GPU MiB used, host MiB used
(
  while :; do
    echo "$((SECONDS - START)),$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2> /dev/null | head -1),$(free -m | awk '/^Mem:/ {print $3}')"
    sleep 2
  done
) > "$R/memory.csv" 2> /dev/null &
SAMPLER=$!
trap 'kill $SAMPLER 2> /dev/null' EXIT

run setup 60 setup || { note "setup failed: nothing else can run"; exit 1; }
if run make-checkpoint 260 make_checkpoint; then
  cp "$FX/reference/cases.json" "$R/reference-cases.json"
  grep -E '^\[ *[0-9.]+ s\]' "$L/make-checkpoint.log" | sed 's/^/    make: /' | tee -a "$SUMMARY"
fi
if [ -s "$FX/reference/tensors.safetensors" ] && ls "$FX/model/"*.safetensors > /dev/null 2>&1; then
  # side by side: each is one Node thread reading, decoding, transposing (q4: quantizing) and uploading; GPU memory
  # ~44 GB (f32) + ~6 GB (q4), 95 GB at the peak on the H200. PARITY_WEIGHTS=q4 (or f32) runs one only (an 80 GB H100).
  WEIGHTS=${PARITY_WEIGHTS:-f32 q4}
  if [[ " $WEIGHTS " == *" q4 "* ]]; then ( run verify-q4 330 verify q4 ) & Q4=$!; fi
  if [[ " $WEIGHTS " == *" f32 "* ]]; then run verify-f32 330 verify f32; fi
  [ -n "${Q4:-}" ] && wait "$Q4"
else
  note "skipped verify: no checkpoint or references (see logs.txt)"
fi
kill $SAMPLER 2> /dev/null
nvidia-smi > "$R/nvidia-smi.txt" 2>&1
for w in f32 q4; do
  f=$R/verify-$w.json
  [ -s "$f" ] || { note "verify $w: no report"; continue; }
  "$W/node" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const c = r.cases.map((x) => `${x.name}: max|Δlogit| ${x.max_abs_diff?.toExponential(3)} top1 ${x.top1_agreement} greedy_match ${x.greedy_match}`).join("; ");
    console.log(`verify ${r.weights}: ${r.pass ? "PASS" : "FAIL"}; load ${r.load_s.toFixed(1)} s ${JSON.stringify(r.load_phases_s)}; ${c}`);
  ' "$f" 2>&1 | while read -r line; do note "$line"; done
done
note "done; peak GPU / host memory used (MiB): $(cut -d, -f2 "$R/memory.csv" | sort -n | tail -1) / $(cut -d, -f3 "$R/memory.csv" | sort -n | tail -1)"
