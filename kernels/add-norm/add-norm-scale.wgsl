// add-norm for a few tokens over many workgroups, pass 2 of 2: every thread sums the token's partial sums of
// squares from pass 1 (add-norm-sum.wgsl) in the same order, then
//   h[t, :] = x[t, :] · rsqrt(Σ partial / dim + eps) · weight
// Threads: grid (groups, tokens) as in pass 1, one vec4 per thread. Bindings: x [tokens, dim]; weight [dim];
// h [tokens, dim], as vec4; partial [tokens, groups].
override WG: u32 = 64u;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> partial: array<f32>;
@group(0) @binding(4) var<storage, read_write> h: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.y;
  let n4 = P.dim / 4u;
  let i = wg.x * WG + lid;
  if (i >= n4) { return; }
  var ss = 0.0;
  for (var g = 0u; g < groups.x; g++) { ss += partial[t * groups.x + g]; }
  let r = inverseSqrt(ss / f32(P.dim) + P.eps);
  h[t * n4 + i] = x[t * n4 + i] * r * weight[i];
}
