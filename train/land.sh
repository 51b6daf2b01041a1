#!/bin/bash
# Puts a device run's results in place in this checkout (run from the repository root):
#   bash train/land.sh OUT_DIR [--verify]
# OUT_DIR is what `bash .train-tabscout/code/train/device.sh full` left in $OUT (the run tool's files_at folder):
#   model.safetensors            -> public/models/tabscout-tiny/model.safetensors
#   small.tgz: model/config.json, generation_config.json -> public/models/tabscout-tiny/
#              reference/        -> fixtures/tabscout-tiny/reference/ (replaced whole)
#              trace.json        -> fixtures/tabscout-tiny/expert-trace.json
#              report.json       -> fixtures/tabscout-tiny/train-report.json
#              ckpt/state.json   -> fixtures/tabscout-tiny/train-state.json (train/stage.sh resumes from it)
#   train.log, export.log        -> fixtures/tabscout-tiny/train-log.txt, export-log.txt (*.log is git-ignored)
#   optim_m/optim_v.safetensors  -> /tmp/tabscout-optim/ (not committed, and not under .train-tabscout/: with them
#                                   the carried folder would pass the device's 64 MiB)
# Refuses when the export did not finish (no references or report), unless FORCE=1. --verify then runs
# `npm run verify` on the new model and references (f32 and q4), as CI does.
set -e
O=${1:?usage: bash train/land.sh OUT_DIR [--verify]}
M=public/models/tabscout-tiny
F=fixtures/tabscout-tiny
[ -d $M ] && [ -d $F ] || { echo "run from the repository root"; exit 1; }
for f in model.safetensors small.tgz train.log export.log; do
  [ -f "$O/$f" ] || { echo "missing $O/$f"; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tar xzf "$O/small.tgz" -C "$T"
missing=""
for f in reference/cases.json reference/tensors.safetensors report.json trace.json model/config.json ckpt/state.json; do
  [ -f "$T/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ] && [ "$FORCE" != 1 ]; then
  echo "the export did not finish (missing:$missing); see $O/export.log. FORCE=1 lands what there is."; exit 1
fi
grep -q '"errors"' "$T/report.json" 2>/dev/null && echo "warning: report.json has errors:" && python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['errors'])" "$T/report.json"
cp "$O/model.safetensors" $M/model.safetensors
[ -f "$T/model/config.json" ] && cp "$T/model/config.json" "$T/model/generation_config.json" $M/
if [ -f "$T/reference/cases.json" ]; then rm -rf $F/reference && cp -r "$T/reference" $F/reference; fi
[ -f "$T/trace.json" ] && cp "$T/trace.json" $F/expert-trace.json
[ -f "$T/report.json" ] && cp "$T/report.json" $F/train-report.json
cp "$T/ckpt/state.json" $F/train-state.json
cp "$O/train.log" $F/train-log.txt
cp "$O/export.log" $F/export-log.txt
if [ -f "$O/optim_m.safetensors" ]; then mkdir -p /tmp/tabscout-optim && cp "$O"/optim_?.safetensors /tmp/tabscout-optim/; fi
python3 - "$F/train-report.json" "$F/train-state.json" <<'PY'
import json, sys
r, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
run = s["runs"][-1]
print(f"state: step {s['step']}, {s['tokens'] / 1e6:.1f}M tokens in all; this run {run['end_step'] - run['start_step']} steps "
      f"in {run['seconds']:.0f}s; last losses {run.get('final_losses')}")
pf, pq = r.get("perplexity_f32", {}).get("perplexity"), r.get("perplexity_q4", {}).get("perplexity")
if pf and pq:
    print(f"held-out perplexity f32 {pf:.1f}, q4 {pq:.1f} (q4 {100 * (pq / pf - 1):+.1f} %; target within 5 %)")
for k, v in sorted(r.get("evals", {}).items()):
    print(f"HF eval {k}: {v['mean_score']:.3f} on {len(v['tasks'])} tasks{' (cut by the deadline)' if v.get('stopped_by_deadline') else ''}")
if "expert_trace" in r:
    print("expert trace:", r["expert_trace"])
print("timings (s):", r.get("timings_s"), "| download bytes:", r.get("download_bytes"))
PY
git status --short $M $F
if [ "$2" = --verify ]; then
  for w in f32 q4; do
    npm run -s verify -- --model $M --reference $F/reference --weights $w | tail -3
  done
fi
