#!/usr/bin/env bash
# The H200 run of issue 8 (Scout at its real size), on the device machine from the repository root, with
# .gpu-model/ filled by tools/stage-model-device.sh and carried (`run` with carry [".gpu-model"]):
#   1. unpack Node, Dawn and the Vulkan loader;
#   2. the model bench (`bench.mjs model --json`, docs/PERFORMANCE.md) on Scout's config, one row per step:
#      decode (prompt 64, 32 tokens), the same with --kernel-profile (and both with --router-topk) and with
#      --kernel-ablation (each kernel's cost in the stream) and with --structure-floor (decode-floor: the step's
#      dispatches as streaming reads of their stages' bytes; decode-grid-floor: the same in one dispatch with grid-wide
#      barriers), the q4 kernel
#      bench, decode at 32K and 128K context, and experts paged through 16 GiB with sticky routing 0.5, 0.8, 0.95
#      (and 0.8 with --no-speculate, the synchronous pager, as a control); the load bench from stored records; the
#      sweeps (matvec-sweep, attn-sweep, kernels-experts: the expert MLP's launch shapes); the CPU cost of recording a
#      decode step (record, record-js, record-submit: `bench.mjs record` on Scout's structure at tiny widths,
#      docs/PERFORMANCE.md "Recording cost (CPU)"); the rest of the H200 table: prefill-512, context-8k, the f16 KV
#      cache (context-8k-f16, context-32k-f16, context-128k-f16), Scout at 1/4/12/24 layers (layers-N) and Maverick
#      with as many layers as fit (maverick);
#   3. summary.txt: the figures of every row (tools/model-device-summary.mjs) and what failed.
# Every step has a time limit; a failed step is reported (exit code and its log's tail) and the next still runs;
# nothing starts after MODEL_DEADLINE s (default 540) from the start. For a local try on a small machine:
# MODEL_CONFIG (another config.json), MODEL_BENCH_ARGS (extra options for every model row, e.g. --layers 1),
# MODEL_KERNEL_ARGS (default --only q4), MODEL_ROWS (the rows to run, by name; default all), MODEL_WORK, VK_DRIVER_FILES. Results in $OUT: <row>.json (the bench's
# report), <row>.log, kernels-q4.txt, summary.txt, nvidia-smi.txt, gpu-memory.csv (used MiB every 0.5 s).
set -u
OUT=${OUT:-/tmp/model-out}
mkdir -p "$OUT"
G=${MODEL_GPU_DIR:-$PWD/.gpu-model}
W=${MODEL_WORK:-/tmp/model-work}
mkdir -p "$W"
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
DEADLINE=${MODEL_DEADLINE:-540}
# shellcheck source=tools/device-steps.sh
source "$(dirname "$0")/device-steps.sh"

setup() {
  set -e
  unpack_gpu_tools "$G" "$W"
  cat "$G/commit.txt" || true
  echo "Vulkan driver for Dawn: $VK_DRIVER_FILES"; ls -l "$VK_DRIVER_FILES"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
}

# model NAME OPTIONS...: one model-bench row, its JSON report in $OUT/NAME.json (the log goes to NAME.log)
model() {
  local name=$1
  shift
  # shellcheck disable=SC2086 # MODEL_BENCH_ARGS: extra options, word-split (e.g. --layers 1 for a local try)
  "$W/node" "$G/bench.mjs" model --config "$CONFIG" "$@" ${MODEL_BENCH_ARGS:-} --json > "$OUT/$name.json"
}

# record NAME OPTIONS...: the recording bench (`bench.mjs record --narrow`, 300 steps), its report in $OUT/NAME.json
record() {
  local name=$1
  shift
  "$W/node" "$G/bench.mjs" record --config "$CONFIG" --narrow --steps 300 "$@" --json > "$OUT/$name.json"
}

