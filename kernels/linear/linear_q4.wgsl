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
//   Nibbles become floats without int→float conversions: (word & 0xF << 4k) | 0x4B000000 is the f32 2^23 + q·16^k
//   exactly, so subtracting 2^23 + 8·16^k leaves (q − 8)·16^k; the matching x was pre-multiplied by 16^−k (exact, a
//   power of two). Then one FMA per weight, in four independent chains, and one f16→f32 conversion per block.
//   The CT partial sums of a row go through workgroup memory in two serial stages (two barriers, no tree).
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
const TOKENS = 4u;
const ROWS_PER_WG = 8u;
const MAGIC = 0x4B000000u; // f32 2^23
// 2^23 + 8·(the power of 16 each nibble slot carries), so the subtraction also removes the Q4_0 offset of 8
const MAGIC_LO = vec4<f32>(8388616.0, 8390656.0, 8912896.0, 8421376.0);
const MAGIC_HI = vec4<f32>(8388736.0, 8421376.0, 8390656.0, 8912896.0);

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

// mat-mul: 256 threads × TOKENS; mat-vec: CT × (RW + 1) ≤ 8·256 + 256
var<workgroup> partial: array<f32, 2304>;
var<workgroup> wgExpert: u32;

// ---- mat-vec ----

// The 32 x values of one block, pre-scaled: l[k] holds x[4k..4k+3] (low nibbles of word k), h[k] x[16+4k..16+4k+3].
struct XBlock { l0: vec4<f32>, l1: vec4<f32>, l2: vec4<f32>, l3: vec4<f32>, h0: vec4<f32>, h1: vec4<f32>, h2: vec4<f32>, h3: vec4<f32> }

fn x_block(xo: u32, sl: vec4<f32>, sh: vec4<f32>) -> XBlock {
  return XBlock(x[xo] * sl, x[xo + 1u] * sl, x[xo + 2u] * sl, x[xo + 3u] * sl,
                x[xo + 4u] * sh, x[xo + 5u] * sh, x[xo + 6u] * sh, x[xo + 7u] * sh);
}

// (bits | 2^23) − (2^23 + 8·16^k) is exactly (q − 8)·16^k; one FMA per weight, four independent chains.
fn word_dot(lo: u32, xl: vec4<f32>, xh: vec4<f32>, s: vec4<f32>) -> vec4<f32> {
  let hi = lo >> 12u;
  // low nibbles of bytes 0..3 at bits 0, 8, 16 (of lo) and 12 (of hi): q·1, q·2^8, q·2^16, q·2^12
  let fl = bitcast<vec4<f32>>((vec4<u32>(lo, lo, lo, hi) & vec4<u32>(0xFu, 0xF00u, 0xF0000u, 0xF000u)) | vec4<u32>(MAGIC)) - MAGIC_LO;
  // high nibbles at bits 4, 12 (of lo) and 8, 16 (of hi): q·2^4, q·2^12, q·2^8, q·2^16
  let fh = bitcast<vec4<f32>>((vec4<u32>(lo, lo, hi, hi) & vec4<u32>(0xF0u, 0xF000u, 0xF00u, 0xF0000u)) | vec4<u32>(MAGIC)) - MAGIC_HI;
  return fma(fh, xh, fma(fl, xl, s));
}

// Σ (q − 8)·x · d over one block; `word` holds the block's f16 scale in its low (even block) or high half.
fn block_dot_d(w: vec4<u32>, word: u32, block: u32, X: XBlock) -> f32 {
  var s = word_dot(w.x, X.l0, X.h0, vec4<f32>(0.0));
  s = word_dot(w.y, X.l1, X.h1, s);
  s = word_dot(w.z, X.l2, X.h2, s);
  s = word_dot(w.w, X.l3, X.h3, s);
  return q4_scale_in(word, block) * ((s.x + s.y) + (s.z + s.w));
}

// Loads row r's (r < R) weights and scale word of block b, at row offset o (in blocks); rows r ≥ R are compiled out.
struct Rows8 { o0: u32, o1: u32, o2: u32, o3: u32, o4: u32, o5: u32, o6: u32, o7: u32 }
struct Loaded { w0: vec4<u32>, w1: vec4<u32>, w2: vec4<u32>, w3: vec4<u32>, w4: vec4<u32>, w5: vec4<u32>, w6: vec4<u32>, w7: vec4<u32>,
                s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32, s6: u32, s7: u32 }

fn row_offsets(rowFirst: u32, rowBase: u32, nb: u32) -> Rows8 {
  // rows past the end are clamped (loads stay in bounds) and their sums dropped at the end
  let last = P.rows - 1u;
  return Rows8((rowBase + min(rowFirst, last)) * nb, (rowBase + min(rowFirst + 1u, last)) * nb,
               (rowBase + min(rowFirst + 2u, last)) * nb, (rowBase + min(rowFirst + 3u, last)) * nb,
               (rowBase + min(rowFirst + 4u, last)) * nb, (rowBase + min(rowFirst + 5u, last)) * nb,
               (rowBase + min(rowFirst + 6u, last)) * nb, (rowBase + min(rowFirst + 7u, last)) * nb);
}

