// Decode attention (a few queries, GPU variant) over q and the KV cache: every query head is spread over `splits`
// workgroups at any context length (flash-decoding, attention_decode_core.wgsl), so 40 heads × ~100 keys use ~160
// workgroups instead of 40. Bindings: q [tokens, heads, headDim]; k, v caches [cacheLen, kvHeads, headDim] (key j in
// slot j % cacheLen); out [tokens, heads, headDim]; part (splits > 1); xq (XQ_OUT).
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kCache: array<KvVec>;
@group(0) @binding(3) var<storage, read> vCache: array<KvVec>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<storage, read_write> xq: array<u32>;

fn keyAt(j: u32, g: u32, d: u32) -> vec4<f32> { return cacheKey(j, g, d); }

fn valueAt(j: u32, g: u32, d: u32) -> vec4<f32> { return cacheValue(j, g, d); }

// every key is in the cache buffers
fn newFrom() -> u32 { return 0xffffffffu; }

fn prepare(h: u32, t: u32, split: u32, lid: u32) {
  let n4 = P.headDim / 4u;
  let qBase = (t * P.heads + h) * n4;
  for (var d = lid; d < n4; d += WG) { qs[d] = q[qBase + d]; }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  attendAll(wg.x, wg.y, wg.z, lid);
}
