#!/bin/bash
# Runs on the GPU machine (device tool), from the repository root, with .train-tabscout carried:
#   bash .train-tabscout/code/train/device.sh smoke|full
# .train-tabscout/ holds: code/ (train/ and evals/ of this repo), data/ (prepare_sources.py), fixture/ (tiny-scout +
# make_tiny_llama4.py), tok/ (the tokenizer, after the smoke run), ckpt/ (a checkpoint to resume, optional).
# Environment: BUDGET (training seconds), RESUME=1 (continue from ckpt/), TRAIN_ARGS (more train.py flags),
# WALL (seconds the whole command may take, default 585: training is cut short so that the export fits),
# EXPORT_RESERVE (seconds kept for export.py, default 170; its evals stop at the wall minus 25 s), EVALS_LIMIT (tasks
# per eval file, default 8; 0: all), EXPORT_ARGS (more export.py flags, e.g. --eval-tags q4).
# $OUT gets: train.log, export.log, model.safetensors (the exported bf16 weights; the checkpoint's until the export
# is done), state.json, optim_m/optim_v.safetensors, small.tgz (model/config.json, generation_config.json,
# reference/, trace.json, report.json, ckpt/state.json); train/land.sh puts them in place in the repository.
set -o pipefail
START=$(date +%s)
mode=$1
R=$PWD/.train-tabscout
export PYTHONUNBUFFERED=1 TRAIN_DATA=$R/data TOKENIZERS_PARALLELISM=false
C=$R/code/train
WALL=${WALL:-585}
RESERVE=${EXPORT_RESERVE:-170}
W=${WORK:-/tmp}
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null || echo "no GPU: running on the CPU"
if [ "$mode" = smoke ]; then
  export EVALS_LIMIT=${EVALS_LIMIT:-2}
  python3 $C/check_forward.py $R/fixture/tiny-scout/model $R/fixture/tiny-scout/reference 2>&1 | tee $OUT/check.log || exit 1
  python3 $C/check_packing.py $R/fixture/tiny-scout/model $R/fixture/tiny-scout/reference 2>&1 | tee -a $OUT/check.log || exit 1
  python3 $C/check_packing.py --bench 2>&1 | tee -a $OUT/check.log
  python3 $C/data.py 2>&1 | tee -a $OUT/check.log || exit 1
  python3 $C/quant.py $R/fixture/make_tiny_llama4.py 2>&1 | tee -a $OUT/check.log || exit 1
  time python3 $C/tokenizer.py $W/tok 2>&1 | tail -5
  python3 $C/train.py --tokenizer $W/tok --out $W/ckpt --budget-s ${BUDGET:-45} --pretrain 0.4 --log-every 10 \
    --end-by $((START + WALL - RESERVE)) ${TRAIN_ARGS} 2>&1 | tee $OUT/train.log || exit 1
else
  rm -rf $W/tok && cp -r $R/tok $W/tok
  python3 $C/train.py --tokenizer $W/tok --out $W/ckpt --budget-s ${BUDGET:-400} ${RESUME:+--resume $R/ckpt} \
    --end-by $((START + WALL - RESERVE)) ${TRAIN_ARGS} 2>&1 | tee $OUT/train.log || exit 1
fi
echo "training done at $(( $(date +%s) - START ))s"
# the weights come back even if the export is cut short
cp $W/ckpt/model.safetensors $W/ckpt/state.json $W/ckpt/optim_m.safetensors $W/ckpt/optim_v.safetensors $OUT/
left=$(( START + WALL - 5 - $(date +%s) )); [ $left -lt 30 ] && left=30  # (timeout 0 would mean no limit)
rm -rf $W/model $W/reference
timeout $left python3 $C/export.py --ckpt $W/ckpt --tokenizer $W/tok --out $W/model --reference $W/reference \
  --fixture-tool $R/fixture/make_tiny_llama4.py --image $R/code/evals/screens/render-05.png --heldout $R/data/heldout.txt \
  --trace $W/trace.json --report $W/report.json --evals $R/code/evals --evals-limit ${EVALS_LIMIT:-8} \
  --end-by $(( START + WALL - 25 )) ${EXPORT_ARGS} 2>&1 | tee $OUT/export.log
echo "export rc ${PIPESTATUS[0]} at $(( $(date +%s) - START ))s" | tee -a $OUT/export.log
[ -f $W/model/model.safetensors ] && cp $W/model/model.safetensors $OUT/model.safetensors
mkdir -p $W/pack/model $W/pack/ckpt
cp $W/model/config.json $W/model/generation_config.json $W/pack/model/ 2>/dev/null
cp $W/ckpt/state.json $W/pack/ckpt/
rm -rf $W/pack/reference && { [ -d $W/reference ] && cp -r $W/reference $W/pack/; }
cp $W/trace.json $W/report.json $W/pack/ 2>/dev/null
tar czf $OUT/small.tgz -C $W/pack .
ls -la $OUT
echo "device.sh done in $(( $(date +%s) - START ))s"
