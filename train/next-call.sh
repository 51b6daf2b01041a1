#!/bin/bash
# Chains training calls on the device: puts a call's checkpoint (model.safetensors and state.json in OUT_DIR, the run
# tool's files_at folder) into .train-tabscout/ckpt/, so that the next `RESUME=1 ... device.sh full` call continues
# from it (run from the repository root):
#   bash train/next-call.sh OUT_DIR
# Refuses when OUT_DIR's step is not past the checkpoint already there: a call resumed twice from the same weights, or
# an older call's folder.
set -e
O=${1:?usage: bash train/next-call.sh OUT_DIR}
K=.train-tabscout/ckpt
[ -f $K/state.json ] || { echo "no $K/state.json: run bash train/stage.sh first"; exit 1; }
for f in model.safetensors state.json; do
  [ -f "$O/$f" ] || { echo "missing $O/$f"; exit 1; }
done
step() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["step"])' "$1"; }
now=$(step $K/state.json)
new=$(step "$O/state.json")
[ "$new" -gt "$now" ] || { echo "$O is at step $new, not past the checkpoint's $now: nothing copied"; exit 1; }
cp "$O/model.safetensors" "$O/state.json" $K/
chmod u+w $K/model.safetensors $K/state.json
echo "$K: step $now -> $new"
