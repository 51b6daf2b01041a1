// x[t, :] = E[ids[t], :] for token ids in this segment's rows [rowStart, rowStart + rows), E f32 [rows, cols].
// Threads: one workgroup of 256 per token. Bindings: e [rows·cols] f32; ids [tokens] u32; x [tokens, cols] f32.
@group(0) @binding(1) var<storage, read> e: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let id = ids[t];
  if (id < P.rowStart || id >= P.rowStart + P.rows) { return; }
  for (var i = lid; i < P.cols; i += 256u) {
    x[t * P.cols + i] = e[(id - P.rowStart) * P.cols + i];
  }
}
