// SwiGLU on fused gate|up rows: out[n, i] = silu(gu[n, i]) · gu[n, F + i], silu(g) = g / (1 + e^−g).
// Threads: one per output element. Bindings: gu [items, 2F] f32; out [items, F] f32.
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.items * P.width) { return; }
  let n = idx / P.width;
  let i = idx % P.width;
  let g = gu[n * 2u * P.width + i];
  let u = gu[n * 2u * P.width + P.width + i];
  out[idx] = u * (g / (1.0 + exp(-g)));
}