kernels() {
  # shellcheck disable=SC2086
  "$W/node" "$G/bench.mjs" ${MODEL_KERNEL_ARGS:---only q4} | tee "$OUT/kernels-q4.txt"
}

# kernels-experts: the decode expert MLP's gate+up and down at Scout's shapes, every launch shape (bench-experts.ts)
kernels_experts() {
  "$W/node" "$G/bench.mjs" --experts --variants | tee "$OUT/kernels-experts.txt"
}

# load-store: the load bench (`bench.mjs load --json`): a synthetic q4 package of Scout's config written to the
# local disk, then loaded through the store's record stream in a fresh process; as many layers as the free disk
# holds (Scout q4: 1.16 GB + 1.24 GB per layer), at most LOAD_LAYERS (default 48)
load_store() {
  local free layers
  free=$(df -B1000000 --output=avail "$W" | tail -1)
  layers=$(( (free - 4000) / 1240 - 1 ))
  [ "$layers" -gt "${LOAD_LAYERS:-48}" ] && layers=${LOAD_LAYERS:-48}
  echo "free disk next to $W: $free MB → $layers layers"
  "$W/node" "$G/bench.mjs" load --config "$CONFIG" --layers "$layers" --dir "$W/load-package" --json > "$OUT/load-store.json"
}

# matvec-sweep: decode (prompt 16, 24 tokens) with every q4 mat-vec, linear and expert, in each launch shape of
# MATVEC_SHAPES (WG,CT,R; `bench model --matvec-shape`), once for the step's speed and once with --kernel-profile for
# the time per kernel; one line per shape in $OUT/matvec-sweep.txt (the reports stay in the work folder)
matvec_sweep() {
  local s
  for s in ${MATVEC_SHAPES:-128,64,8 128,64,4 256,128,4 64,32,4 128,32,4 256,64,8 128,32,8 256,64,4}; do
    "$W/node" "$G/bench.mjs" model --config "$CONFIG" --prompt 16 --tokens 24 --matvec-shape "$s" --json > "$W/sweep-$s.json" &&
      "$W/node" "$G/bench.mjs" model --config "$CONFIG" --prompt 16 --tokens 24 --matvec-shape "$s" --kernel-profile --json > "$W/sweep-$s-profile.json" &&
      "$W/node" -e '
        const [s, a, b] = process.argv.slice(1), fs = require("fs");
        const last = (f) => JSON.parse(fs.readFileSync(f, "utf8").trim().split("\n").pop()).resident;
        const r = last(a), p = last(b), k = Object.fromEntries(p.kernels.map((x) => [x.name, x.msPerToken.toFixed(3)]));
        console.log(`${s}: ${r.decode.tokPerS.toFixed(2)} tok/s, ${r.decode.msPerToken.toFixed(3)} ms/token (GPU busy ${r.decode.gpuBusyMs.toFixed(3)}); alone: expert_q4 ${k.expert_q4} ms, linear_q4 ${k.linear_q4} ms`);
      ' "$s" "$W/sweep-$s.json" "$W/sweep-$s-profile.json" | tee -a "$OUT/matvec-sweep.txt"
  done
}

