// Everything between the fused Q/K/V projection and the attention of one layer, in one dispatch:
//   RoPE layers (ROPE = 1): q and k heads rotated (interleaved pairs, rope.wgsl), then, with QK_NORM = 1, each head
//     vector RMS-normed without weight (HF's Llama4TextL2Norm);
//   NoPE layers with TEMPERATURE = 1: q scaled by the position's attention temperature (temperature.wgsl);
//   then k and v of each token written into the layer's cache ring at slot (startPos + t) % cacheLen (kv-write.wgsl).
// Threads: one workgroup of WG per (head slot, token); head slots 0..heads−1 are q heads (into q), heads.. are the
// kv heads (k rotated/normed into the cache, v copied). Each thread owns pairs i = lid, lid + WG, … of the head
// (rotated twice: once for the sum of squares, once to write). WG: 64 on GPUs, 1 on CPU adapters.
// Bindings: qkv [tokens, (heads + 2·kvHeads)·headDim] (q heads, k heads, v heads of a token); q out [tokens, heads,
// headDim]; cs [tokens, headDim/2] vec2 (cos, sin); temp [tokens]; kCache, vCache [cacheLen, kvHeads, headDim].
override ROPE: u32 = 1u;
override QK_NORM: u32 = 1u;
override TEMPERATURE: u32 = 0u;
override WG: u32 = 64u; // a power of two ≤ 256

@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> temp: array<f32>;
// the caches by pairs of elements: KvPair of kv-f32.wgsl or kv-f16.wgsl, included (kv-kernels.ts kvFormatKernel)
@group(0) @binding(5) var<storage, read_write> kCache: array<KvPair>;
@group(0) @binding(6) var<storage, read_write> vCache: array<KvPair>;

var<workgroup> partial: array<f32, 256>;

// pair i of the head at `src` of qkv (q or k), rotated on RoPE layers
fn pair(src: u32, t: u32, i: u32) -> vec2<f32> {
  let a = qkv[src + 2u * i];
  let b = qkv[src + 2u * i + 1u];
  if (ROPE == 1u) {
    let c = cs[t * (P.headDim / 2u) + i];
    return vec2<f32>(a * c.x - b * c.y, a * c.y + b * c.x);
  }
  return vec2<f32>(a, b);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slotHead = wg.x;
  let t = wg.y;
  let hd = P.headDim;
  let half = hd / 2u;
  let isQ = slotHead < P.heads;
  let kvh = slotHead - P.heads;
  // a token's row of qkv: heads q heads, kvHeads k heads, kvHeads v heads
  let row = t * (P.heads + 2u * P.kvHeads) * hd;
  let src = row + slotHead * hd; // q head, or k head kvh
  let vSrc = row + (P.heads + P.kvHeads + kvh) * hd;
  let qDst = (t * P.heads + slotHead) * hd;
  var r = 1.0;
  if (ROPE == 1u && QK_NORM == 1u) {
    var ss = 0.0;
    for (var i = lid; i < half; i += WG) {
      let p = pair(src, t, i);
      ss += p.x * p.x + p.y * p.y;
    }
    partial[lid] = ss;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { partial[lid] += partial[lid + stride]; }
      workgroupBarrier();
    }
    r = inverseSqrt(partial[0] / f32(hd) + P.eps);
  }
  if (isQ && ROPE == 0u && TEMPERATURE == 1u) { r = temp[t]; }
  let dst = (((P.startPos + t) % P.cacheLen) * P.kvHeads + kvh) * hd;
  for (var i = lid; i < half; i += WG) {
    let p = pair(src, t, i) * r;
    if (isQ) {
      q[qDst + 2u * i] = p.x;
      q[qDst + 2u * i + 1u] = p.y;
    } else {
      kCache[dst / 2u + i] = kv_pair(p); // headDim is even
      vCache[dst / 2u + i] = kv_pair(vec2<f32>(qkv[vSrc + 2u * i], qkv[vSrc + 2u * i + 1u]));
    }
  }
}
