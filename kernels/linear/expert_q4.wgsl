// The expert MLP of a few tokens (decode) in two mat-vec dispatches instead of six: routed experts and the shared
// expert together, SwiGLU in the gate+up epilogue. Same mat-vec as linear_q4.wgsl (DECODE = 1; helpers in
// q4-matvec.wgsl, matvec-reduce*.wgsl: expert_q4_subgroups reduces by shuffles): one item per grid row, RW = R·WG/CT rows per workgroup.
// Routed items n < P.routed (= tokens·k) read their expert's rows from slot ids[n] of the pool segment bound here;
// an item whose slot lies outside [expertBase, expertBase + expertCount) (another segment, or 0xffffffff: not in this
// round of a pager) is left out, so every item is computed exactly once over a layer's rounds and segments.
//
// MODE = 0, gate+up and SwiGLU (rows = 2F: gate rows, then up rows; cols = hidden): a workgroup computes RW/2 gate
//   rows i and the RW/2 up rows F + i of the same i (its first RW/2 rows are gate rows, the rest up rows), then
//   y[n, i] = silu(g_i) · u_i with swiglu.wgsl's formula, where
//   item n < routed:  g|u = Σ_j Wr[slot, ·, j] · x[n / k, j] · scores[n]   (aux = scores)
//   item n ≥ routed:  g|u = Σ_j Ws[·, j] · x[n − routed, j]               (the shared expert, or a dense MLP)
//   Grid (ceil(F / (RW/2)), items); y [items, F].
// MODE = 1, down (rows = hidden, cols = F); x holds the activations MODE 0 wrote (routed items, then one shared row
//   per token):
//   item n < routed, token t = n / k, j = n % k:
//     z = Σ_i Wr[slot, r, i] · x[n, i]  (+ Σ_i Ws[r, i] · x[routed + t, i] when withShared and j = 0, the two as
//         one reduction over the concatenated inputs)
//     j = 0: y[t, r] = z (the block output: the shared expert and the first routed expert); j ≥ 1: aux[t·(k−1) + j − 1, r] = z
//   item n ≥ routed (a dense MLP's down, routed = 0): y[n − routed, r] = Σ_i Ws[r, i] · x[n, i]
//   Grid (ceil(rows / RW), items).
// Bindings: qs, sc: the routed pool segment; qs2, sc2: the shared expert (or dense) weight; x; y; ids [routed] u32
// (ROUTE > 0: the router logits, expert-route.wgsl: the kernel picks each token's expert); aux: scores (MODE 0) or
// the routed rows j ≥ 1 (MODE 1).
override MODE: u32 = 0u;
override SCALE_X: u32 = 1u;
override WG: u32 = 128u;
override CT: u32 = 64u; // column threads per row group (divides WG)
override R: u32 = 8u;   // rows per thread, 1..8
// 1: x comes in integer form (quantize-x.wgsl, 7 vec4 per block of 32) and each block is three 4×8-bit dot products
// per 4 weights (block_dot_q in q4-matvec.wgsl)
override XQ: u32 = 0u;
// MODE 0, 1: the activations go out in integer form (quantize-x.wgsl's layout) for a MODE 1 dispatch with XQ = 1,
// each workgroup's RW / 2 = 32 activations being one block (launch shapes with RW = 64 rows: expert-mlp.ts XQ_OUT_SHAPE)
override XQOUT: u32 = 0u;

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> qs2: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> sc2: array<u32>;
@group(0) @binding(5) var<storage, read> x: array<vec4<u32>>; // f32 bits, or the integer form (XQ = 1)
@group(0) @binding(6) var<storage, read_write> y: array<u32>; // f32 bits, or (XQOUT = 1) activations in integer form
@group(0) @binding(7) var<storage, read> ids: array<u32>;
@group(0) @binding(8) var<storage, read_write> aux: array<f32>;

var<workgroup> partial: array<f32, 2304>;
var<workgroup> pairs: array<f32, 256>; // MODE 0: the RW gate and up sums
var<workgroup> blockX: array<i32, 32>;   // XQOUT: the block's integers

