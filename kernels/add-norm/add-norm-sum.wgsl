// add-norm for a few tokens over many workgroups, pass 1 of 2 (GPU variant; add-norm.wgsl runs one workgroup per
// token, which leaves a GPU idle at decode): the residual update
//   x[t, :] += a[t, :] + Σ_{j<k} b[t·k + j, :]
// with the f32 steps of residual.wgsl, and each workgroup's share of the sum of squares of the new x into
// partial[t, wg] (tree reduction). Pass 2 (add-norm-scale.wgsl) sums the partials and writes h.
// Threads: grid (ceil(dim/4 / WG), tokens), one vec4 of x per thread. Bindings: x, a [tokens, dim]; b [tokens·k, dim],
// as vec4; partial [tokens, groups].
override WG: u32 = 64u; // a power of two ≤ 256

@group(0) @binding(1) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.y;
  let n4 = P.dim / 4u;
  let i = wg.x * WG + lid;
  var ss = 0.0;
  if (i < n4) {
    let at = t * n4 + i;
    var update = a[at];
    for (var j = 0u; j < P.k; j++) { update += b[(t * P.k + j) * n4 + i]; }
    let v = x[at] + update;
    x[at] = v;
    ss = dot(v, v);
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { partial[t * groups.x + wg.x] = red[0]; }
}
