// y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), W in Q4_0 blocks (q4.wgsl, included).
// Expert mode (GATHER = 1): item n uses expert ids[n]; its rows start at (ids[n] − expertBase)·rows; items whose
// expert lies outside [expertBase, expertBase + expertCount) are left to the dispatch of the segment holding it.
// Bindings: qs [rows·cols/32] vec4<u32>; sc [ceil(rows·cols/32 / 2)] u32 (two f16 scales each);
// x [items or tokens, xStride] f32 as vec4; y [items, yStride] f32; ids [items] u32; scores [items] f32.
//
// Two paths, picked by the override DECODE (linear.ts chooses):
// DECODE = 1, mat-vec (decode, and every expert-gather call): one item per grid row, memory-bound.
//   Threads: WG = (WG / CT) row groups × CT column threads; a row group owns R consecutive rows (R ≤ 8), a column
//   thread the blocks b = ct, ct + CT, … of those rows, so a warp's 16-byte weight loads cover 512 contiguous bytes of
//   a row. Per block a thread loads the 32 x values once and reuses them for its R rows.
//   Software pipelining: the next block's R weight vectors and scale words are loaded before this block's arithmetic
//   (2·R loads in flight). Rows are held in plain variables (structs), not arrays; rows r ≥ R compile out.
//   Nibbles become floats without int→float conversions: a nibble at mantissa bit p, OR-ed under the exponent
//   2^(23 − p), is the f32 2^(23 − p) + q exactly, so subtracting 2^(23 − p) + 8 leaves q − 8 and x is used as it is.
//   Then one FMA per weight, in four independent chains, and one f16→f32 conversion per block.
//   The CT partial sums of a row go through workgroup memory in two serial stages (two barriers, no tree), or with
//   subgroups (kernel linear_q4_subgroups) through shuffles, and workgroup memory only where CT is over the subgroup
//   size (one barrier then; none where CT ≤ it).
//   The block arithmetic and the reduction are in q4-matvec.wgsl and matvec-reduce*.wgsl (shared with expert_q4.wgsl).
//   Grid: (ceil(rows / RW), items) with RW = R·WG/CT rows per workgroup.
// DECODE = 0, mat-mul (prefill): WG must be 256 = 8 rows × 32 lanes; lanes stride over a row's blocks; each workgroup
//   reuses a loaded block for TOKENS items; the 32 partial sums are tree-reduced. Grid: (ceil(rows / 8),
//   ceil(items / TOKENS)).
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
override DECODE: u32 = 0u;
override WG: u32 = 256u;
override CT: u32 = 32u; // column threads per row group (divides WG)
override R: u32 = 4u;   // rows per thread, 1..8
// Benchmarks only (`bench -- --probes`): 0 the real mat-vec; otherwise a wrong result that tells where the time goes:
// 1 the same loads with (almost) no arithmetic, 2 no loads of x (constant inputs), 3 no loads of the scale words
override PROBE: u32 = 0u;
// 1: x comes in integer form (quantize-x.wgsl) and each block is three 4×8-bit dot products per 4 weights (mat-vec only)
override XQ: u32 = 0u;
// 1 (mat-vec): x's next block is loaded with the weights' next block, one iteration ahead, so its latency is off the
// arithmetic's path (more registers: 7 or 8 vec4)
override XAHEAD: u32 = 0u;
const TOKENS = 4u;
const ROWS_PER_WG = 8u;

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
// x as vec4 of f32 bits, or (XQ = 1, mat-vec only) the integer form of quantize-x.wgsl, 7 vec4 per block of 32
@group(0) @binding(3) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

// mat-mul: 256 threads × TOKENS; mat-vec: CT × (RW + 1) ≤ 8·256 + 256
var<workgroup> partial: array<f32, 2304>;
var<workgroup> wgExpert: u32;

// ---- mat-vec ----

fn xf(i: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(x[i]);
}

