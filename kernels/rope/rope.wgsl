// Rotary embedding with interleaved pairs (Llama 4; not rotate_half), in place on x [tokens, heads, headDim]:
//   pair i = (x[2i], x[2i+1]), angle θ(t, i) given by the table as cos/sin [tokens, headDim/2]:
//   x[2i] ← a·cosθ − b·sinθ,  x[2i+1] ← a·sinθ + b·cosθ.
// The table is computed on the CPU in f32 like HF (inv_freq with llama3 scaling, θ = pos·inv_freq), because
// WGSL's cos/sin are only accurate on [−π, π]. Threads: one per pair, 256 per workgroup.
// Bindings: x [tokens·heads·headDim] f32; cs [tokens, headDim/2] vec2 (cos, sin).
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let half = P.headDim / 2u;
  if (idx >= P.tokens * P.heads * half) { return; }
  let i = idx % half;
  let t = idx / (half * P.heads);
  let c = cs[t * half + i];
  let a = x[2u * idx];
  let b = x[2u * idx + 1u];
  x[2u * idx] = a * c.x - b * c.y;
  x[2u * idx + 1u] = a * c.y + b * c.x;
}