# attn-sweep: decode (prompt 16, 16 tokens) at the contexts of ATTN_CONTEXTS with decode attention in one workgroup
# per head (no merge dispatch) up to each N keys of ATTN_SINGLE_SPLIT (`bench model --attn-single-split`; 0: always
# split and merged; unfused: also the q/k prep in a dispatch of its own, the launch before issue 8's change; tiled:
# one workgroup per head up to 128 keys in tiles of 64 (--attn-short off); short-MODE: a run of ≤ 128 keys in one tile,
# `bench model --attn-short MODE`, MODE off or tile, kernels/attention/attention.ts ShortRun); with
# ATTN_PROFILE=1 also with --kernel-profile (GPU time of the attention kernels alone); one line each in
# $OUT/attn-sweep.txt
attn_sweep() {
  local c n
  for c in ${ATTN_CONTEXTS:-100 300 1000}; do
    for n in ${ATTN_SINGLE_SPLIT:-unfused 0 128 100000}; do
      case $n in
        unfused) set -- --attn-unfused --attn-single-split 0 ;;
        tiled) set -- --attn-short off ;;
        short-*) set -- --attn-short "${n#short-}" ;;
        *) set -- --attn-single-split "$n" ;;
      esac
      "$W/node" "$G/bench.mjs" model --config "$CONFIG" --prompt 16 --tokens 16 --context "$c" "$@" --json > "$W/attn-$c-$n.json" || continue
      rm -f "$W/attn-$c-$n-profile.json"
      [ "${ATTN_PROFILE:-0}" = 1 ] &&
        "$W/node" "$G/bench.mjs" model --config "$CONFIG" --prompt 16 --tokens 16 --context "$c" "$@" --kernel-profile --json > "$W/attn-$c-$n-profile.json"
      "$W/node" -e '
        const [c, n, a, b] = process.argv.slice(1), fs = require("fs");
        const last = (f) => JSON.parse(fs.readFileSync(f, "utf8").trim().split("\n").pop()).resident;
        const r = last(a), k = fs.existsSync(b) ? last(b).kernels.filter((x) => /attention|qk_prep/.test(x.name)) : [];
        const alone = k.map((x) => `${x.name} ${x.msPerToken.toFixed(3)} ms/${x.dispatchesPerToken}`).join(", ");
        console.log(`context ${c}, ${n}: ${r.decode.tokPerS.toFixed(2)} tok/s, ${r.decode.msPerToken.toFixed(3)} ms/token (GPU busy ${r.decode.gpuBusyMs.toFixed(3)}), ${r.decode.dispatchesPerToken} dispatches${alone ? `; alone: ${alone}` : ""}`);
      ' "$c" "$n" "$W/attn-$c-$n.json" "$W/attn-$c-$n-profile.json" | tee -a "$OUT/attn-sweep.txt"
    done
  done
}

# evals: `npm run eval` (bundled) of the default model (public/models/tabscout-tiny, q4, greedy) on each task file of
# EVAL_FILES (default facts arithmetic words chromium screens) through the real GPU; the report (the last line of
# --json) in $OUT/eval-<file>.q4.json
evals() {
  local f
  for f in ${EVAL_FILES:-facts arithmetic words chromium screens}; do
    "$W/node" "$G/eval.mjs" --model public/models/tabscout-tiny --tasks "evals/$f.jsonl" --weights q4 --json > "$W/eval-$f.txt" || return 1
    tail -n 1 "$W/eval-$f.txt" > "$OUT/eval-$f.q4.json"
    grep '^mean score' "$W/eval-$f.txt" # eval's own summary line
  done
}

# maverick: Maverick's config (128 experts on every other layer) with as many layers as fit the GPU: MAVERICK_LAYERS, or
# 24 (≈ 114 GB of q4 weights) on a GPU of over 100 GB, else 12 (≈ 57 GB)
maverick_row() {
  local mem layers
  mem=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
  layers=${MAVERICK_LAYERS:-$([ "${mem:-0}" -gt 100000 ] && echo 24 || echo 12)}
  echo "GPU memory ${mem} MiB → Maverick with $layers layers"
  CONFIG="$G/configs/Llama-4-Maverick-17B-128E-Instruct.config.json" model maverick --layers "$layers" --prompt 64 --tokens 24
}

export -f unpack_gpu_tools setup model record kernels maverick_row kernels_experts load_store matvec_sweep attn_sweep evals
export G W OUT
export CONFIG=${MODEL_CONFIG:-$G/configs/Llama-4-Scout-17B-16E-Instruct.config.json}
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}

