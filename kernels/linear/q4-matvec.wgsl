// Q4_0 mat-vec helpers shared by the mat-vec kernels (linear_q4.wgsl, linear_q4_norm.wgsl, expert_q4.wgsl; included
// after q4.wgsl). See linear_q4.wgsl for the layout. The including kernel declares the override R, the uniform P.rows
// and the bindings `qs: array<vec4<u32>>`, `sc: array<u32>`.
// A nibble at bit p of a float's mantissa, under the exponent 2^(23 − p), reads 2^(23 − p) + q: OR-ing it into that
// exponent and subtracting 2^(23 − p) + 8 gives (q − 8) exactly, so x needs no scaling. The bit positions p of the
// four lanes below: low nibbles 0, 8, 16, 12 (of lo, lo, lo, hi), high nibbles 4, 12, 8, 16 (of lo, lo, hi, hi).
const EXP_LO = vec4<u32>(150u << 23u, 142u << 23u, 134u << 23u, 138u << 23u);
const SUB_LO = vec4<f32>(8388616.0, 32776.0, 136.0, 2056.0);
const EXP_HI = vec4<u32>(146u << 23u, 138u << 23u, 142u << 23u, 134u << 23u);
const SUB_HI = vec4<f32>(524296.0, 2056.0, 32776.0, 136.0);

// The 32 x values of one block: l[k] holds x[4k..4k+3] (low nibbles of word k), h[k] x[16+4k..16+4k+3].
struct XBlock { l0: vec4<f32>, l1: vec4<f32>, l2: vec4<f32>, l3: vec4<f32>, h0: vec4<f32>, h1: vec4<f32>, h2: vec4<f32>, h3: vec4<f32> }

