// Decode attention (a few queries, GPU variant): every query head is spread over `splits` workgroups at any
// context length (flash-decoding), so 40 heads × ~100 keys use ~160 workgroups instead of 40.
//   out[t, h, :] = Σ_j softmax_j(q[t,h]·k[j,g] · scale) · v[j, g],  g = h / (heads / kvHeads)
// over keys j in [lo(p), p], p = startPos + t (lo as in attention.wgsl: the chunk start on CHUNKED layers, else 0).
// Grid (heads, tokens, splits). The query's keys are cut into tiles of KT; split z takes the z-th of `splits` equal
// runs of whole tiles (empty when there are more splits than tiles) and walks them with an online softmax.
// In a tile: LANES = WG / KT threads per key each dot a strided quarter of the head dims (16-byte loads), the lanes'
// sums meet in workgroup memory; every thread takes the tile's max from there, KT threads the exponentials; then
// the values: KG = WG / (headDim/4) groups of threads each sum a strided share of the tile's keys into one vec4 of
// dims, merged across groups at the end. splits = 1: the result is normalised and written to `out`; else the
// unnormalised partial (Σ e·v, max m, sum l) goes to part [tokens, heads, splits, headDim + 2] for
// attention_merge.wgsl. Bindings: q [tokens, heads, headDim]; k, v caches [cacheLen, kvHeads, headDim]
// (key j in slot j % cacheLen); out [tokens, heads, headDim]; part.
override CHUNKED: u32 = 0u;
override WG: u32 = 128u; // threads; a multiple of KT, ≥ headDim / 4
override KT: u32 = 32u; // keys per tile
const MAX_N4 = 64u; // headDim ≤ 256

@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vCache: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

var<workgroup> qs: array<vec4<f32>, MAX_N4>;
var<workgroup> lanes: array<f32, WG>;
var<workgroup> sc: array<f32, KT>;
var<workgroup> p: array<f32, KT>;
var<workgroup> accs: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  let split = wg.z;
  let n4 = P.headDim / 4u;
  let g = h / (P.heads / P.kvHeads);
  let pos = P.startPos + t;
  var lo = 0u;
  if (CHUNKED == 1u) { lo = (pos / P.chunk) * P.chunk; }
  let tiles = (pos - lo) / KT + 1u;
  let per = (tiles + P.splits - 1u) / P.splits;
  let first = lo + split * per * KT; // past pos when this run is empty
  let last = min(pos, first + per * KT - 1u);

  let qBase = (t * P.heads + h) * n4;
  for (var d = lid; d < n4; d += WG) { qs[d] = q[qBase + d]; }
  workgroupBarrier();

  let LANES = WG / KT;
  let key = lid / LANES; // scoring: this thread's key in the tile
  let lane = lid % LANES;
  let kg = WG / n4; // value groups
  let dl = lid % n4; // values: this thread's vec4 of dims
  let grp = lid / n4; // and its group (≥ kg: idle)
  let kvStride = P.kvHeads * n4; // vec4s per cache slot
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var start = first; start <= last; start += KT) {
    let j = start + key;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    if (j <= last) {
      let kBase = (j % P.cacheLen) * kvStride + g * n4;
      var d = lane;
      for (; d + LANES < n4; d += 2u * LANES) {
        s0 += qs[d] * kCache[kBase + d];
        s1 += qs[d + LANES] * kCache[kBase + d + LANES];
      }
      if (d < n4) { s0 += qs[d] * kCache[kBase + d]; }
    }
    let sv = s0 + s1;
    lanes[lid] = (sv.x + sv.y) + (sv.z + sv.w);
    workgroupBarrier();
    if (lid < KT) {
      var s = -3.0e38;
      if (start + lid <= last) {
        s = 0.0;
        for (var i = 0u; i < LANES; i++) { s += lanes[lid * LANES + i]; }
        s *= P.scale;
      }
      sc[lid] = s;
    }
    workgroupBarrier();
    var tmax = sc[0];
    for (var i = 1u; i < KT; i++) { tmax = max(tmax, sc[i]); }
    let mNew = max(m, tmax);
    let correction = exp(m - mNew);
    if (lid < KT) { p[lid] = select(0.0, exp(sc[lid] - mNew), start + lid <= last); }
    workgroupBarrier();
    if (lid == 0u) {
      var sum = 0.0;
      for (var i = 0u; i < KT; i++) { sum += p[i]; }
      l = l * correction + sum;
    }
    m = mNew;
    if (grp < kg) {
      let count = min(KT, last + 1u - start);
      var a0 = vec4<f32>(0.0);
      var a1 = vec4<f32>(0.0);
      var jj = grp;
      for (; jj + kg < count; jj += 2u * kg) {
        a0 += p[jj] * vCache[((start + jj) % P.cacheLen) * kvStride + g * n4 + dl];
        a1 += p[jj + kg] * vCache[((start + jj + kg) % P.cacheLen) * kvStride + g * n4 + dl];
      }
      if (jj < count) { a0 += p[jj] * vCache[((start + jj) % P.cacheLen) * kvStride + g * n4 + dl]; }
      acc = acc * correction + (a0 + a1);
    }
    workgroupBarrier(); // sc, p and lanes are reused by the next tile
  }
  accs[lid] = acc;
  if (lid == 0u) { lanes[0] = l; } // l is thread 0's
  workgroupBarrier();
  let pBase = ((t * P.heads + h) * P.splits + split) * (P.headDim + 2u);
  if (lid < n4) {
    var a = accs[lid];
    for (var i = 1u; i < kg; i++) { a += accs[i * n4 + lid]; }
    if (P.splits == 1u) {
      out[qBase + lid] = a / lanes[0];
    } else {
      part[pBase + 4u * lid] = a.x;
      part[pBase + 4u * lid + 1u] = a.y;
      part[pBase + 4u * lid + 2u] = a.z;
      part[pBase + 4u * lid + 3u] = a.w;
    }
  }
  if (P.splits > 1u && lid == 0u) {
    part[pBase + P.headDim] = m;
    part[pBase + P.headDim + 1u] = l;
  }
}