step setup 40 setup || { note "setup failed: nothing else can run"; exit 1; }
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 > "$OUT/gpu-memory.csv" 2> /dev/null &
SAMPLER=$!
# the rows, most wanted first (the issue's targets, then long context, then the diagnostics) (limits add up to the deadline; on the H200 each took 10–60 s in run A)
named() { [[ " ${MODEL_ROWS:-} " == *" $1 "* ]]; }
wanted() { [ -z "${MODEL_ROWS:-}" ] || named "$1"; }
wanted decode && step decode 75 model decode --prompt 64 --tokens 32
wanted record && step record 40 record record
wanted record-submit && step record-submit 40 record record-submit --submit
wanted record-js && step record-js 40 record record-js --js-only
wanted load-store && step load-store 200 load_store
wanted paged-sticky-0.8 && step paged-sticky-0.8 110 model paged-sticky-0.8 --expert-budget-gib 16 --routing sticky:0.8 --prompt 16 --tokens 20
wanted paged-sticky-0.5 && step paged-sticky-0.5 110 model paged-sticky-0.5 --expert-budget-gib 16 --routing sticky:0.5 --prompt 16 --tokens 12
wanted paged-sticky-0.95 && step paged-sticky-0.95 110 model paged-sticky-0.95 --expert-budget-gib 16 --routing sticky:0.95 --prompt 16 --tokens 16
# pinned, with each q4 mat-vec quantizing h itself under the pager (the form before 61cf62d), to compare
wanted paged-pinned-float-h-sticky-0.95 && step paged-pinned-float-h-sticky-0.95 110 model paged-pinned-float-h-sticky-0.95 --expert-budget-gib 16 --routing sticky:0.95 --prompt 16 --tokens 16 --pinned-tier --paged-float-h
wanted paged-pinned-float-h-sticky-0.8 && step paged-pinned-float-h-sticky-0.8 110 model paged-pinned-float-h-sticky-0.8 --expert-budget-gib 16 --routing sticky:0.8 --prompt 16 --tokens 20 --pinned-tier --paged-float-h
# the same with the RAM tier pinned in host-visible GPU memory (--pinned-tier: page-ins are GPU copies)
wanted paged-pinned-sticky-0.8 && step paged-pinned-sticky-0.8 110 model paged-pinned-sticky-0.8 --expert-budget-gib 16 --routing sticky:0.8 --prompt 16 --tokens 20 --pinned-tier
wanted paged-pinned-sticky-0.5 && step paged-pinned-sticky-0.5 110 model paged-pinned-sticky-0.5 --expert-budget-gib 16 --routing sticky:0.5 --prompt 16 --tokens 12 --pinned-tier
wanted paged-pinned-sticky-0.95 && step paged-pinned-sticky-0.95 110 model paged-pinned-sticky-0.95 --expert-budget-gib 16 --routing sticky:0.95 --prompt 16 --tokens 16 --pinned-tier
wanted paged-pinned-sticky-0.8-sync && step paged-pinned-sticky-0.8-sync 110 model paged-pinned-sticky-0.8-sync --expert-budget-gib 16 --routing sticky:0.8 --prompt 16 --tokens 20 --pinned-tier --no-speculate
wanted paged-sticky-0.8-sync && step paged-sticky-0.8-sync 110 model paged-sticky-0.8-sync --expert-budget-gib 16 --routing sticky:0.8 --prompt 16 --tokens 20 --no-speculate
wanted context-32k && step context-32k 75 model context-32k --context 32768 --prompt 16 --tokens 8
wanted context-128k && step context-128k 100 model context-128k --context 131072 --prompt 16 --tokens 6
# the rest of the H200 table (docs/PERFORMANCE.md): prefill of 512 tokens against the FMA roofline, decode at 8K, the
# KV cache in f16 (--kv-f16) at 8K/32K/128K, Scout cut to 1/4/12/24 layers (the rows of issue 8's baseline table), and
# Maverick with as many layers as fit (maverick_row)
wanted prefill-512 && step prefill-512 90 model prefill-512 --prompt 512 --tokens 3
wanted context-8k && step context-8k 75 model context-8k --context 8192 --prompt 16 --tokens 8
wanted context-8k-f16 && step context-8k-f16 75 model context-8k-f16 --context 8192 --prompt 16 --tokens 8 --kv-f16
wanted context-32k-f16 && step context-32k-f16 75 model context-32k-f16 --context 32768 --prompt 16 --tokens 8 --kv-f16
wanted context-128k-f16 && step context-128k-f16 100 model context-128k-f16 --context 131072 --prompt 16 --tokens 6 --kv-f16
for n in 1 4 12 24; do
  wanted layers-$n && step layers-$n 60 model layers-$n --layers $n --prompt 64 --tokens 32
