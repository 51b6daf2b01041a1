// The residual update and the next RMSNorm in one pass (the two ends of every block):
//   x[t, :] += a[t, :] + Σ_{j<k} b[t·k + j, :]        (k = 0: x += a; the MoE's routed outputs are b)
//   h[t, :]  = x[t, :] · rsqrt(mean(x[t, :]²) + eps) · weight
// The residual update takes the f32 steps of residual.wgsl; the norm those of rmsnorm.wgsl but for the order of the
// sum of squares. Threads: one workgroup of WG (256 on GPUs, 1 on CPU adapters) per token, 16-byte loads (dim is a
// multiple of 4); each thread updates, then squares, the same elements (no barrier needed in between); tree
// reduction of the sum of squares. Bindings: x [tokens, dim]; a [tokens, dim]; b [tokens·k, dim]; weight [dim];
// h [tokens, dim], all as vec4.
override WG: u32 = 256u; // a power of two ≤ 256

@group(0) @binding(1) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> h: array<vec4<f32>>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x + wg.y * 65535u;
  if (t >= P.tokens) { return; } // uniform per workgroup
  let n4 = P.dim / 4u;
  let base = t * n4;
  var ss = 0.0;
  for (var i = lid; i < n4; i += WG) {
    var update = a[base + i];
    for (var j = 0u; j < P.k; j++) { update += b[(t * P.k + j) * n4 + i]; }
    let v = x[base + i] + update;
    x[base + i] = v;
    ss += dot(v, v);
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(partial[0] / f32(P.dim) + P.eps);
  for (var i = lid; i < n4; i += WG) { h[base + i] = x[base + i] * r * weight[i]; }
}
