#!/usr/bin/env bash
# Fills .gpu-parity/ (ignored by git) with what tools/scout-parity-device.sh needs on the device machine, where
# nothing can be fetched: Node (stripped, xz), Dawn for the `webgpu` package (xz), the Vulkan loader's Debian
# packages (all three taken from .gpu/ or .gpu-model/ when another staging filled them already), `npm run verify` as
# one esbuild bundle (WGSL inlined; only `webgpu` stays outside), the fixture script make_tiny_llama4.py and Scout's
# config (../shared does not travel; tools/scout_parity.py is tracked and travels with the tree). Prints the total:
# with the tracked tree it must stay within the 64 MiB `carry` limit (this folder ~28 MiB).
# Run from the repository root: bash tools/stage-scout-parity-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu-parity
FIXTURES=${TABSCOUT_FIXTURES:-../shared/fixtures}
mkdir -p $G/configs
# Node, Dawn and the Vulkan loader (tools/stage-gpu-tools.sh)
# shellcheck source=tools/stage-gpu-tools.sh
source tools/stage-gpu-tools.sh
stage_gpu_tools $G

# npm run verify, bundled; `onnxruntime-node`, which transformers.js requires at start-up but the tokenizer never
# uses, is a stub package here (no 44 MB runtime to carry)
bundle_cli cli/verify.ts $G/verify.mjs
stage_onnxruntime_stub $G
git rev-parse HEAD > $G/commit.txt 2>/dev/null || true
git status --short --untracked-files=no >> $G/commit.txt 2>/dev/null || true

cp "$FIXTURES/tools/make_tiny_llama4.py" $G/
cp "$FIXTURES/configs/Llama-4-Scout-17B-16E-Instruct.config.json" $G/configs/

ls -la $G
echo "total carried: $(du -sb $G | cut -f1) bytes ($(du -sm $G | cut -f1) MiB) + the tracked tree $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes; the limit is 64 MiB in all"