// the item's segments: segment 0 (routed weights at oR, or the shared ones when seg0Shared) and, with two segments,
// segment 1 (shared weights at oS); xo0 / xo1 are the vec4 offsets of their inputs
var<private> oR: Rows8;
var<private> oS: Rows8;
var<private> seg0Shared: bool;
var<private> nb: u32;
var<private> xo0: u32;
var<private> xo1: u32;

// block i's f16 scale, moved to the low half of the word that holds its pair
fn scale_half(word: u32, i: u32) -> u32 {
  return select(word, word >> 16u, (i & 1u) == 1u);
}

// One block of R rows from the routed pool segment, and the same from the shared (or dense) weight: two straight-line
// loaders (a binding cannot be passed), so that no load sits behind its own branch on the segment.
fn load_routed(o: Rows8, b: u32) -> Loaded {
  var l: Loaded;
  l.w0 = qs[o.o0 + b]; l.s0 = scale_half(sc[(o.o0 + b) >> 1u], o.o0 + b);
  if (R > 1u) { l.w1 = qs[o.o1 + b]; l.s1 = scale_half(sc[(o.o1 + b) >> 1u], o.o1 + b); }
  if (R > 2u) { l.w2 = qs[o.o2 + b]; l.s2 = scale_half(sc[(o.o2 + b) >> 1u], o.o2 + b); }
  if (R > 3u) { l.w3 = qs[o.o3 + b]; l.s3 = scale_half(sc[(o.o3 + b) >> 1u], o.o3 + b); }
  if (R > 4u) { l.w4 = qs[o.o4 + b]; l.s4 = scale_half(sc[(o.o4 + b) >> 1u], o.o4 + b); }
  if (R > 5u) { l.w5 = qs[o.o5 + b]; l.s5 = scale_half(sc[(o.o5 + b) >> 1u], o.o5 + b); }
  if (R > 6u) { l.w6 = qs[o.o6 + b]; l.s6 = scale_half(sc[(o.o6 + b) >> 1u], o.o6 + b); }
  if (R > 7u) { l.w7 = qs[o.o7 + b]; l.s7 = scale_half(sc[(o.o7 + b) >> 1u], o.o7 + b); }
  return l;
}

fn load_shared(o: Rows8, b: u32) -> Loaded {
  var l: Loaded;
  l.w0 = qs2[o.o0 + b]; l.s0 = scale_half(sc2[(o.o0 + b) >> 1u], o.o0 + b);
  if (R > 1u) { l.w1 = qs2[o.o1 + b]; l.s1 = scale_half(sc2[(o.o1 + b) >> 1u], o.o1 + b); }
  if (R > 2u) { l.w2 = qs2[o.o2 + b]; l.s2 = scale_half(sc2[(o.o2 + b) >> 1u], o.o2 + b); }
  if (R > 3u) { l.w3 = qs2[o.o3 + b]; l.s3 = scale_half(sc2[(o.o3 + b) >> 1u], o.o3 + b); }
  if (R > 4u) { l.w4 = qs2[o.o4 + b]; l.s4 = scale_half(sc2[(o.o4 + b) >> 1u], o.o4 + b); }
  if (R > 5u) { l.w5 = qs2[o.o5 + b]; l.s5 = scale_half(sc2[(o.o5 + b) >> 1u], o.o5 + b); }
  if (R > 6u) { l.w6 = qs2[o.o6 + b]; l.s6 = scale_half(sc2[(o.o6 + b) >> 1u], o.o6 + b); }
  if (R > 7u) { l.w7 = qs2[o.o7 + b]; l.s7 = scale_half(sc2[(o.o7 + b) >> 1u], o.o7 + b); }
  return l;
}

// the 32 inputs of block j of a segment whose input starts at xs (vec4 units of f32)
fn x_of(xs: u32, j: u32) -> XBlock {
  let xo = xs + j * 8u;
  return XBlock(xf(xo), xf(xo + 1u), xf(xo + 2u), xf(xo + 3u), xf(xo + 4u), xf(xo + 5u), xf(xo + 6u), xf(xo + 7u));
}