fn load_rows(o: Rows8, b: u32) -> Loaded {
  var l: Loaded;
  l.w0 = qs[o.o0 + b]; l.s0 = sc[(o.o0 + b) >> 1u];
  if (R > 1u) { l.w1 = qs[o.o1 + b]; l.s1 = sc[(o.o1 + b) >> 1u]; }
  if (R > 2u) { l.w2 = qs[o.o2 + b]; l.s2 = sc[(o.o2 + b) >> 1u]; }
  if (R > 3u) { l.w3 = qs[o.o3 + b]; l.s3 = sc[(o.o3 + b) >> 1u]; }
  if (R > 4u) { l.w4 = qs[o.o4 + b]; l.s4 = sc[(o.o4 + b) >> 1u]; }
  if (R > 5u) { l.w5 = qs[o.o5 + b]; l.s5 = sc[(o.o5 + b) >> 1u]; }
  if (R > 6u) { l.w6 = qs[o.o6 + b]; l.s6 = sc[(o.o6 + b) >> 1u]; }
  if (R > 7u) { l.w7 = qs[o.o7 + b]; l.s7 = sc[(o.o7 + b) >> 1u]; }
  return l;
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
  var s = 1.0;
  if (SCALE_X == 1u) { s = scores[n]; }
  let sl = vec4<f32>(1.0, 1.0 / 256.0, 1.0 / 65536.0, 1.0 / 4096.0) * s;
  let sh = vec4<f32>(1.0 / 16.0, 1.0 / 4096.0, 1.0 / 256.0, 1.0 / 65536.0) * s;
  let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
  let nb = P.cols / 32u;
  // Rows are plain variables (structs), not arrays: arrays indexed in loops may land in slow local memory.
  let o = row_offsets(wg.x * RW + rg * R, rowBase, nb);
  // software pipelining: the next block's weights and scale words are loaded before this block's arithmetic, so
  // 2·R loads are in flight while it computes; the last prefetch re-reads a block and is dropped
  var next = load_rows(o, min(ct, nb - 1u));
  var a0 = vec4<f32>(0.0); // rows 0..3
  var a1 = vec4<f32>(0.0); // rows 4..7
  for (var b = ct; b < nb; b += CT) {
    let c = next;
    next = load_rows(o, min(b + CT, nb - 1u));
    let X = x_block(xBase + b * 8u, sl, sh);
    a0.x += block_dot_d(c.w0, c.s0, o.o0 + b, X);
    if (R > 1u) { a0.y += block_dot_d(c.w1, c.s1, o.o1 + b, X); }
    if (R > 2u) { a0.z += block_dot_d(c.w2, c.s2, o.o2 + b, X); }
    if (R > 3u) { a0.w += block_dot_d(c.w3, c.s3, o.o3 + b, X); }
    if (R > 4u) { a1.x += block_dot_d(c.w4, c.s4, o.o4 + b, X); }
    if (R > 5u) { a1.y += block_dot_d(c.w5, c.s5, o.o5 + b, X); }
    if (R > 6u) { a1.z += block_dot_d(c.w6, c.s6, o.o6 + b, X); }
    if (R > 7u) { a1.w += block_dot_d(c.w7, c.s7, o.o7 + b, X); }
  }
  // reduce the CT partial sums of each of the RW rows: stage 1, every thread adds R of them; stage 2, one per row
  let RW1 = RW + 1u;
  let pw = ct * RW1 + rg * R;
  partial[pw] = a0.x;
  if (R > 1u) { partial[pw + 1u] = a0.y; }
  if (R > 2u) { partial[pw + 2u] = a0.z; }
  if (R > 3u) { partial[pw + 3u] = a0.w; }
  if (R > 4u) { partial[pw + 4u] = a1.x; }
  if (R > 5u) { partial[pw + 5u] = a1.y; }
  if (R > 6u) { partial[pw + 6u] = a1.z; }
  if (R > 7u) { partial[pw + 7u] = a1.w; }
  workgroupBarrier();
  let C = WG / RW; // = CT / R chunks per row
  let row1 = lid % RW;
  let c1 = lid / RW;
  if (c1 < C) {
    var sum1 = 0.0;
    for (var i = c1; i < CT; i += C) { sum1 += partial[i * RW1 + row1]; }
    partial[c1 * RW1 + row1] = sum1;
  }
  workgroupBarrier();
  if (lid < RW) {
    var sum = 0.0;
    for (var i = 0u; i < min(C, CT); i++) { sum += partial[i * RW1 + lid]; }
    let row = wg.x * RW + lid;
    if (row < P.rows) { y[n * P.yStride + P.yOffset + row] = sum; }
  }
}

// ---- mat-mul ----

fn block_dot(block: u32, xBase: u32, s: f32) -> f32 {
  let w = qs[block];
  var sum = 0.0;
  for (var k = 0u; k < 4u; k++) {
    sum += dot(q4_lo(w[k]), x[xBase + k] * s) + dot(q4_hi(w[k]), x[xBase + 4u + k] * s);
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
