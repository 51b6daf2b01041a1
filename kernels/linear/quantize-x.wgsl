// x (f32) in blocks of 32 → the integer form the q4 mat-vec's integer-dot path reads (XQ = 1 in linear_q4.wgsl and
// expert_q4.wgsl). A block with max |x| = m < 2^e (frexp) becomes X_j = round(x_j · 2^(22 − e)), integers with
// |X_j| ≤ 2^22, so x_j = X_j · step (step = 2^(e − 22)) up to 2^−23 · 2^e per element. Each X_j is split into three
// signed bytes, X = A·2^16 + B·2^8 + C (A ∈ [−64, 64], B, C ∈ [−128, 127]), so a Q4_0 block's Σ q·X is three 4×8-bit
// dot products per 4 weights, exact in i32.
// Output per block, 7 vec4<u32> (28 words): words 0..7 the A bytes of elements 4w..4w+3 (word w), 8..15 the B bytes,
// 16..23 the C bytes, 24 Σ_j X_j (i32), 25 step (f32), 26..27 zero.
// Threads: 8 per block, one vec4 of x each (WG / 8 blocks per workgroup); the block's max and Σ X go through
// workgroup memory. Grid: ceil(blocks / (WG / 8)) workgroups; P.blocks = rows · cols / 32 (x rows back to back).
override WG: u32 = 256u;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> xq: array<u32>;

var<workgroup> lanes: array<u32, 256>; // WG entries: maxima (f32 bits), then sums (i32 bits)

// the sum (or max) over the 8 threads of this thread's block, left in every one of them
fn block_reduce(lid: u32, v: u32, isMax: bool) -> u32 {
  lanes[lid] = v;
  workgroupBarrier();
  let first = lid & ~7u;
  var r = lanes[first];
  for (var i = 1u; i < 8u; i++) {
    let w = lanes[first + i];
    if (isMax) { r = bitcast<u32>(max(bitcast<f32>(r), bitcast<f32>(w))); } else { r = bitcast<u32>(bitcast<i32>(r) + bitcast<i32>(w)); }
  }
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let block = wg.x * (WG / 8u) + lid / 8u;
  let part = lid % 8u; // elements 4·part .. 4·part + 3 of the block
  let live = block < P.blocks;
  var v = vec4<f32>(0.0);
  if (live) { v = x[block * 8u + part]; }
  let a = abs(v);
  let m = bitcast<f32>(block_reduce(lid, bitcast<u32>(max(max(a.x, a.y), max(a.z, a.w))), true));
  // 2^k with k = 22 − e, capped so that 2^k stays a normal f32 (blocks of max |x| < 2^−104 lose precision, not range)
  let k = min(22 - frexp(max(m, 1e-30)).exp, 126);
  let X = vec4<i32>(round(v * ldexp(1.0, k)));
  let sum = bitcast<i32>(block_reduce(lid, bitcast<u32>(X.x + X.y + X.z + X.w), false));
  if (!live) { return; }
  // X + 0x408080 ≥ 0 splits into bytes a', b', c'; A = a' − 64, B = b' − 128, C = c' − 128
  let U = vec4<u32>(X + vec4<i32>(0x408080));
  let o = block * 28u;
  xq[o + part] = pack4xI8(vec4<i32>(U >> vec4<u32>(16u)) - vec4<i32>(64));
  xq[o + 8u + part] = pack4xI8(vec4<i32>((U >> vec4<u32>(8u)) & vec4<u32>(255u)) - vec4<i32>(128));
  xq[o + 16u + part] = pack4xI8(vec4<i32>(U & vec4<u32>(255u)) - vec4<i32>(128));
  if (part == 0u) {
    xq[o + 24u] = bitcast<u32>(sum);
    xq[o + 25u] = select(bitcast<u32>(ldexp(1.0, -k)), 0u, m == 0.0);
    xq[o + 26u] = 0u;
    xq[o + 27u] = 0u;
  }
}
