// Same contract as linear_q4.wgsl (bindings, uniforms, GATHER, SCALE_X), for CPU adapters (SwiftShader):
// one thread per output row and group of TOKENS items, no workgroup memory and no barriers, which a CPU runs
// fast and a GPU would not (uncoalesced loads). Grid: (ceil(rows / 64), ceil(items / TOKENS)).
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
const TOKENS = 4u;

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

fn block_dot(block: u32, xBase: u32, s: f32) -> f32 {
  let w = qs[block];
  var sum = 0.0;
  for (var k = 0u; k < 4u; k++) {
    sum += dot(q4_lo(w[k]), x[xBase + k] * s) + dot(q4_hi(w[k]), x[xBase + 4u + k] * s);
  }
  return sum * q4_scale(block);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= P.rows) { return; }
  let nb = P.cols / 32u;
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
    var acc = 0.0;
    for (var b = 0u; b < nb; b++) { acc += block_dot(rowBase * nb + b, xBase + b * 8u, s); }
    y[n * P.yStride + P.yOffset + row] = acc;
  }
}
