// Same contract as linear_f32.wgsl, for CPU adapters (SwiftShader): one thread per output row and group of
// TOKENS items, no workgroup memory and no barriers. Grid: (ceil(rows / 64), ceil(items / TOKENS)).
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
const TOKENS = 4u;

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= P.rows) { return; }
  let nv = P.cols / 4u;
  for (var t = 0u; t < TOKENS; t++) {
    let n = gid.y * TOKENS + t;
    if (n >= P.items) { return; }
    var rowBase = row;
    if (GATHER == 1u) {
      let e = ids[n];
      if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
      rowBase = (e - P.expertBase) * P.rows + row;
    }
    var s = 1.0;
    if (SCALE_X == 1u) { s = scores[n]; }
    let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
    let wBase = rowBase * nv;
    var acc = 0.0;
    for (var v = 0u; v < nv; v++) { acc += dot(w[wBase + v], x[xBase + v] * s); }
    y[n * P.yStride + P.yOffset + row] = acc;
  }
}
