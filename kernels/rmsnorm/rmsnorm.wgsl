// y[r, :] = x[r, :] · rsqrt(mean(x[r, :]²) + eps) (· weight when HAS_WEIGHT), in f32.
// Also the weightless QK norm (HF's Llama4TextL2Norm: an RMS norm over each head vector).
// Threads: one workgroup of WG (256 on GPUs, 1 on CPU adapters) per row; tree reduction of the sum of squares. IN_PLACE = 1 writes into x.
// Bindings: x [rows, dim] f32; weight [dim] f32; y [rows, dim] f32.
override HAS_WEIGHT: u32 = 1u;
override IN_PLACE: u32 = 0u;
override WG: u32 = 256u; // a power of two ≤ 256

@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * 65535u;
  if (row >= P.rows) { return; } // uniform per workgroup
  let base = row * P.dim;
  var ss = 0.0;
  for (var i = lid; i < P.dim; i += WG) { let v = x[base + i]; ss += v * v; }
  partial[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(partial[0] / f32(P.dim) + P.eps);
  for (var i = lid; i < P.dim; i += WG) {
    var v = x[base + i] * r;
    if (HAS_WEIGHT == 1u) { v = v * weight[i]; }
    if (IN_PLACE == 1u) { x[base + i] = v; } else { y[base + i] = v; }
  }
}
