#!/bin/bash
# Runs on the GPU machine (device tool), from the repository root, with .train-tabscout carried:
#   bash .train-tabscout/code/train/device.sh smoke|full
# .train-tabscout/ holds: code/ (train/ and evals/ of this repo), data/ (prepare_sources.py), fixture/ (tiny-scout +
# make_tiny_llama4.py), tok/ (the tokenizer, after the smoke run), ckpt/ (a checkpoint to resume, optional).
set -o pipefail
mode=$1
R=$PWD/.train-tabscout
export PYTHONUNBUFFERED=1 TRAIN_DATA=$R/data TOKENIZERS_PARALLELISM=false
C=$R/code/train
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
if [ "$mode" = smoke ]; then
  export EVALS_LIMIT=2
  python3 $C/check_forward.py $R/fixture/tiny-scout/model $R/fixture/tiny-scout/reference 2>&1 | tee $OUT/check.log || exit 1
  time python3 $C/tokenizer.py /tmp/tok 2>&1 | tail -5
  python3 $C/train.py --tokenizer /tmp/tok --out /tmp/ckpt --budget-s ${BUDGET:-45} --pretrain 0.4 --log-every 10 2>&1 | tee $OUT/train.log || exit 1
else
  cp -r $R/tok /tmp/tok
  python3 $C/train.py --tokenizer /tmp/tok --out /tmp/ckpt --budget-s ${BUDGET:-400} ${RESUME:+--resume $R/ckpt} ${TRAIN_ARGS} 2>&1 | tee $OUT/train.log || exit 1
fi
cp /tmp/ckpt/optim_m.safetensors /tmp/ckpt/optim_v.safetensors $OUT/
python3 $C/export.py --ckpt /tmp/ckpt --tokenizer /tmp/tok --out /tmp/model --reference /tmp/reference \
  --fixture-tool $R/fixture/make_tiny_llama4.py --image $R/code/evals/screens/render-05.png --heldout $R/data/heldout.txt \
  --trace /tmp/trace.json --report /tmp/report.json --evals $R/code/evals --evals-limit ${EVALS_LIMIT:-8} 2>&1 | tee $OUT/export.log
cp /tmp/model/model.safetensors $OUT/model.safetensors
tar czf $OUT/small.tgz -C /tmp tok model/config.json model/generation_config.json reference trace.json report.json ckpt/state.json
ls -la $OUT