fn x_block(xo: u32) -> XBlock {
  return XBlock(xf(xo), xf(xo + 1u), xf(xo + 2u), xf(xo + 3u), xf(xo + 4u), xf(xo + 5u), xf(xo + 6u), xf(xo + 7u));
}

// block b of x row `row` in integer form
fn xq_block(row: u32, b: u32) -> XqBlock {
  let o = (row * (P.xStride / 32u) + b) * 7u;
  return XqBlock(x[o], x[o + 1u], x[o + 2u], x[o + 3u], x[o + 4u], x[o + 5u], x[o + 6u]);
}

// Loads row r's (r < R) weights and scale word of block b, at row offset o (in blocks); rows r ≥ R are compiled out.
// PROBE 1: keeps a block's loads alive with a few integer operations instead of the dot product
fn probe_word(w: vec4<u32>, s: u32) -> f32 {
  return f32((w.x ^ w.y ^ w.z ^ w.w ^ s) & 0xFFu);
}

fn load_rows(o: Rows8, b: u32) -> Loaded {
  var l: Loaded;
  if (PROBE == 3u) {
    l.w0 = qs[o.o0 + b]; l.s0 = 0x3C003C00u;
    if (R > 1u) { l.w1 = qs[o.o1 + b]; l.s1 = 0x3C003C00u; }
    if (R > 2u) { l.w2 = qs[o.o2 + b]; l.s2 = 0x3C003C00u; }
    if (R > 3u) { l.w3 = qs[o.o3 + b]; l.s3 = 0x3C003C00u; }
    if (R > 4u) { l.w4 = qs[o.o4 + b]; l.s4 = 0x3C003C00u; }
    if (R > 5u) { l.w5 = qs[o.o5 + b]; l.s5 = 0x3C003C00u; }
    if (R > 6u) { l.w6 = qs[o.o6 + b]; l.s6 = 0x3C003C00u; }
    if (R > 7u) { l.w7 = qs[o.o7 + b]; l.s7 = 0x3C003C00u; }
    return l;
  }
  return rows_load(o, b);
}

fn matvec(wg: vec3<u32>, lid: u32) {
  let n = wg.y;
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  var rowBase = 0u;
  if (GATHER == 1u) {
    if (lid == 0u) { wgExpert = ids[n]; }
    let e = workgroupUniformLoad(&wgExpert);
    if (e < P.expertBase || e >= P.expertBase + P.expertCount) { return; }
    rowBase = (e - P.expertBase) * P.rows;
  }
  let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
  let nb = P.cols / 32u;
  // Rows are plain variables (structs), not arrays: arrays indexed in loops may land in slow local memory.
  let o = row_offsets(wg.x * RW + rg * R, rowBase, nb);
  // software pipelining: the next block's weights and scale words are loaded before this block's arithmetic, so
  // 2·R loads are in flight while it computes; the last prefetch re-reads a block and is dropped
  var next = load_rows(o, min(ct, nb - 1u));
  let xRow = n / P.xRowDiv;
  var nextQ: XqBlock;
  var nextX: XBlock;
  if (XAHEAD == 1u) {
    if (XQ == 1u) { nextQ = xq_block(xRow, min(ct, nb - 1u)); } else { nextX = x_block(xBase + min(ct, nb - 1u) * 8u); }
  }
  var a0 = vec4<f32>(0.0); // rows 0..3
  var a1 = vec4<f32>(0.0); // rows 4..7
  for (var b = ct; b < nb; b += CT) {
    let c = next;
    let cq = nextQ;
    let cx = nextX;
    let bn = min(b + CT, nb - 1u);
    next = load_rows(o, bn);
    if (XAHEAD == 1u) {
      if (XQ == 1u) { nextQ = xq_block(xRow, bn); } else { nextX = x_block(xBase + bn * 8u); }
    }
    if (PROBE == 1u) {
      a0 += vec4<f32>(probe_word(c.w0, c.s0), probe_word(c.w1, c.s1), probe_word(c.w2, c.s2), probe_word(c.w3, c.s3));
      a1 += vec4<f32>(probe_word(c.w4, c.s4), probe_word(c.w5, c.s5), probe_word(c.w6, c.s6), probe_word(c.w7, c.s7));
      continue;
    }
    if (XQ == 1u) {
      var Xq = cq;
      if (XAHEAD == 0u) { Xq = xq_block(xRow, b); }
      let d = rows_dot_q(c, o, b, Xq);
      a0 += d.lo;
      a1 += d.hi;
      continue;
    }
    let one = vec4<f32>(1.0);
    var X = XBlock(one, one, one, one, one, one, one, one);
    if (XAHEAD == 1u) { X = cx; } else if (PROBE != 2u) { X = x_block(xBase + b * 8u); }
    let d = rows_dot_d(c, o, b, X);
    a0 += d.lo;
    a1 += d.hi;
  }
  var sum = matvec_row_sum(a0, a1, lid);
  if (SCALE_X == 1u) { sum *= scores[n]; } // (Wx)·s rather than W(x·s)
  let row = wg.x * RW + matvec_sum_row(lid);
  if (matvec_sum_owner(lid) && row < P.rows) { y[n * P.yStride + P.yOffset + row] = sum; }
}

