// The residual update at the end of a block, shared by add-norm.wgsl and linear_q4_norm.wgsl so that both give the
// same bits (residual.wgsl's f32 steps): vec4 i of token t's row, x + (a + Σ_{j<K} b[t·K + j]) (K = 0: x + a).
// The including kernel declares x, a and b (arrays of vec4<f32>, rows of n4 vec4s) and the override K.
fn updated(t: u32, n4: u32, i: u32) -> vec4<f32> {
  var update = a[t * n4 + i];
  for (var j = 0u; j < K; j++) { update += b[(t * K + j) * n4 + i]; }
  return x[t * n4 + i] + update;
}
