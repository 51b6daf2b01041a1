// Appends keys or values of new tokens to a layer's cache: cache[(startPos + t) % cacheLen, :] = src[t, :].
// RoPE (chunked-attention) layers use cacheLen = chunk size, a ring that only ever holds the current chunk;
// NoPE layers use the full context length. Threads: one per element. Bindings: src [tokens, width]; cache [cacheLen, width].
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.tokens * P.width) { return; }
  let t = idx / P.width;
  let slot = (P.startPos + t) % P.cacheLen;
  cache[slot * P.width + idx % P.width] = src[idx];
}