// ---- mat-mul ----

fn block_dot(block: u32, xBase: u32, s: f32) -> f32 {
  let w = qs[block];
  var sum = 0.0;
  for (var k = 0u; k < 4u; k++) {
    sum += dot(q4_lo(w[k]), xf(xBase + k) * s) + dot(q4_hi(w[k]), xf(xBase + 4u + k) * s);
  }
  return sum * q4_scale(block);
}

fn matmul(wg: vec3<u32>, lid: u32) {
  let lane = lid % 32u;
  let rowInWg = lid / 32u;
  let row = wg.x * ROWS_PER_WG + rowInWg;
  let n0 = wg.y * TOKENS;
  let nb = P.cols / 32u;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  if (row < P.rows) {
    for (var t = 0u; t < TOKENS; t++) {
      let n = n0 + t;
      if (n >= P.items) { break; }
      var rowBase = row;
      if (GATHER == 1u) {
        let e = ids[n];
        if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
        rowBase = (e - P.expertBase) * P.rows + row;
      } else if (t > 0u) {
        break; // without gathering, the loop below handles every token with one weight load
      }
      var s = 1.0;
      if (SCALE_X == 1u) { s = scores[n]; }
      if (GATHER == 1u) {
        let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
        for (var b = lane; b < nb; b += 32u) {
          acc[t] += block_dot(rowBase * nb + b, xBase + b * 8u, s);
        }
      } else {
        for (var b = lane; b < nb; b += 32u) {
          let block = rowBase * nb + b;
          for (var u = 0u; u < TOKENS; u++) {
            let m = n0 + u;
            if (m >= P.items) { break; }
            var su = 1.0;
            if (SCALE_X == 1u) { su = scores[m]; }
            acc[u] += block_dot(block, (m / P.xRowDiv) * (P.xStride / 4u) + b * 8u, su);
          }
        }
      }
    }
  }
  for (var t = 0u; t < TOKENS; t++) { partial[t * 256u + lid] = acc[t]; }
  workgroupBarrier();
  for (var stride = 16u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      for (var t = 0u; t < TOKENS; t++) {
        partial[t * 256u + lid] += partial[t * 256u + lid + stride];
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u && row < P.rows) {
    for (var t = 0u; t < TOKENS; t++) {
      let n = n0 + t;
      if (n >= P.items) { break; }
      if (GATHER == 1u) {
        let e = ids[n];
        if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
      }
      y[n * P.yStride + P.yOffset + row] = partial[t * 256u + lid];
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (DECODE == 1u) { matvec(wg, lid); } else { matmul(wg, lid); }
}
