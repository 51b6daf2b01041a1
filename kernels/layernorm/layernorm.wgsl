// LayerNorm with weight and bias over rows: y = (x − mean) / sqrt(var + eps) · weight + bias (biased variance),
// as torch.nn.LayerNorm. Threads: one workgroup of WG (256 on GPUs, 1 on CPU adapters) per row.
// Bindings: x [rows, dim]; weight [dim]; bias [dim]; y [rows, dim] (must not alias x).
override WG: u32 = 256u; // a power of two ≤ 256

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn row_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * 65535u;
  if (row >= P.rows) { return; }
  let base = row * P.dim;
  var s = 0.0;
  for (var i = lid; i < P.dim; i += WG) { s += x[base + i]; }
  let mean = row_sum(lid, s) / f32(P.dim);
  var ss = 0.0;
  for (var i = lid; i < P.dim; i += WG) { let d = x[base + i] - mean; ss += d * d; }
  let r = inverseSqrt(row_sum(lid, ss) / f32(P.dim) + P.eps);
  for (var i = lid; i < P.dim; i += WG) { y[base + i] = (x[base + i] - mean) * r * weight[i] + bias[i]; }
}
