// Exact GELU in place: x ← x · ½ · (1 + erf(x / √2)), as torch.nn.GELU() (not the tanh approximation).
// WGSL has no erf: erf(z) = 1 − erfc(z) with the Numerical Recipes erfc Chebyshev fit (|error| < 1.2e-7).
// Threads: one per element. Bindings: x [n] f32.
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

fn erf_(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let erfcA = t * exp(poly);
  return select(erfcA - 1.0, 1.0 - erfcA, z >= 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= P.count) { return; }
  let v = x[idx];
  x[idx] = v * 0.5 * (1.0 + erf_(v * 0.70710678118654752));
}
