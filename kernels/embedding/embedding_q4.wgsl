// x[t, :] = E[ids[t], :] for token ids in this segment's rows [rowStart, rowStart + rows), E in Q4_0 blocks
// (kernels/linear/q4.wgsl, included). Threads: one workgroup of 256 per token, each thread one 32-weight block at a time.
// Bindings: qs [rows·cols/32] vec4<u32>; sc packed f16 pairs; ids [tokens] u32; x [tokens, cols] f32.
@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let id = ids[t];
  if (id < P.rowStart || id >= P.rowStart + P.rows) { return; }
  let nb = P.cols / 32u;
  for (var b = lid; b < nb; b += 256u) {
    let block = (id - P.rowStart) * nb + b;
    let d = q4_scale(block);
    let w = qs[block];
    let out = t * P.cols + b * 32u;
    for (var k = 0u; k < 4u; k++) {
      let lo = q4_lo(w[k]) * d;
      let hi = q4_hi(w[k]) * d;
      for (var j = 0u; j < 4u; j++) {
        x[out + 4u * k + j] = lo[j];
        x[out + 16u + 4u * k + j] = hi[j];
      }
    }
  }
}
