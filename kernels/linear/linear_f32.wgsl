// y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), W f32 [rows, cols] row-major
// (cols a multiple of 4). Same two paths (override DECODE), grids and expert mode (GATHER) as linear_q4.wgsl:
// DECODE = 1, mat-vec: WG threads = (WG / CT) row groups × CT column threads; a thread owns R rows and the vec4
//   columns v = ct, ct + CT, …; it loads x[v] once and reuses it for its R rows (R independent 16-byte weight loads in
//   flight), and loads the next column's weights before this column's arithmetic (software pipelining).
//   Grid (ceil(rows / RW), items), RW = R·WG/CT.
// DECODE = 0, mat-mul: WG must be 256 = 8 rows × 32 lanes, TOKENS items per workgroup.
// Bindings: w [rows·cols/4] vec4<f32>; x [·, xStride] as vec4; y [items, yStride]; ids [items] u32; scores [items] f32.
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
override DECODE: u32 = 0u;
override WG: u32 = 256u;
override CT: u32 = 32u;
override R: u32 = 4u; // 1..8
const TOKENS = 4u;
const ROWS_PER_WG = 8u;

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;

var<workgroup> partial: array<f32, 2304>;
var<workgroup> wgExpert: u32;

fn matvec(wg: vec3<u32>, lid: u32) {
  let n = wg.y;
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  let rowFirst = wg.x * RW + rg * R;
  var rowBase = 0u;
  if (GATHER == 1u) {
    if (lid == 0u) { wgExpert = ids[n]; }
    let e = workgroupUniformLoad(&wgExpert);
    if (e < P.expertBase || e >= P.expertBase + P.expertCount) { return; }
    rowBase = (e - P.expertBase) * P.rows;
  }
  var s = 1.0;
  if (SCALE_X == 1u) { s = scores[n]; }
  let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
  let nv = P.cols / 4u;
  var w0: array<u32, 8>;
  for (var r = 0u; r < R; r++) { w0[r] = (rowBase + min(rowFirst + r, P.rows - 1u)) * nv; }
  var acc = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  // software pipelining: the next column's R weight vectors are loaded before this column's arithmetic
  var wNext: array<vec4<f32>, 8>;
  let vFirst = min(ct, nv - 1u);
  for (var r = 0u; r < R; r++) { wNext[r] = w[w0[r] + vFirst]; }
  for (var v = ct; v < nv; v += CT) {
    let wv = wNext;
    let vn = min(v + CT, nv - 1u);
    for (var r = 0u; r < R; r++) { wNext[r] = w[w0[r] + vn]; }
    let xv = x[xBase + v] * s;
    for (var r = 0u; r < R; r++) { acc[r] += dot(wv[r], xv); }
  }
  let RW1 = RW + 1u;
  for (var r = 0u; r < R; r++) { partial[ct * RW1 + rg * R + r] = acc[r]; }
  workgroupBarrier();
  let C = WG / RW;
  let row1 = lid % RW;
  let c1 = lid / RW;
  if (c1 < C) {
    var s1 = 0.0;
    for (var i = c1; i < CT; i += C) { s1 += partial[i * RW1 + row1]; }
    partial[c1 * RW1 + row1] = s1;
  }
  workgroupBarrier();
  if (lid < RW) {
    var sum = 0.0;
    for (var i = 0u; i < min(C, CT); i++) { sum += partial[i * RW1 + lid]; }
    let row = wg.x * RW + lid;
    if (row < P.rows) { y[n * P.yStride + P.yOffset + row] = sum; }
  }
}

fn matmul(wg: vec3<u32>, lid: u32) {
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (DECODE == 1u) { matvec(wg, lid); } else { matmul(wg, lid); }
}
