// Attention temperature tuning on NoPE layers: q[t, :] ← q[t, :] · scale[t], where the CPU computes
// scale[t] = 1 + attn_scale · ln(1 + floor((pos_t + 1) / floor_scale)) (f32, like HF).
// Threads: one per element, 256 per workgroup. Bindings: q [tokens, width] f32; scale [tokens] f32.
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.tokens * P.width) { return; }
  q[idx] = q[idx] * scale[idx / P.width];
}
