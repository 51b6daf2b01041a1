// The flash-decoding core shared by attention_decode.wgsl (q and the keys from buffers) and
// attention_decode_prep.wgsl (q and the new token's k/v prepared in the same dispatch). The body declares the
// bindings `kCache`, `vCache` (arrays of KvVec: kv-f32.wgsl or kv-f16.wgsl, included), `out`, `part` and `xq`, includes kernels/linear/xq-block.wgsl, xq-reduce.wgsl and xq-write.wgsl, and
// defines the loaders keyAt(j, g, d) / valueAt(j, g, d) (vec4 d of kv head g at position j), newFrom() (the first key
// they take from workgroup memory that prepare() fills; keys below it are cacheKey / cacheValue) and
// prepare(h, t, split, lid) (fills qs with the query head (vec4s) and what the loaders need, then a barrier); main
// calls attendAll().
//   out[t, h, :] = Σ_j softmax_j(q[t,h]·k[j,g] · scale) · v[j, g],  g = h / (heads / kvHeads)
// over keys j in [lo(p), p], p = startPos + t (lo as in attention.wgsl: the chunk start on CHUNKED layers, else 0).
// Grid (heads, tokens, splits). The query's keys are cut into tiles of KT; split z takes the z-th of `splits` equal
// runs of whole tiles (empty when there are more splits than tiles) and walks them with an online softmax.
// In a tile: LANES = WG / KT threads per key each dot a strided quarter of the head dims (16-byte loads), the lanes'
// sums meet in workgroup memory; every thread takes the tile's max from there, KT threads the exponentials; then
// the values: KG = WG / (headDim/4) groups of threads each sum a strided share of the tile's keys into one vec4 of
// dims, merged across groups at the end. splits = 1: the result is normalised and written to `out`, and with
// XQ_OUT also to xq in the integer form that o_proj's q4 mat-vec reads (kernels/linear/quantize-x.wgsl; headDim a
// multiple of 32, so a block lies in one head), saving it a quantize_x dispatch; else the unnormalised partial
// (Σ e·v, max m, sum l) goes to part [tokens, heads, splits, headDim + 2] for attention_merge.wgsl.
// A run of ≤ 128 keys at one split can take one tile of KT = 128 (attention.ts shortRun 'tile', the default):
// half the tiles, barriers and online-softmax steps of tiles of 64. One-tile forms that held keys or values in
// registers across the prep (attendShort(), 4adec6e) measured slower on the H200 and were removed (docs/PERFORMANCE.md
// runs M and N).
override CHUNKED: u32 = 0u;
override WG: u32 = 128u; // threads; a multiple of KT, ≥ headDim / 4
override KT: u32 = 32u; // keys per tile
override XQ_OUT: u32 = 0u;
// Benchmarks only (`bench model --attn-probe N`, attention.ts attentionDecodeTuning.probe): 0 the real kernel; else a
// wrong result that tells where its time goes in a decode step: bit 1 no loads of cached values (q stands in), bit 2
// no loads of cached keys (q stands in), bit 4 (prep kernel) no QK norm (its sums of squares and their barrier), bit 8
// nothing after prepare() but q written to out (no scores, softmax, values or integer output), bit 16 no integer output
override PROBE: u32 = 0u;
const MAX_N4 = 64u; // headDim ≤ 256

var<workgroup> qs: array<vec4<f32>, MAX_N4>;
// f32 bits: the lanes' partial scores, then attend()'s exponentials of the tile (KT ≤ WG); xq_write's too (separate
// arrays would not fit the prep kernel's 16 KiB at NT = 4 and KT = 128)
var<workgroup> lanes: array<u32, WG>;
var<workgroup> sc: array<f32, KT>; // the tile's scores, written one f32 per thread (a partial vec4 write would be a
// read-modify-write of the whole vec4 on some backends, e.g. HLSL for FXC: a race between threads)
var<workgroup> accs: array<vec4<f32>, WG>;