// the same in integer form (XQ = 1): xs in blocks, block j at (xs + j) · 7 vec4
fn xq_of(xs: u32, j: u32) -> XqBlock {
  let o = (xs + j) * 7u;
  return XqBlock(x[o], x[o + 1u], x[o + 2u], x[o + 3u], x[o + 4u], x[o + 5u], x[o + 6u]);
}

fn xf(i: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(x[i]);
}

// one block's sums for the thread's R rows: the loaders moved each scale to the low half of its word (block index 0)
fn block_sums(c: Loaded, xs: u32, j: u32) -> RowSums {
  if (XQ == 1u) { return rows_dot_q(c, Rows8(), 0u, xq_of(xs, j)); }
  return rows_dot_d(c, Rows8(), 0u, x_of(xs, j));
}

// The thread's blocks j0, j0 + CT, … < nb of one segment (weights at rows o, input at xs) added to acc, with the next
// block's weights loaded before this block's arithmetic (software pipelining, as in linear_q4.wgsl). One walker per
// weight binding, so that the loop holds no branch on the segment. x is loaded at each block, not one ahead with the
// weights as in linear_q4.wgsl (XAHEAD): that measured 21 % slower here (gate+up 53.4 against 43.9 µs on an H100,
// docs/PERFORMANCE.md run T), where registers are tighter.
fn walk_routed(acc: RowSums, o: Rows8, xs: u32, j0: u32) -> RowSums {
  var a = acc;
  if (j0 >= nb) { return a; }
  var next = load_routed(o, j0);
  for (var j = j0; j < nb; j += CT) {
    let c = next;
    next = load_routed(o, min(j + CT, nb - 1u));
    let d = block_sums(c, xs, j);
    a.lo += d.lo;
    a.hi += d.hi;
  }
  return a;
}

fn walk_shared(acc: RowSums, o: Rows8, xs: u32, j0: u32) -> RowSums {
  var a = acc;
  if (j0 >= nb) { return a; }
  var next = load_shared(o, j0);
  for (var j = j0; j < nb; j += CT) {
    let c = next;
    next = load_shared(o, min(j + CT, nb - 1u));
    let d = block_sums(c, xs, j);
    a.lo += d.lo;
    a.hi += d.hi;
  }
  return a;
}

// MODE 0: the weight row of the workgroup's row v (first half: gate rows i0 + v; second half: up rows F + i0 + v − half),
// rows past F clamped (their sums are dropped)
fn act_row(v: u32, i0: u32, half: u32) -> u32 {
  let F = P.rows / 2u;
  if (v < half) { return min(i0 + v, F - 1u); }
  return F + min(i0 + v - half, F - 1u);
}

