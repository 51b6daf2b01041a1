// Arithmetic roofline: the fastest the device runs f32 fused multiply-adds, measured with the same WebGPU path as the
// real kernels. Each thread runs 8 independent vec4 chains a ← fma(a, M, C) for P.iterations steps (32 scalar FMAs in
// flight per thread, no memory traffic in the loop), then writes the sum of its chains to out[thread], so nothing
// can be optimised away. M = 1 − 2^−10 and C = 2^−10 pull every lane towards 1.0, so values stay finite for any count.
// FLOPs per dispatch = threads × P.iterations × 8 chains × 4 lanes × 2.
// Grid: (workgroups, 1) of 256 threads, chosen by the caller. Bindings: out [threads] f32.
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const M = vec4<f32>(0.9990234375);
const C = vec4<f32>(0.0009765625);

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // a start value per thread and chain: s + k/8 + lane/32, with s = (thread mod 1024) / 1024
  let s = vec4<f32>(f32(gid.x & 1023u) / 1024.0) + vec4<f32>(0.0, 0.03125, 0.0625, 0.09375);
  var a0 = s;
  var a1 = s + 0.125;
  var a2 = s + 0.25;
  var a3 = s + 0.375;
  var a4 = s + 0.5;
  var a5 = s + 0.625;
  var a6 = s + 0.75;
  var a7 = s + 0.875;
  for (var i = 0u; i < P.iterations; i++) {
    a0 = fma(a0, M, C);
    a1 = fma(a1, M, C);
    a2 = fma(a2, M, C);
    a3 = fma(a3, M, C);
    a4 = fma(a4, M, C);
    a5 = fma(a5, M, C);
    a6 = fma(a6, M, C);
    a7 = fma(a7, M, C);
  }
  let t = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  out[gid.x] = (t.x + t.y) + (t.z + t.w);
}