// vec4 d of kv head g at position j in the cache ring [cacheLen, kvHeads, headDim]
fn cacheKey(j: u32, g: u32, d: u32) -> vec4<f32> {
  if ((PROBE & 2u) != 0u) { return qs[d]; }
  return kv_vec(kCache[((j % P.cacheLen) * P.kvHeads + g) * (P.headDim / 4u) + d]);
}

fn cacheValue(j: u32, g: u32, d: u32) -> vec4<f32> {
  if ((PROBE & 1u) != 0u) { return qs[d]; }
  return kv_vec(vCache[((j % P.cacheLen) * P.kvHeads + g) * (P.headDim / 4u) + d]);
}

/** The first and last key of split `split` of the query at pos (first > last: an empty run). */
fn splitRun(pos: u32, split: u32) -> vec2<u32> {
  var lo = 0u;
  if (CHUNKED == 1u) { lo = (pos / P.chunk) * P.chunk; }
  let tiles = (pos - lo) / KT + 1u;
  let per = (tiles + P.splits - 1u) / P.splits;
  let first = lo + split * per * KT; // past pos when this run is empty
  return vec2<u32>(first, min(pos, first + per * KT - 1u));
}

/** scores 4i..4i+3 of the tile */
fn sc4(i: u32) -> vec4<f32> {
  return vec4<f32>(sc[4u * i], sc[4u * i + 1u], sc[4u * i + 2u], sc[4u * i + 3u]);
}