// s + Σ (q − 8)·x over the 8 weights of one word: an AND-OR and a subtraction per weight to decode it, one FMA to
// use it, in four independent chains.
fn word_dot(lo: u32, xl: vec4<f32>, xh: vec4<f32>, s: vec4<f32>) -> vec4<f32> {
  let hi = lo >> 12u;
  // low nibbles of bytes 0..3 at bits 0, 8, 16 (of lo) and 12 (of hi)
  let fl = bitcast<vec4<f32>>((vec4<u32>(lo, lo, lo, hi) & vec4<u32>(0xFu, 0xF00u, 0xF0000u, 0xF000u)) | EXP_LO) - SUB_LO;
  // high nibbles at bits 4, 12 (of lo) and 8, 16 (of hi)
  let fh = bitcast<vec4<f32>>((vec4<u32>(lo, lo, hi, hi) & vec4<u32>(0xF0u, 0xF000u, 0xF00u, 0xF0000u)) | EXP_HI) - SUB_HI;
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

// The integer form of one block of x (quantize-x.wgsl; XQ = 1): a0/a1 the A bytes of elements 0..15 / 16..31 (four
// per word, element 4w in the low byte of word w), b0/b1 the B bytes, c0/c1 the C bytes, tail.x Σ X (i32 bits),
// tail.y the step (f32 bits): x_j = (A_j·2^16 + B_j·2^8 + C_j) · step.
struct XqBlock { a0: vec4<u32>, a1: vec4<u32>, b0: vec4<u32>, b1: vec4<u32>, c0: vec4<u32>, c1: vec4<u32>, tail: vec4<u32> }

// Σ (q − 8)·x · d over one block, with x in integer form: the low nibbles of word k are q[4k..4k+3] (elements of a0/b0/c0
// word k), the high ones q[16+4k..] (a1/b1/c1 word k); Σ q·X in three 4×8-bit dot products per 4 weights, exact in
// i32; the offset 8 through Σ X; one rounding to f32 at the end.
fn block_dot_q(w: vec4<u32>, word: u32, block: u32, X: XqBlock) -> f32 {
  let l = w & vec4<u32>(0x0F0F0F0Fu);
  let h = (w >> vec4<u32>(4u)) & vec4<u32>(0x0F0F0F0Fu);
  let sa = dot4I8Packed(l.x, X.a0.x) + dot4I8Packed(l.y, X.a0.y) + dot4I8Packed(l.z, X.a0.z) + dot4I8Packed(l.w, X.a0.w)
         + dot4I8Packed(h.x, X.a1.x) + dot4I8Packed(h.y, X.a1.y) + dot4I8Packed(h.z, X.a1.z) + dot4I8Packed(h.w, X.a1.w);
  let sb = dot4I8Packed(l.x, X.b0.x) + dot4I8Packed(l.y, X.b0.y) + dot4I8Packed(l.z, X.b0.z) + dot4I8Packed(l.w, X.b0.w)
         + dot4I8Packed(h.x, X.b1.x) + dot4I8Packed(h.y, X.b1.y) + dot4I8Packed(h.z, X.b1.z) + dot4I8Packed(h.w, X.b1.w);
  let sc = dot4I8Packed(l.x, X.c0.x) + dot4I8Packed(l.y, X.c0.y) + dot4I8Packed(l.z, X.c0.z) + dot4I8Packed(l.w, X.c0.w)
         + dot4I8Packed(h.x, X.c1.x) + dot4I8Packed(h.y, X.c1.y) + dot4I8Packed(h.z, X.c1.z) + dot4I8Packed(h.w, X.c1.w);
  // |sa| ≤ 32·15·64, |sb|, |sc| ≤ 32·15·128, |Σ X| ≤ 2^27: the low part stays within i32
  let low = sb * 256 + sc - 8 * bitcast<i32>(X.tail.x);
  return q4_scale_in(word, block) * bitcast<f32>(X.tail.y) * (f32(sa) * 65536.0 + f32(low));
}

// Row offsets (in blocks) of a thread's R rows, and one block's weights and scale words for them.
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

// Block b of a thread's R rows from the kernel's `qs` and `sc` (the scale words as they are: rows_dot_* pick the half)
fn rows_load(o: Rows8, b: u32) -> Loaded {
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

// One block's sums for a thread's R rows (lanes past R stay 0), x as f32 (rows_dot_d) or in integer form
// (rows_dot_q); block o.oN + b of row N picks the f16 half of its scale word (o = Rows8(), b = 0 where the loader
// already moved each scale to the low half).
struct RowSums { lo: vec4<f32>, hi: vec4<f32> }

fn rows_dot_d(c: Loaded, o: Rows8, b: u32, X: XBlock) -> RowSums {
  var r: RowSums;
  r.lo.x = block_dot_d(c.w0, c.s0, o.o0 + b, X);
  if (R > 1u) { r.lo.y = block_dot_d(c.w1, c.s1, o.o1 + b, X); }
  if (R > 2u) { r.lo.z = block_dot_d(c.w2, c.s2, o.o2 + b, X); }
  if (R > 3u) { r.lo.w = block_dot_d(c.w3, c.s3, o.o3 + b, X); }
  if (R > 4u) { r.hi.x = block_dot_d(c.w4, c.s4, o.o4 + b, X); }
  if (R > 5u) { r.hi.y = block_dot_d(c.w5, c.s5, o.o5 + b, X); }
  if (R > 6u) { r.hi.z = block_dot_d(c.w6, c.s6, o.o6 + b, X); }
  if (R > 7u) { r.hi.w = block_dot_d(c.w7, c.s7, o.o7 + b, X); }
  return r;
}

fn rows_dot_q(c: Loaded, o: Rows8, b: u32, X: XqBlock) -> RowSums {
  var r: RowSums;
  r.lo.x = block_dot_q(c.w0, c.s0, o.o0 + b, X);
  if (R > 1u) { r.lo.y = block_dot_q(c.w1, c.s1, o.o1 + b, X); }
  if (R > 2u) { r.lo.z = block_dot_q(c.w2, c.s2, o.o2 + b, X); }
  if (R > 3u) { r.lo.w = block_dot_q(c.w3, c.s3, o.o3 + b, X); }
  if (R > 4u) { r.hi.x = block_dot_q(c.w4, c.s4, o.o4 + b, X); }
  if (R > 5u) { r.hi.y = block_dot_q(c.w5, c.s5, o.o5 + b, X); }
  if (R > 6u) { r.hi.z = block_dot_q(c.w6, c.s6, o.o6 + b, X); }
  if (R > 7u) { r.hi.w = block_dot_q(c.w7, c.s7, o.o7 + b, X); }
  return r;
}
