// x (f32) in blocks of 32 → the integer form the q4 mat-vec's integer-dot path reads (XQ = 1 in linear_q4.wgsl and
// expert_q4.wgsl). A block with max |x| = m < 2^e (frexp) becomes X_j = round(x_j · 2^(22 − e)), integers with
// |X_j| ≤ 2^22, so x_j = X_j · step (step = 2^(e − 22)) up to 2^−23 · 2^e per element. Each X_j is split into three
// signed bytes, X = A·2^16 + B·2^8 + C (A ∈ [−64, 64], B, C ∈ [−128, 127]), so a Q4_0 block's Σ q·X is three 4×8-bit
// dot products per 4 weights, exact in i32.
// Output per block, 7 vec4<u32> (28 words): words 0..7 the A bytes of elements 4w..4w+3 (word w), 8..15 the B bytes,
// 16..23 the C bytes, 24 Σ_j X_j (i32), 25 step (f32), 26..27 zero.
// Threads: 8 per block, one vec4 of x each (WG / 8 blocks per workgroup); the block's max and Σ X go through
// workgroup memory (xq_write, xq-write.wgsl and xq-reduce.wgsl) or, in quantize_x_subgroups, subgroup shuffles (xq-reduce-subgroups.wgsl,
// no barrier at subgroup sizes ≥ 8). Grid: ceil(blocks / (WG / 8)) workgroups; P.blocks = rows · cols / 32 (x rows back to back).
override WG: u32 = 256u;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> xq: array<u32>;

var<workgroup> lanes: array<u32, 256>; // xq_write (xq-write.wgsl, xq-reduce.wgsl): WG entries

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let block = wg.x * (WG / 8u) + lid / 8u;
  let part = lid % 8u; // elements 4·part .. 4·part + 3 of the block
  let live = block < P.blocks;
  var v = vec4<f32>(0.0);
  if (live) { v = x[block * 8u + part]; }
  xq_write(block, lid, v, live);
}
