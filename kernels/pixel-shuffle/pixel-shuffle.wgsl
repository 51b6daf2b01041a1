// Llama 4 pixel shuffle (ratio 0.5): the g×g patch grid x [g², dim] becomes (g/2)×(g/2) tokens of 4·dim:
// out[(r2, c2)] = concat(x[(2r2, 2c2)], x[(2r2, 2c2+1)], x[(2r2+1, 2c2)], x[(2r2+1, 2c2+1)])
// (top-left, top-right, bottom-left, bottom-right; spec §3.4). Threads: one per output element.
// Bindings: x [g², dim]; out [g²/4, 4·dim].
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let h = P.grid / 2u;
  if (idx >= h * h * 4u * P.dim) { return; }
  let token = idx / (4u * P.dim);
  let k = idx % (4u * P.dim);
  let quadrant = k / P.dim;
  let r = 2u * (token / h) + quadrant / 2u;
  let c = 2u * (token % h) + quadrant % 2u;
  out[idx] = x[(r * P.grid + c) * P.dim + k % P.dim];
}
