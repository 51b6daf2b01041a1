#!/bin/bash
# Runs several train/probe_reading.py probes side by side on the device machine's GPU (each renders its batches on
# its own CPU core, or in --workers N processes), from the repository root with .train-tabscout carried (bash train/stage.sh):
#   PROBES="name1: ARGS
#   name2: ARGS" MINUTES=4 bash .train-tabscout/code/train/probe-device.sh
# $OUT gets probe-NAME.log (the probe's eval lines) and probe-NAME.json (its log) for every probe.
set -o pipefail
R=$PWD/.train-tabscout
export TRAIN_DATA=$R/data TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null || echo "no GPU: the probes run on the CPU"
df -h /dev/shm | tail -1  # the DataLoader workers hand batches over through it
dev=cpu; python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && dev=cuda
while IFS= read -r line; do
  [ -z "$line" ] && continue
  name=${line%%:*}; args=${line#*:}
  # shellcheck disable=SC2086
  python3 $R/code/train/probe_reading.py --tokenizer $R/tok --ckpt $R/ckpt --device $dev --minutes ${MINUTES:-4} \
    --log $OUT/probe-$name.json $args > $OUT/probe-$name.log 2>&1 &
done <<< "$PROBES"
wait
for f in $OUT/probe-*.log; do echo "== $f"; grep -E "^step|^saved|Error|error" "$f" | tail -${TAIL:-8}; done
