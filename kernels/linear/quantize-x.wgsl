// x (f32) in blocks of 32 → the integer form the q4 mat-vec's integer-dot path reads (XQ = 1 in linear_q4.wgsl and
// expert_q4.wgsl), one thread per block. A block with max |x| = m < 2^e (frexp) becomes X_j = round(x_j · 2^(22 − e)),
// integers with |X_j| ≤ 2^22, so x_j = X_j · step (step = 2^(e − 22)) up to 2^−23 · 2^e per element. Each X_j is split into
// three signed bytes, X = A·2^16 + B·2^8 + C (A ∈ [−64, 64], B, C ∈ [−128, 127]), so a Q4_0 block's Σ q·X is three
// 4×8-bit dot products per 4 weights, exact in i32.
// Output per block, 7 vec4<u32> (28 words): words 0..7 the A bytes of elements 4w..4w+3 (word w), 8..15 the B bytes,
// 16..23 the C bytes, 24 Σ_j X_j (i32), 25 step (f32), 26..27 zero.
// Grid: ceil(blocks / WG) workgroups; P.blocks = rows · cols / 32 (x rows back to back).
override WG: u32 = 64u;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> xq: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let block = gid.x;
  if (block >= P.blocks) { return; }
  var v: array<vec4<f32>, 8>;
  var m = 0.0;
  for (var i = 0u; i < 8u; i++) {
    v[i] = x[block * 8u + i];
    let a = abs(v[i]);
    m = max(m, max(max(a.x, a.y), max(a.z, a.w)));
  }
  let o = block * 7u;
  if (m == 0.0) {
    for (var i = 0u; i < 7u; i++) { xq[o + i] = vec4<u32>(0u); }
    return;
  }
  // 2^k with k = 22 − e, capped so that 2^k stays a normal f32 (blocks of max |x| < 2^−104 lose precision, not range)
  let k = min(22 - frexp(m).exp, 126);
  let scale = ldexp(1.0, k);
  var sum = 0;
  var words: array<u32, 24>;
  for (var i = 0u; i < 8u; i++) {
    let X = vec4<i32>(round(v[i] * scale));
    sum += X.x + X.y + X.z + X.w;
    // X + 0x408080 ≥ 0 splits into bytes a', b', c'; A = a' − 64, B = b' − 128, C = c' − 128
    let U = vec4<u32>(X + vec4<i32>(0x408080));
    words[i] = pack4xI8(vec4<i32>(U >> vec4<u32>(16u)) - vec4<i32>(64));
    words[8u + i] = pack4xI8(vec4<i32>((U >> vec4<u32>(8u)) & vec4<u32>(255u)) - vec4<i32>(128));
    words[16u + i] = pack4xI8(vec4<i32>(U & vec4<u32>(255u)) - vec4<i32>(128));
  }
  for (var i = 0u; i < 6u; i++) {
    xq[o + i] = vec4<u32>(words[4u * i], words[4u * i + 1u], words[4u * i + 2u], words[4u * i + 3u]);
  }
  xq[o + 6u] = vec4<u32>(bitcast<u32>(sum), bitcast<u32>(ldexp(1.0, -k)), 0u, 0u);
}
