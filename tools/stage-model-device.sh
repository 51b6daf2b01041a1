#!/usr/bin/env bash
# Fills .gpu-model/ (ignored by git) with what tools/model-device.sh needs on the device machine, where nothing can
# be fetched: Node (stripped, xz), Dawn for the `webgpu` package (xz), the Vulkan loader's Debian packages, the
# bench as one esbuild bundle (WGSL and transformers.js inlined, `sharp` and onnxruntime-node stubbed: the peers
# bench's engines are not run there, but the bundle loads them at start), and the Scout and Maverick configs
# (../shared does not travel). Node, Dawn and the packages are taken from another staging folder when one has them. Prints the total: with the
# tracked tree it must stay within the 64 MiB `carry` limit (this folder ~28 MiB).
# Run from the repository root: bash tools/stage-model-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu-model
FIXTURES=${TABSCOUT_FIXTURES:-../shared/fixtures}
mkdir -p $G/configs
# Node, Dawn and the Vulkan loader (tools/stage-gpu-tools.sh)
# shellcheck source=tools/stage-gpu-tools.sh
source tools/stage-gpu-tools.sh
stage_gpu_tools $G

# the bench: model and kernel benches (the peers bench comes along: the bundle imports transformers.js at start)
node_modules/.bin/esbuild cli/bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:playwright-core --external:esbuild --external:onnxruntime-node \
  --alias:sharp=./tools/peers/sharp-stub.mjs --loader:.wgsl=text --minify-whitespace --minify-syntax --log-level=error --outfile=$G/bench.mjs
# `npm run eval` too (the default model's engine evals on the GPU: the `evals` row of tools/model-device.sh)
bundle_cli cli/eval.ts $G/eval.mjs
stage_onnxruntime_stub $G
git rev-parse HEAD > $G/commit.txt 2>/dev/null || true
git status --short --untracked-files=no >> $G/commit.txt 2>/dev/null || true

cp "$FIXTURES/configs/Llama-4-Scout-17B-16E-Instruct.config.json" "$FIXTURES/configs/Llama-4-Maverick-17B-128E-Instruct.config.json" $G/configs/

ls -la $G
echo "total carried: $(du -sb $G | cut -f1) bytes ($(du -sm $G | cut -f1) MiB) + the tracked tree $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes; the limit is 64 MiB in all"
