#!/usr/bin/env bash
# Issues 8 and 9 in one device call (the device lends few calls; each cold start costs a minute): the peers bench
# (tools/peers-device.sh: dense-mid and moe-mid, TabScout against transformers.js), then Scout's rows
# (tools/model-device.sh), both from .gpu/ as filled by
#   bash tools/stage-peers-device.sh && cp ../shared/fixtures/configs/Llama-4-Scout-17B-16E-Instruct.config.json .gpu/scout.config.json
# run with carry [".gpu"], timeout_s 540. Each half is packed into one archive as soon as it ends (the device
# returns at most 8 files): $OUT/peers.tgz, $OUT/model.tgz, and $OUT/summary.txt with both summaries.
# PEERS_DEADLINE / MODEL_DEADLINE (s, each from its own start) share the call's time.
set -u
FINAL=$OUT
mkdir -p "$FINAL/peers" "$FINAL/model"
OUT=$FINAL/peers PEERS_DEADLINE=${PEERS_DEADLINE:-190} bash tools/peers-device.sh > /dev/null 2>&1
cat "$FINAL/peers/summary.txt" >> "$FINAL/summary.txt"
tar czf "$FINAL/peers.tgz" -C "$FINAL" peers && rm -rf "$FINAL/peers"
OUT=$FINAL/model MODEL_GPU_DIR=$PWD/.gpu MODEL_CONFIG=$PWD/.gpu/scout.config.json MODEL_DEADLINE=${MODEL_DEADLINE:-320} \
  bash tools/model-device.sh > /dev/null 2>&1
cat "$FINAL/model/summary.txt" >> "$FINAL/summary.txt"
tar czf "$FINAL/model.tgz" -C "$FINAL" model && rm -rf "$FINAL/model"
grep -v 'json: {' "$FINAL/summary.txt"
