#!/usr/bin/env bash
# Fills .gpu-model/ (ignored by git) with what tools/model-device.sh needs on the device machine, where nothing can
# be fetched: Node (stripped, xz), Dawn for the `webgpu` package (xz), the Vulkan loader's Debian packages, the
# bench as one esbuild bundle (WGSL inlined; only `webgpu` stays outside; the peers bench's engines are left out:
# they are not run there), and the Scout and Maverick configs (../shared does not travel). Node, Dawn and the
# packages are taken from .gpu/ when tools/stage-peers-device.sh filled it already. Prints the total: with the
# tracked tree it must stay within the 64 MiB `carry` limit (this folder ~28 MiB).
# Run from the repository root: bash tools/stage-model-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
G=.gpu-model
FIXTURES=${TABSCOUT_FIXTURES:-../shared/fixtures}
mkdir -p $G/node_modules/webgpu $G/configs
# what a device run (or a local try of it) unpacked: never carried
rm -rf $G/node_modules/webgpu/dist

if [ ! -s $G/node.xz ]; then
  if [ -s .gpu/node.xz ]; then cp .gpu/node.xz $G/; else
    strip -o $G/node.tmp "$(readlink -f "$(command -v node)")" && xz -9 -T2 < $G/node.tmp > $G/node.xz && rm $G/node.tmp
  fi
fi
cp node_modules/webgpu/index.js node_modules/webgpu/package.json $G/node_modules/webgpu/
if [ ! -s $G/dawn.node.xz ]; then
  if [ -s .gpu/dawn.node.xz ]; then cp .gpu/dawn.node.xz $G/; else xz -9 < node_modules/webgpu/dist/linux-x64/dawn.node > $G/dawn.node.xz; fi
fi

# the Vulkan loader and GL dispatch libraries Dawn needs (Debian amd64 packages, unpacked on the device)
if ! ls $G/libvulkan1_*.deb > /dev/null 2>&1; then
  if ls .gpu/libvulkan1_*.deb > /dev/null 2>&1; then cp .gpu/lib*.deb $G/; else
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    apt-get $o update > /dev/null
    (cd $G && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null)
  fi
fi

# the bench: model and kernel benches; the peers bench's engines (transformers.js, onnxruntime) stay out
node_modules/.bin/esbuild cli/bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:playwright-core --external:esbuild --external:onnxruntime-node \
  --external:@huggingface/transformers --external:sharp --loader:.wgsl=text --log-level=error --outfile=$G/bench.mjs
git rev-parse HEAD > $G/commit.txt 2>/dev/null || true
git status --short --untracked-files=no >> $G/commit.txt 2>/dev/null || true

cp "$FIXTURES/configs/Llama-4-Scout-17B-16E-Instruct.config.json" "$FIXTURES/configs/Llama-4-Maverick-17B-128E-Instruct.config.json" $G/configs/

ls -la $G
echo "total carried: $(du -sb $G | cut -f1) bytes ($(du -sm $G | cut -f1) MiB) + the tracked tree $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes; the limit is 64 MiB in all"
