// expert_q4.wgsl (same modes, items, grids, uniforms and outputs) over f32 weights [rows, cols] row-major: a thread owns R
// rows and the vec4 columns g = ct, ct + CT, … of the item's concatenated input, as linear_f32.wgsl's mat-vec.
// Bindings: w: the routed pool segment; w2: the shared expert (or dense) weight; x; y; ids [routed] u32 (ROUTE > 0:
// the router logits, expert-route.wgsl); aux: scores (MODE 0) or the routed rows j ≥ 1 (MODE 1).
override MODE: u32 = 0u;
override SCALE_X: u32 = 1u;
override WG: u32 = 256u;
override CT: u32 = 256u;
override R: u32 = 8u; // 1..8

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<u32>;
@group(0) @binding(6) var<storage, read_write> aux: array<f32>;

var<workgroup> partial: array<f32, 2304>;
var<workgroup> pairs: array<f32, 256>; // MODE 0: the RW gate and up sums

var<private> oR: array<u32, 8>; // row offsets (in vec4) of segment 0: the routed expert, or the shared weight when seg0Shared
var<private> oS: array<u32, 8>; // of segment 1: the shared weight
var<private> seg0Shared: bool;
var<private> nv: u32;
var<private> xo0: u32;
var<private> xo1: u32;

fn load_v(sh: bool, i: u32) -> vec4<f32> {
  if (sh) { return w2[i]; }
  return w[i];
}

// column g of the item's concatenated input, R rows (g < nv: segment 0, else segment 1)
fn load_col(g: u32) -> array<vec4<f32>, 8> {
  var l: array<vec4<f32>, 8>;
  if (g < nv) {
    for (var r = 0u; r < R; r++) { l[r] = load_v(seg0Shared, oR[r] + g); }
  } else {
    for (var r = 0u; r < R; r++) { l[r] = w2[oS[r] + g - nv]; }
  }
  return l;
}

fn x_of(g: u32) -> vec4<f32> {
  var xo = xo0 + g;
  if (g >= nv) { xo = xo1 + g - nv; }
  return x[xo];
}

// MODE 0: the weight row of the workgroup's row v (as in expert_q4.wgsl)
fn act_row(v: u32, i0: u32, half: u32) -> u32 {
  let F = P.rows / 2u;
  if (v < half) { return min(i0 + v, F - 1u); }
  return F + min(i0 + v - half, F - 1u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wg.y;
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  let routed = n < P.routed;
  var rowBase = 0u;
  if (routed) {
    let e = item_expert(n, lid);
    if (e < P.expertBase || e >= P.expertBase + P.expertCount) { return; }
    rowBase = (e - P.expertBase) * P.rows;
  }
  var s = 1.0;
  var segments = 1u;
  nv = P.cols / 4u;
  seg0Shared = !routed;
  if (MODE == 0u) {
    if (routed && SCALE_X == 1u) { s = item_score(n); }
    xo0 = select(n - P.routed, n / P.k, routed) * nv;
  } else {
    xo0 = n * nv;
    if (routed && P.withShared == 1u && n % P.k == 0u) {
      segments = 2u;
      xo1 = (P.routed + n / P.k) * nv;
    }
  }
  let rowFirst = wg.x * RW + rg * R;
  let half = RW / 2u;
  for (var r = 0u; r < R; r++) {
    var row = min(rowFirst + r, P.rows - 1u); // rows past the end are clamped and their sums dropped
    if (MODE == 0u) { row = act_row(rg * R + r, wg.x * half, half); }
    oR[r] = (rowBase + row) * nv;
    oS[r] = row * nv;
  }
  let total = segments * nv;
  var acc = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  // software pipelining: the next column's R weight vectors are loaded before this column's arithmetic
  var next = load_col(min(ct, total - 1u));
  for (var g = ct; g < total; g += CT) {
    let wv = next;
    next = load_col(min(g + CT, total - 1u));
    let xv = x_of(g) * s;
    for (var r = 0u; r < R; r++) { acc[r] += dot(wv[r], xv); }
  }
  let sum = matvec_row_sum(vec4<f32>(acc[0], acc[1], acc[2], acc[3]), vec4<f32>(acc[4], acc[5], acc[6], acc[7]), lid);
  if (MODE == 0u) {
    if (matvec_sum_owner(lid)) { pairs[matvec_sum_row(lid)] = sum; }
    workgroupBarrier();
    let i = wg.x * half + lid;
    let F = P.rows / 2u;
    if (lid < half && i < F) {
      let g = pairs[lid];
      y[n * F + i] = pairs[lid + half] * (g / (1.0 + exp(-g)));
    }
    return;
  }
  let row = wg.x * RW + matvec_sum_row(lid);
  if (!matvec_sum_owner(lid) || row >= P.rows) { return; }
  if (!routed) {
    y[(n - P.routed) * P.rows + row] = sum;
  } else if (n % P.k == 0u) {
    y[(n / P.k) * P.rows + row] = sum;
  } else {
    aux[((n / P.k) * (P.k - 1u) + n % P.k - 1u) * P.rows + row] = sum;
  }
}