done
wanted maverick && step maverick 150 maverick_row
wanted decode-profile && step decode-profile 90 model decode-profile --prompt 64 --tokens 32 --kernel-profile
# each kernel's cost inside the stream of a step: steps without its dispatches against steps with all (--kernel-ablation)
wanted decode-ablation && step decode-ablation 120 model decode-ablation --prompt 64 --tokens 32 --kernel-ablation
# the step's structure floor: its dispatches as streaming reads of their stages' bytes, and one read per layer (--structure-floor)
wanted decode-floor && step decode-floor 90 model decode-floor --prompt 64 --tokens 32 --structure-floor
# the same reads in one dispatch with grid-wide barriers between stages (--grid-floor: what a persistent kernel would save)
wanted decode-grid-floor && step decode-grid-floor 120 model decode-grid-floor --prompt 64 --tokens 32 --grid-floor 132,264,528
# the add-norm that ends a layer inside the next Q/K/V mat-vec (--norm-in-qkv; off by default until measured), and its recording
wanted decode-norm-in-qkv && step decode-norm-in-qkv 75 model decode-norm-in-qkv --prompt 64 --tokens 32 --norm-in-qkv
wanted decode-norm-in-qkv-ablation && step decode-norm-in-qkv-ablation 120 model decode-norm-in-qkv-ablation --prompt 64 --tokens 32 --norm-in-qkv --kernel-ablation
wanted record-norm-in-qkv && step record-norm-in-qkv 40 record record-norm-in-qkv --norm-in-qkv
# the control for the router's top-k in the expert kernels: the separate top-k dispatch kept (`--router-topk`)
wanted decode-router-topk && step decode-router-topk 75 model decode-router-topk --prompt 64 --tokens 32 --router-topk
# the control for the router in the post-attention add-norm: its own dispatch kept (`--router-separate`)
wanted decode-router-separate && step decode-router-separate 75 model decode-router-separate --prompt 64 --tokens 32 --router-separate
# decode as the app samples (temperature 0.6, top-p 0.9: 32-step bisections over the vocabulary in one workgroup)
wanted decode-sampling && step decode-sampling 90 model decode-sampling --prompt 64 --tokens 32 --kernel-profile --sampling 0.6,0.9
wanted decode-profile-router-topk && step decode-profile-router-topk 90 model decode-profile-router-topk --prompt 64 --tokens 32 --kernel-profile --router-topk
wanted kernels-q4 && step kernels-q4 "${KERNELS_LIMIT:-45}" kernels
wanted kernels-experts && step kernels-experts 90 kernels_experts
# the default model's engine evals (not in the default set of rows: name it in MODEL_ROWS)
named evals && step evals 150 evals
wanted matvec-sweep && step matvec-sweep 200 matvec_sweep
wanted attn-sweep && step attn-sweep 300 attn_sweep
kill "$SAMPLER" 2> /dev/null
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
"$W/node" tools/model-device-summary.mjs "$OUT" 2>&1 | tee -a "$SUMMARY"
note "done; peak GPU memory used (nvidia-smi, MiB): $(sort -n "$OUT/gpu-memory.csv" 2> /dev/null | tail -1)"
