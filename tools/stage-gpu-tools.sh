# Sourced by the staging scripts (stage-peers-device.sh, stage-model-device.sh, stage-scout-parity-device.sh), run
# from the repository root. stage_gpu_tools DIR fills DIR with what every device run unpacks (device-steps.sh
# unpack_gpu_tools): Node (stripped of its symbols, 99 → 86 MB, and xz: with the tracked tree the carry stays under
# 64 MiB), Dawn for the `webgpu` package (xz) and its JS, and the Vulkan loader and GL dispatch libraries Dawn needs
# (Debian amd64 packages). Each is copied from another staging folder that has it already, else made.
STAGING_DIRS=".gpu .gpu-model .gpu-parity"

# copy_staged DIR PATTERN: copies the files matching PATTERN from the first other staging folder that has them
copy_staged() {
  local d
  for d in $STAGING_DIRS; do
    [ "$d" = "$1" ] && continue
    # shellcheck disable=SC2086 # PATTERN is a glob
    if ls $d/$2 > /dev/null 2>&1; then cp $d/$2 "$1/"; return 0; fi
  done
  return 1
}

stage_gpu_tools() {
  local G=$1
  mkdir -p "$G/node_modules/webgpu"
  # what a device run (or a local try of it) unpacked: never carried
  rm -rf "$G/node_modules/webgpu/dist"
  if [ ! -s "$G/node.xz" ] && ! copy_staged "$G" node.xz; then
    strip -o "$G/node.tmp" "$(readlink -f "$(command -v node)")" && xz -9 -T2 < "$G/node.tmp" > "$G/node.xz" && rm "$G/node.tmp"
  fi
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$G/node_modules/webgpu/"
  if [ ! -s "$G/dawn.node.xz" ] && ! copy_staged "$G" dawn.node.xz; then
    xz -9 < node_modules/webgpu/dist/linux-x64/dawn.node > "$G/dawn.node.xz"
  fi
  if ! ls "$G"/libvulkan1_*.deb > /dev/null 2>&1 && ! copy_staged "$G" 'lib*_amd64.deb'; then
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    # shellcheck disable=SC2086 # $o: several options
    apt-get $o update > /dev/null
    # shellcheck disable=SC2086
    (cd "$G" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null)
  fi
}

# bundle_cli ENTRY OUT: a CLI (cli/verify.ts, cli/eval.ts) as one esbuild bundle for Node 20, WGSL and transformers.js
# (the tokenizer) inlined, `sharp` replaced by the peers bench's stub (no image goes through it); only `webgpu` stays
# outside (and onnxruntime-node: stage_onnxruntime_stub)
bundle_cli() {
  node_modules/.bin/esbuild "$1" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --alias:sharp=./tools/peers/sharp-stub.mjs --loader:.wgsl=text --minify-whitespace --minify-syntax \
    --log-level=error --outfile="$2"
}

# stage_onnxruntime_stub DIR: a stand-in onnxruntime-node package. transformers.js (inlined in a bundle) requires it
# when it loads; bundles that use only its tokenizer carry this instead of the 44 MB runtime.
stage_onnxruntime_stub() {
  mkdir -p "$1"/node_modules/onnxruntime-node
  echo '{"name":"onnxruntime-node","version":"0.0.0-stub","main":"index.js"}' > "$1"/node_modules/onnxruntime-node/package.json
  cat > "$1"/node_modules/onnxruntime-node/index.js <<'STUB'
// stub (tools/stage-gpu-tools.sh): transformers.js requires onnxruntime-node when it loads; the bundles carried
// without it (verify, the model bench) only use its tokenizer
const no = () => { throw new Error('onnxruntime-node is not carried to the device (this bundle uses only the tokenizer)'); };
module.exports = { env: {}, InferenceSession: { create: no }, Tensor: class Tensor { constructor() { no(); } } };
STUB
}
