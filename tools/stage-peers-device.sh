#!/usr/bin/env bash
# Fills .gpu/ (ignored by git) with what tools/peers-device.sh needs on the device machine, where nothing can be
# fetched: Node, Dawn for the `webgpu` package, onnxruntime-node 1.30 (linux-x64, with its WebGPU provider) and
# onnxruntime-common, the Vulkan loader's Debian packages, the bench as one esbuild bundle (TabScout, the ONNX
# exporter and transformers.js' node build inlined; only webgpu and onnxruntime-node stay outside), and the fixture
# script with the moe-mid / dense-mid definitions. Prints the total, which must stay within the 64 MiB `carry` limit.
# Run from the repository root: bash tools/stage-peers-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu
FIXTURES=${TABSCOUT_FIXTURES:-../shared/fixtures}
mkdir -p $G/node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $G/node_modules/onnxruntime-common
rm -f $G/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 # unpacked by a device run
# Node, Dawn and the Vulkan loader (tools/stage-gpu-tools.sh)
# shellcheck source=tools/stage-gpu-tools.sh
source tools/stage-gpu-tools.sh
stage_gpu_tools $G

# onnxruntime-node: its JS, the N-API binding, and libonnxruntime (xz: 44 MB → ~10 MB; unpacked on the device)
ORT=node_modules/onnxruntime-node
cp $ORT/package.json $G/node_modules/onnxruntime-node/
rm -rf $G/node_modules/onnxruntime-node/dist && cp -r $ORT/dist $G/node_modules/onnxruntime-node/
find $G/node_modules/onnxruntime-node/dist -name '*.map' -delete
cp $ORT/bin/napi-v6/linux/x64/onnxruntime_binding.node $G/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
[ -s $G/libonnxruntime.so.1.xz ] || xz -9 < $ORT/bin/napi-v6/linux/x64/libonnxruntime.so.1 > $G/libonnxruntime.so.1.xz
rm -rf $G/node_modules/onnxruntime-common/dist && mkdir -p $G/node_modules/onnxruntime-common/dist
cp node_modules/onnxruntime-common/package.json $G/node_modules/onnxruntime-common/
cp -r node_modules/onnxruntime-common/dist/cjs node_modules/onnxruntime-common/dist/esm $G/node_modules/onnxruntime-common/dist/
find $G/node_modules/onnxruntime-common -name '*.map' -delete

# the bench: one file, WGSL inlined; transformers.js' node build inlined too (sharp, its image library, is replaced
# by a stub: no image is read); Chromium's half of the peers bench is not bundled (its import path is not a literal)
node_modules/.bin/esbuild cli/bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:playwright-core --external:esbuild --external:onnxruntime-node \
  --alias:sharp=./tools/peers/sharp-stub.mjs --loader:.wgsl=text --minify-whitespace --minify-syntax --log-level=error --outfile=$G/bench.mjs

# the fixture script and the two mid-size definitions
cp "$FIXTURES/tools/make_tiny_llama4.py" $G/
cp tools/peers/mid-fixtures.json $G/

ls -la $G
echo "total carried: $(du -sb $G | cut -f1) bytes ($(du -sm $G | cut -f1) MiB; the limit is 64 MiB)"
