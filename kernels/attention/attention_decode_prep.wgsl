// Decode attention with the layer's q/k preparation folded in (kernels/qk-prep's work, no dispatch of its own): each
// workgroup (head h, query t, split) reads its q head and the new tokens' k/v heads of its kv head g straight from
// the fused Q/K/V projection, prepares them as qk-prep.wgsl does (RoPE layers: rotated, then RMS-normed without
// weight when QK_NORM; NoPE layers with TEMPERATURE: q scaled by temp[t]; v as is), and runs the flash-decoding core
// (attention_decode_core.wgsl) on keys j < startPos from the cache and the new keys j ≥ startPos from workgroup
// memory. The new tokens' k/v go into the cache ring (slot (startPos + t) % cacheLen) from exactly one workgroup per
// (kv head, token): the one of the group's first q head and split 0; no workgroup of this dispatch reads those slots
// (a call stays inside one attention chunk: its keys' slots are all different), later dispatches do.
// The prep is prepare(), which the core calls.
// QK norm: a head's sums of squares go to workgroup memory and every thread that scales a piece of that head adds
// them up itself, all in the same order (2 barriers; the tree it replaced took 8).
// Bindings: qkv [NT, (heads + 2·kvHeads)·headDim]; cs [NT, headDim/2] (cos, sin) pairs; temp [NT]; kCache, vCache
// [cacheLen, kvHeads, headDim]; out [NT, heads, headDim]; part (splits > 1); xq (XQ_OUT).
override ROPE: u32 = 1u;
override QK_NORM: u32 = 1u;
override TEMPERATURE: u32 = 0u;
override NT: u32 = 1u; // tokens of the call (the grid's y)

@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cs: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> temp: array<f32>;
@group(0) @binding(4) var<storage, read_write> kCache: array<KvVec>;
@group(0) @binding(5) var<storage, read_write> vCache: array<KvVec>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read_write> xq: array<u32>;

var<workgroup> newK: array<vec4<f32>, NT * MAX_N4>;
var<workgroup> newV: array<vec4<f32>, NT * MAX_N4>;
// sums of squares: segments of MAX_N4 for the new keys (one per token), then one for q
var<workgroup> squares: array<f32, (NT + 1u) * MAX_N4>; // one f32 per thread write (see sc in the core)

fn keyAt(j: u32, g: u32, d: u32) -> vec4<f32> {
  if (j < P.startPos) { return cacheKey(j, g, d); }
  return kv_round(newK[(j - P.startPos) * MAX_N4 + d]); // as the cache will hold it
}

fn valueAt(j: u32, g: u32, d: u32) -> vec4<f32> {
  if (j < P.startPos) { return cacheValue(j, g, d); }
  return kv_round(newV[(j - P.startPos) * MAX_N4 + d]);
}

// dims 4d..4d+3 of the head at vec4 `src` of qkv, of token t: two pairs, rotated on RoPE layers
fn headVec(src: u32, t: u32, d: u32) -> vec4<f32> {
  let x = qkv[src + d];
  if (ROPE == 1u) {
    let c = cs[t * (P.headDim / 4u) + d]; // (cos, sin) of pair 2d, then of pair 2d + 1
    return vec4<f32>(x.x * c.x - x.y * c.y, x.x * c.y + x.y * c.x, x.z * c.z - x.w * c.w, x.z * c.w + x.w * c.z);
  }
  return x;
}

// keys from startPos on are the call's new ones, in newK / newV
fn newFrom() -> u32 { return P.startPos; }

// q into qs, the new tokens' k/v into newK / newV (prepared), and into the cache ring by the writers
fn prepare(h: u32, t: u32, split: u32, lid: u32) {
  let n4 = P.headDim / 4u;
  let g = h / (P.heads / P.kvHeads);
  let row = (P.heads + 2u * P.kvHeads) * n4; // vec4s per token of qkv
  let run = splitRun(P.startPos + t, split);
  let writer = h % (P.heads / P.kvHeads) == 0u && split == 0u;
  // the new keys are needed by a run that reaches them, and by the writers
  var firstSeg = NT;
  if (writer || run.y >= P.startPos) { firstSeg = 0u; }
  let norm = ROPE == 1u && QK_NORM == 1u && (PROBE & 4u) == 0u;
  for (var i = firstSeg * MAX_N4 + lid; i < (NT + 1u) * MAX_N4; i += WG) {
    let s = i / MAX_N4;
    let d = i % MAX_N4;
    var x = vec4<f32>(0.0);
    if (d < n4) {
      if (s < NT) {
        x = headVec(s * row + (P.heads + g) * n4, s, d);
        newK[i] = x;
        newV[i] = qkv[s * row + (P.heads + P.kvHeads + g) * n4 + d];
      } else {
        x = headVec(t * row + h * n4, t, d);
        if (ROPE == 0u && TEMPERATURE == 1u) { x *= temp[t]; }
        qs[d] = x;
      }
    }
    if (norm) { squares[i] = dot(x, x); } // 0 past the head
  }
  workgroupBarrier();
  if (norm) {
    // every thread sums its segment's squares itself, in the same order (no tree of barriers)
    for (var i = firstSeg * MAX_N4 + lid; i < (NT + 1u) * MAX_N4; i += WG) {
      let s = i / MAX_N4;
      let d = i % MAX_N4;
      if (d < n4) {
        let o = s * MAX_N4;
        var q4 = vec4<f32>(squares[o], squares[o + 1u], squares[o + 2u], squares[o + 3u]);
        for (var k = 4u; k < MAX_N4; k += 4u) { q4 += vec4<f32>(squares[o + k], squares[o + k + 1u], squares[o + k + 2u], squares[o + k + 3u]); }
        let r = inverseSqrt(((q4.x + q4.y) + (q4.z + q4.w)) / f32(P.headDim) + P.eps);
        if (s < NT) { newK[i] *= r; } else { qs[d] *= r; }
      }
    }
    workgroupBarrier();
  }
  if (writer) {
    let dst = (((P.startPos + t) % P.cacheLen) * P.kvHeads + g) * n4;
    for (var d = lid; d < n4; d += WG) {
      kCache[dst + d] = kv_pack(newK[t * MAX_N4 + d]);
      vCache[dst + d] = kv_pack(newV[t * MAX_N4 + d]);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  attendAll(wg.x, wg.y, wg.z, lid);
}
