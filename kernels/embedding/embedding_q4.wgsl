// x[t, :] = E[ids[t], :] for token ids in this segment's rows [rowStart, rowStart + rows), E in Q4_0 blocks
// (layout as linear_q4.wgsl). Threads: one workgroup of 256 per token, each thread one 32-weight block at a time.
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
    let pair = unpack2x16float(sc[block >> 1u]);
    let d = select(pair.x, pair.y, (block & 1u) == 1u);
    let w = qs[block];
    let out = t * P.cols + b * 32u;
    for (var j = 0u; j < 16u; j++) {
      let byte = (w[j / 4u] >> ((j % 4u) * 8u)) & 255u;
      x[out + j] = (f32(byte & 15u) - 8.0) * d;
      x[out + j + 16u] = (f32(byte >> 4u) - 8.0) * d;
    }
  }
}
