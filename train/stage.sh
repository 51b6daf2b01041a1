#!/bin/bash
# Prepares the folder that a device run carries, from this checkout (run from the repository root of /work/main,
# where .train*/ is git-ignored):
#   bash train/stage.sh [SHARED_FIXTURES_DIR]      (default ../shared/fixtures)
# .train-tabscout/ then holds code/ (train/, evals/), data/ (prepare_sources.py, when missing), fixture/ (tiny-scout and
# make_tiny_llama4.py), tok/ (the committed model's tokenizer) and ckpt/ (the committed weights + training state, so
# `RESUME=1 bash .train-tabscout/code/train/device.sh full` continues from public/models/tabscout-tiny).
set -e
F=${1:-../shared/fixtures}
R=.train-tabscout
M=public/models/tabscout-tiny
mkdir -p $R
rm -rf $R/code $R/fixture $R/tok $R/ckpt
mkdir -p $R/code $R/fixture $R/tok $R/ckpt
cp -r train evals $R/code/
cp -r $F/tiny-scout $R/fixture/ && cp $F/tools/make_tiny_llama4.py $R/fixture/ && chmod -R u+w $R/fixture
cp $M/tokenizer.json $M/tokenizer_config.json $M/chat_template.jinja $M/preprocessor_config.json $M/processor_config.json $R/tok/
cp $M/model.safetensors $R/ckpt/ && cp fixtures/tabscout-tiny/train-state.json $R/ckpt/state.json
[ -f $R/data/prose.txt.gz ] || python3 train/prepare_sources.py $R/data
# facts from the BSD quiz files (a folder staged before that change has miscfiles' GPL list): rewrite facts.json only
grep -q '"source": "bsdgames' $R/data/facts.json || python3 train/prepare_sources.py $R/data --facts-only
du -sh $R
