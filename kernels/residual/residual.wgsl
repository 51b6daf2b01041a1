// Residual update: x[t, :] += a[t, :] + Σ_{j<k} b[t·k + j, :]   (k = 0: x += a).
// For MoE, a is the shared expert's output and b the k routed experts' outputs (HF sums those first, then adds
// the residual). Threads: one per element of x. Bindings: x [tokens, dim]; a [tokens, dim]; b [tokens·k, dim].
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.tokens * P.dim) { return; }
  let t = idx / P.dim;
  let i = idx % P.dim;
  var update = a[idx];
  for (var j = 0u; j < P.k; j++) { update += b[(t * P.k + j) * P.dim + i]; }
  x[idx] = x[idx] + update;
}
