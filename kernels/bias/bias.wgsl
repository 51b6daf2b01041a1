// Adds a bias vector to every row: x[n, i] += bias[i]. Threads: one per element.
// Bindings: x [rows, dim]; bias [dim].
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.rows * P.dim) { return; }
  x[idx] = x[idx] + bias[idx % P.dim];
}
