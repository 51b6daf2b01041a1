// Causal GQA attention over the KV cache, for prefill (many queries) and decode (one):
//   out[t, h, :] = Σ_j softmax_j(q[t,h]·k[j,g] / √headDim) · v[j, g],  g = h / (heads / kvHeads)
// over key positions j in [lo(p), p], p = startPos + t: lo = floor(p / chunk)·chunk on chunked-attention (RoPE)
// layers (CHUNKED = 1; absolute chunks, not a sliding window), 0 on full-attention (NoPE) layers.
// BIDIRECTIONAL = 1 (vision encoder): every query sees keys 0..cacheLen−1. Key j lives in cache slot j % cacheLen. Online softmax over tiles of 64 keys (f32).
// Threads: one workgroup of TILE (64 on GPUs, 8 on CPU adapters) per (query token, head); grid (heads, tokens).
// SPLIT > 1 (flash-decoding, long KV): grid (heads, tokens, SPLIT), workgroup z takes the z-th of SPLIT equal runs of
// the query's keys (whole tiles) and writes its unnormalised partial (max m, sum l, Σ e·v) to `part`
// [tokens, heads, SPLIT, headDim + 2]; attention_combine.wgsl merges the runs.
// Bindings: q [tokens, heads, headDim]; k, v caches [cacheLen, kvHeads, headDim]; out [tokens, heads, headDim]; part.
override CHUNKED: u32 = 0u;
override BIDIRECTIONAL: u32 = 0u;
override TILE: u32 = 64u; // a power of two; headDim ≤ 16·TILE
override SPLIT: u32 = 1u;
const MAX_HEAD_DIM = 256u;

@group(0) @binding(1) var<storage, read> q: array<f32>;
// the caches' element form: kv-f32.wgsl or kv-f16.wgsl, included (kv-kernels.ts kvFormatKernel)
@group(0) @binding(2) var<storage, read> kCache: array<KvVec>; // headDim is a multiple of 4
@group(0) @binding(3) var<storage, read> vCache: array<KvWord>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

var<workgroup> qs: array<vec4<f32>, MAX_HEAD_DIM / 4u>;
var<workgroup> p: array<f32, TILE>;
var<workgroup> red: array<f32, TILE>;

// element i of the value cache
fn cacheValueAt(i: u32) -> f32 { return kv_elem(vCache[i / KV_PER_WORD], i); }

@compute @workgroup_size(TILE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let split = wg.z;
  let h = wg.x;
  let t = wg.y;
  let hd = P.headDim;
  let g = h / (P.heads / P.kvHeads);
  let pos = P.startPos + t;
  var lo = 0u;
  if (CHUNKED == 1u) { lo = (pos / P.chunk) * P.chunk; }
  var last = select(pos, P.cacheLen - 1u, BIDIRECTIONAL == 1u);
  if (SPLIT > 1u) {
    // this workgroup's run of keys: whole tiles, the runs of all workgroups covering lo..last
    let tiles = (last - lo) / TILE + 1u;
    let per = (tiles + SPLIT - 1u) / SPLIT;
    let first = lo + split * per * TILE;
    last = min(last, first + per * TILE - 1u);
    lo = first; // past `last` when this run is empty: the loop below does nothing
  }
  let qBase = (t * P.heads + h) * hd;
  for (var d = lid; d < hd / 4u; d += TILE) { qs[d] = vec4<f32>(q[qBase + 4u * d], q[qBase + 4u * d + 1u], q[qBase + 4u * d + 2u], q[qBase + 4u * d + 3u]); }
  workgroupBarrier();

  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, 16>; // dims lid, lid + TILE, …
  let kvStride = P.kvHeads * hd;
  for (var start = lo; start <= last; start += TILE) {
    let j = start + lid;
    var s = -3.0e38;
    if (j <= last) {
      // 16-byte loads in two independent chains
      let kBase = ((j % P.cacheLen) * kvStride + g * hd) / 4u;
      var d0 = vec4<f32>(0.0);
      var d1 = vec4<f32>(0.0);
      let n4 = hd / 4u;
      for (var d = 0u; d + 1u < n4; d += 2u) {
        d0 += qs[d] * kv_vec(kCache[kBase + d]);
        d1 += qs[d + 1u] * kv_vec(kCache[kBase + d + 1u]);
      }
      if ((n4 & 1u) == 1u) { d0 += qs[n4 - 1u] * kv_vec(kCache[kBase + n4 - 1u]); }
      let dv = d0 + d1;
      s = ((dv.x + dv.y) + (dv.z + dv.w)) * P.scale;
    }
    red[lid] = s;
    workgroupBarrier();
    for (var stride = TILE / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
      workgroupBarrier();
    }
    let mNew = max(m, red[0]);
    workgroupBarrier();
    var e = 0.0;
    if (j <= last) { e = exp(s - mNew); }
    p[lid] = e;
    red[lid] = e;
    workgroupBarrier();
    for (var stride = TILE / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) { red[lid] += red[lid + stride]; }
      workgroupBarrier();
    }
    let correction = exp(m - mNew);
    l = l * correction + red[0];
    m = mNew;
    let count = min(TILE, last + 1u - start);
    for (var c = 0u; c < 16u; c++) {
      let d = lid + c * TILE;
      if (d < hd) {
        // four keys at a time in independent chains, so their loads are in flight together
        var a0 = 0.0;
        var a1 = 0.0;
        var a2 = 0.0;
        var a3 = 0.0;
        var jj = 0u;
        for (; jj + 3u < count; jj += 4u) {
          a0 += p[jj] * cacheValueAt(((start + jj) % P.cacheLen) * kvStride + g * hd + d);
          a1 += p[jj + 1u] * cacheValueAt(((start + jj + 1u) % P.cacheLen) * kvStride + g * hd + d);
          a2 += p[jj + 2u] * cacheValueAt(((start + jj + 2u) % P.cacheLen) * kvStride + g * hd + d);
          a3 += p[jj + 3u] * cacheValueAt(((start + jj + 3u) % P.cacheLen) * kvStride + g * hd + d);
        }
        for (; jj < count; jj++) { a0 += p[jj] * cacheValueAt(((start + jj) % P.cacheLen) * kvStride + g * hd + d); }
        acc[c] = acc[c] * correction + ((a0 + a1) + (a2 + a3));
      }
    }
    workgroupBarrier();
  }
  if (SPLIT > 1u) {
    let pBase = ((t * P.heads + h) * SPLIT + split) * (hd + 2u);
    for (var c = 0u; c < 16u; c++) {
      let d = lid + c * TILE;
      if (d < hd) { part[pBase + d] = acc[c]; }
    }
    if (lid == 0u) {
      part[pBase + hd] = m;
      part[pBase + hd + 1u] = l;
    }
    return;
  }
  for (var c = 0u; c < 16u; c++) {
    let d = lid + c * TILE;
    if (d < hd) { out[qBase + d] = acc[c] / l; }
  }
}
