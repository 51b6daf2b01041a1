// y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), W f32 [rows, cols] row-major
// (cols a multiple of 4). Same thread layout, grid and expert mode (GATHER) as linear_q4.wgsl.
// Bindings: w [rows·cols/4] vec4<f32>; x [·, xStride] as vec4; y [items, yStride]; ids [items] u32; scores [items] f32.
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
const TOKENS = 4u;
const ROWS_PER_WG = 8u;

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;

var<workgroup> partial: array<f32, 1024>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % 32u;
  let row = wg.x * ROWS_PER_WG + lid / 32u;
  let n0 = wg.y * TOKENS;
  let nv = P.cols / 4u;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  if (row < P.rows) {
    if (GATHER == 1u) {
      for (var t = 0u; t < TOKENS; t++) {
        let n = n0 + t;
        if (n >= P.items) { break; }
        let e = ids[n];
        if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
        let wBase = ((e - P.expertBase) * P.rows + row) * nv;
        let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
        var s = 1.0;
        if (SCALE_X == 1u) { s = scores[n]; }
        for (var v = lane; v < nv; v += 32u) { acc[t] += dot(w[wBase + v], x[xBase + v] * s); }
      }
    } else {
      let wBase = row * nv;
      for (var v = lane; v < nv; v += 32u) {
        let wv = w[wBase + v];
        for (var t = 0u; t < TOKENS; t++) {
          let n = n0 + t;
          if (n >= P.items) { break; }
          var s = 1.0;
          if (SCALE_X == 1u) { s = scores[n]; }
          acc[t] += dot(wv, x[(n / P.xRowDiv) * (P.xStride / 4u) + v] * s);
        }
      }
    }
  }
  for (var t = 0u; t < TOKENS; t++) { partial[t * 256u + lid] = acc[t]; }
  workgroupBarrier();
  for (var stride = 16u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      for (var t = 0u; t < TOKENS; t++) { partial[t * 256u + lid] += partial[t * 256u + lid + stride]; }
    }
    workgroupBarrier();
  }
  if (lane == 0u && row < P.rows) {
    for (var t = 0u; t < TOKENS; t++) {
      let n = n0 + t;
      if (n >= P.items) { break; }
      if (GATHER == 1u) {
        let e = ids[n];
        if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
      }
      y[n * P.yStride + P.yOffset + row] = partial[t * 256u + lid];
    }
  }
}
