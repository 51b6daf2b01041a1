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
mkdir -p $G/node_modules/webgpu $G/configs
# what a device run (or a local try of it) unpacked: never carried
rm -rf $G/node_modules/webgpu/dist

from() { for d in .gpu .gpu-model; do [ -s "$d/$1" ] && { cp "$d/$1" $G/; return 0; }; done; return 1; }
if [ ! -s $G/node.xz ] && ! from node.xz; then
  strip -o $G/node.tmp "$(readlink -f "$(command -v node)")" && xz -9 -T2 < $G/node.tmp > $G/node.xz && rm $G/node.tmp
fi
cp node_modules/webgpu/index.js node_modules/webgpu/package.json $G/node_modules/webgpu/
if [ ! -s $G/dawn.node.xz ] && ! from dawn.node.xz; then
  xz -9 < node_modules/webgpu/dist/linux-x64/dawn.node > $G/dawn.node.xz
fi

# the Vulkan loader and GL dispatch libraries Dawn needs (Debian amd64 packages, unpacked on the device)
if ! ls $G/libvulkan1_*.deb > /dev/null 2>&1; then
  if ls .gpu/libvulkan1_*.deb > /dev/null 2>&1; then cp .gpu/lib*_amd64.deb $G/;
  elif ls .gpu-model/libvulkan1_*.deb > /dev/null 2>&1; then cp .gpu-model/lib*_amd64.deb $G/; else
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    apt-get $o update > /dev/null
    (cd $G && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null)
  fi
fi

# npm run verify, bundled; transformers.js (the tokenizer) comes inlined, with `sharp` replaced by the peers bench's
# stub (no image goes through it) and `onnxruntime-node`, which it requires at start-up but the tokenizer never
# uses, by a stub package here (no 44 MB runtime to carry)
node_modules/.bin/esbuild cli/verify.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --alias:sharp=./tools/peers/sharp-stub.mjs --loader:.wgsl=text --minify-whitespace --minify-syntax \
  --log-level=error --outfile=$G/verify.mjs
mkdir -p $G/node_modules/onnxruntime-node
echo '{"name":"onnxruntime-node","version":"0.0.0-stub","main":"index.js"}' > $G/node_modules/onnxruntime-node/package.json
cat > $G/node_modules/onnxruntime-node/index.js <<'STUB'
// stub (tools/stage-scout-parity-device.sh): transformers.js requires onnxruntime-node when it loads; verify only
// uses its tokenizer
const no = () => { throw new Error('onnxruntime-node is not carried to the device (verify bundle)'); };
module.exports = { env: {}, InferenceSession: { create: no }, Tensor: class Tensor { constructor() { no(); } } };
STUB
git rev-parse HEAD > $G/commit.txt 2>/dev/null || true
git status --short --untracked-files=no >> $G/commit.txt 2>/dev/null || true

cp "$FIXTURES/tools/make_tiny_llama4.py" $G/
cp "$FIXTURES/configs/Llama-4-Scout-17B-16E-Instruct.config.json" $G/configs/

ls -la $G
echo "total carried: $(du -sb $G | cut -f1) bytes ($(du -sm $G | cut -f1) MiB) + the tracked tree $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes; the limit is 64 MiB in all"