// XQOUT: threads 0..31 hold the activations of block `block` (of the act rows, F / 32 blocks per item); writes its
// integer form as quantize-x.wgsl does (same formulas: max |x| → 2^k, X = round(x·2^k), bytes of X + 0x408080).
// Call in uniform control flow.
fn activations_out(act: f32, lid: u32, block: u32) {
  workgroupBarrier(); // every gate / up sum is read
  if (lid < 32u) { pairs[lid] = abs(act); }
  workgroupBarrier();
  var m = 0.0;
  for (var j = 0u; j < 32u; j++) { m = max(m, pairs[j]); }
  let k = xq_exponent(m);
  if (lid < 32u) { blockX[lid] = i32(round(act * ldexp(1.0, k))); }
  workgroupBarrier();
  let o = block * 28u;
  if (lid < 8u) {
    let planes = xq_planes(vec4<i32>(blockX[4u * lid], blockX[4u * lid + 1u], blockX[4u * lid + 2u], blockX[4u * lid + 3u]));
    y[o + lid] = planes.x;
    y[o + 8u + lid] = planes.y;
    y[o + 16u + lid] = planes.z;
  } else if (lid == 8u) {
    var sum = 0;
    for (var j = 0u; j < 32u; j++) { sum += blockX[j]; }
    y[o + 24u] = bitcast<u32>(sum);
    y[o + 25u] = xq_step_bits(m, k);
    y[o + 26u] = 0u;
    y[o + 27u] = 0u;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wg.y;
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  let routed = n < P.routed;
  var rowBase = 0u;
  if (routed) {
    let e = item_expert(n, lid);
    if (e < P.expertBase || e >= P.expertBase + P.expertCount) { return; }
    rowBase = (e - P.expertBase) * P.rows;
  }
  var s = 1.0;
  var segments = 1u;
  nb = P.cols / 32u;
  seg0Shared = !routed;
  // x offsets: vec4 units of f32 (cols / 4 per row), or blocks of the integer form (cols / 32 per row)
  let perRow = select(P.cols / 4u, nb, XQ == 1u);
  if (MODE == 0u) {
    if (routed && SCALE_X == 1u) { s = item_score(n); }
    xo0 = select(n - P.routed, n / P.k, routed) * perRow;
  } else {
    xo0 = n * perRow;
    if (routed && P.withShared == 1u && n % P.k == 0u) {
      segments = 2u;
      xo1 = (P.routed + n / P.k) * perRow;
    }
  }
  let rowFirst = wg.x * RW + rg * R;
  let half = RW / 2u;
  if (MODE == 0u) {
    let i0 = wg.x * half;
    let v = rg * R;
    oR = Rows8((rowBase + act_row(v, i0, half)) * nb, (rowBase + act_row(v + 1u, i0, half)) * nb,
               (rowBase + act_row(v + 2u, i0, half)) * nb, (rowBase + act_row(v + 3u, i0, half)) * nb,
               (rowBase + act_row(v + 4u, i0, half)) * nb, (rowBase + act_row(v + 5u, i0, half)) * nb,
               (rowBase + act_row(v + 6u, i0, half)) * nb, (rowBase + act_row(v + 7u, i0, half)) * nb);
  } else {
    oR = row_offsets(rowFirst, rowBase, nb);
    oS = row_offsets(rowFirst, 0u, nb);
  }
  // the thread's blocks ct, ct + CT, … of the concatenated input: those of segment 0, then those of segment 1 (the same
  // blocks in the same order as one walk over both). Against one walk with the segment's branch in its loaders (H100,
  // docs/PERFORMANCE.md run W): gate+up 42.68 → 41.84 µs, down (two segments, the pipeline restarting at the boundary)
  // 23.42 → 25.04 µs, a decode step 6.14 → 6.11 ms
  var acc = RowSums();
  if (seg0Shared) { acc = walk_shared(acc, oR, xo0, ct); } else { acc = walk_routed(acc, oR, xo0, ct); }
  if (segments == 2u) {
    let past = select(0u, (nb - ct + CT - 1u) / CT, ct < nb); // the thread's blocks in segment 0
    acc = walk_shared(acc, oS, xo1, ct + past * CT - nb);
  }
  var sum = matvec_row_sum(acc.lo, acc.hi, lid);
  if (MODE == 0u) {
    sum *= s; // the routing score: (W x)·s rather than W (x·s)
    if (matvec_sum_owner(lid)) { pairs[matvec_sum_row(lid)] = sum; }
    workgroupBarrier();
    let i = wg.x * half + lid;
    let F = P.rows / 2u;
    var act = 0.0;
    if (lid < half && i < F) {
      let g = pairs[lid];
      act = pairs[lid + half] * (g / (1.0 + exp(-g)));
    }
    if (XQOUT == 1u) {
      activations_out(act, lid, n * (F / 32u) + wg.x);
    } else if (lid < half && i < F) {
      y[n * F + i] = bitcast<u32>(act);
    }
    return;
  }
  let row = wg.x * RW + matvec_sum_row(lid);
  if (!matvec_sum_owner(lid) || row >= P.rows) { return; }
  if (!routed) {
    y[(n - P.routed) * P.rows + row] = bitcast<u32>(sum);
  } else if (n % P.k == 0u) {
    y[(n / P.k) * P.rows + row] = bitcast<u32>(sum);
  } else {
    aux[((n / P.k) * (P.k - 1u) + n % P.k - 1u) * P.rows + row] = sum;
  }
}
