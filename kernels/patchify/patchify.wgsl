// Unfold one tile into patch vectors (torch.nn.Unfold(p, stride p) then permute): for the grid g = size / p,
// patch t = r·g + c (raster order) holds out[t, ch·p² + i·p + j] = pixels[ch, r·p + i, c·p + j].
// Threads: one per output element. Bindings: pixels [3, size, size] f32; out [g², 3·p²] f32.
@group(0) @binding(1) var<storage, read> pixels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  let g = P.size / P.patchSize;
  let width = P.channels * P.patchSize * P.patchSize;
  if (idx >= g * g * width) { return; }
  let t = idx / width;
  let k = idx % width;
  let ch = k / (P.patchSize * P.patchSize);
  let i = (k / P.patchSize) % P.patchSize;
  let j = k % P.patchSize;
  let y = (t / g) * P.patchSize + i;
  let x = (t % g) * P.patchSize + j;
  out[idx] = pixels[(ch * P.size + y) * P.size + x];
}