fn attend(h: u32, t: u32, split: u32, lid: u32) {
  let n4 = P.headDim / 4u;
  let g = h / (P.heads / P.kvHeads);
  let run = splitRun(P.startPos + t, split);
  let first = run.x;
  let last = run.y;
  let qBase = (t * P.heads + h) * n4;

  let LANES = WG / KT;
  let key = lid / LANES; // scoring: this thread's key in the tile
  let lane = lid % LANES;
  let kg = WG / n4; // value groups
  let dl = lid % n4; // values: this thread's vec4 of dims
  let grp = lid / n4; // and its group (≥ kg: idle)
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var start = first; start <= last; start += KT) {
    let j = start + key;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    if (j <= last) {
      var d = lane;
      if (j < newFrom()) {
        // a key in the cache: its dims in runs of 8 loads issued before their FMAs (a 128-dim head, one lane: 4 trips
        // to memory, not 16; the sums are added in the same order as below)
        for (; d + 7u * LANES < n4; d += 8u * LANES) {
          let k0 = cacheKey(j, g, d);
          let k1 = cacheKey(j, g, d + LANES);
          let k2 = cacheKey(j, g, d + 2u * LANES);
          let k3 = cacheKey(j, g, d + 3u * LANES);
          let k4 = cacheKey(j, g, d + 4u * LANES);
          let k5 = cacheKey(j, g, d + 5u * LANES);
          let k6 = cacheKey(j, g, d + 6u * LANES);
          let k7 = cacheKey(j, g, d + 7u * LANES);
          s0 += qs[d] * k0;
          s1 += qs[d + LANES] * k1;
          s0 += qs[d + 2u * LANES] * k2;
          s1 += qs[d + 3u * LANES] * k3;
          s0 += qs[d + 4u * LANES] * k4;
          s1 += qs[d + 5u * LANES] * k5;
          s0 += qs[d + 6u * LANES] * k6;
          s1 += qs[d + 7u * LANES] * k7;
        }
      }
      for (; d + LANES < n4; d += 2u * LANES) {
        s0 += qs[d] * keyAt(j, g, d);
        s1 += qs[d + LANES] * keyAt(j, g, d + LANES);
      }
      if (d < n4) { s0 += qs[d] * keyAt(j, g, d); }
    }
    let sv = s0 + s1;
    lanes[lid] = bitcast<u32>((sv.x + sv.y) + (sv.z + sv.w));
    workgroupBarrier();
    if (lid < KT) {
      var s = -3.0e38;
      if (start + lid <= last) {
        s = 0.0;
        for (var i = 0u; i < LANES; i++) { s += bitcast<f32>(lanes[lid * LANES + i]); }
        s *= P.scale;
      }
      sc[lid] = s;
    }
    workgroupBarrier();
    var t4 = sc4(0u); // keys past the run hold −3e38
    for (var i = 1u; i < KT / 4u; i++) { t4 = max(t4, sc4(i)); }
    let tmax = max(max(t4.x, t4.y), max(t4.z, t4.w));
    let mNew = max(m, tmax);
    let correction = exp(m - mNew);
    if (lid < KT) { lanes[lid] = bitcast<u32>(select(0.0, exp(sc[lid] - mNew), start + lid <= last)); }
    workgroupBarrier();
    if (lid == 0u) {
      var sum = 0.0;
      for (var i = 0u; i < KT; i++) { sum += bitcast<f32>(lanes[i]); }
      l = l * correction + sum;
    }
    m = mNew;
    if (grp < kg) {
      let count = min(KT, last + 1u - start);
      var a0 = vec4<f32>(0.0);
      var a1 = vec4<f32>(0.0);
      var jj = grp;
      // the tile's keys in the cache (the rest: the call's new keys), in runs of 8 loads as the scores
      let cached = min(count, select(0u, newFrom() - start, newFrom() > start));
      for (; jj + 7u * kg < cached; jj += 8u * kg) {
        let v0 = cacheValue(start + jj, g, dl);
        let v1 = cacheValue(start + jj + kg, g, dl);
        let v2 = cacheValue(start + jj + 2u * kg, g, dl);
        let v3 = cacheValue(start + jj + 3u * kg, g, dl);
        let v4 = cacheValue(start + jj + 4u * kg, g, dl);
        let v5 = cacheValue(start + jj + 5u * kg, g, dl);
        let v6 = cacheValue(start + jj + 6u * kg, g, dl);
        let v7 = cacheValue(start + jj + 7u * kg, g, dl);
        a0 += bitcast<f32>(lanes[jj]) * v0;
        a1 += bitcast<f32>(lanes[jj + kg]) * v1;
        a0 += bitcast<f32>(lanes[jj + 2u * kg]) * v2;
        a1 += bitcast<f32>(lanes[jj + 3u * kg]) * v3;
        a0 += bitcast<f32>(lanes[jj + 4u * kg]) * v4;
        a1 += bitcast<f32>(lanes[jj + 5u * kg]) * v5;
        a0 += bitcast<f32>(lanes[jj + 6u * kg]) * v6;
        a1 += bitcast<f32>(lanes[jj + 7u * kg]) * v7;
      }
      for (; jj + kg < count; jj += 2u * kg) {
        a0 += bitcast<f32>(lanes[jj]) * valueAt(start + jj, g, dl);
        a1 += bitcast<f32>(lanes[jj + kg]) * valueAt(start + jj + kg, g, dl);
      }
      if (jj < count) { a0 += bitcast<f32>(lanes[jj]) * valueAt(start + jj, g, dl); }
      acc = acc * correction + (a0 + a1);
    }
    workgroupBarrier(); // sc and lanes are reused by the next tile
  }
  accs[lid] = acc;
  if (lid == 0u) { lanes[0] = bitcast<u32>(l); } // l is thread 0's
  workgroupBarrier();
  let total = bitcast<f32>(lanes[0]);
  let pBase = ((t * P.heads + h) * P.splits + split) * (P.headDim + 2u);
  var o = vec4<f32>(0.0);
  if (lid < n4) {
    var a = accs[lid];
    for (var i = 1u; i < kg; i++) { a += accs[i * n4 + lid]; }
    if (P.splits == 1u) {
      o = a / total;
      out[qBase + lid] = o;
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
  if (XQ_OUT == 1u && P.splits == 1u && (PROBE & 16u) == 0u) {
    workgroupBarrier(); // every thread has read lanes[0]
    xq_write((qBase + lid) / 8u, lid, o, lid < n4);
  }
}

fn attendAll(h: u32, t: u32, split: u32, lid: u32) {
  prepare(h, t, split, lid);
  if ((PROBE & 8u) != 0u) {
    let n4 = P.headDim / 4u;
    if (lid < n4) { out[(t * P.heads + h) * n4 + lid] = qs[lid]; }
    return;
  }
  attend(h, t, split, lid);
}
