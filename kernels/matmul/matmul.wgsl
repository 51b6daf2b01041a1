// Tiled GEMM for prefill: y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), xRow(n) =
// floor(n / xRowDiv). The weight format's file (matmul_q4.wgsl or matmul_f32.wgsl, included before this one) declares
// the bindings and w_load / w_store, which bring one K step of the W tile into workgroup memory.
//
// Tile: BM = 4·GM items (16, 32 or 64) × BN = 64 rows per workgroup, K step 32 (one Q4_0 block). Threads: GM token
// groups × GN = 16 row groups; a thread owns 4 items × 4 rows, kept in four vec4 accumulators. Per K step the x tile
// ([k][item], x bits as u32) and the W tile ([k][row], dequantized to f32) go through workgroup memory; the inner
// loop loads one vec4 of x (4 items) and one of W (4 rows) per k for 16 FMAs. The next K step's global loads are
// issued into registers before this step's arithmetic (one stage of software pipelining).
// Edges: items past the tile's count and rows past P.rows load zeros (or clamped rows) and are not written; the K
// tail of an f32 weight whose cols is not a multiple of 32 loads zeros.
//
// GROUPED = 1 (MoE prefill): the tiles come from the table expert-groups.wgsl wrote: tile wg.y = (expert, first,
// count) over `groups[0..items)`, the item indices sorted by expert; W rows start at (expert − expertBase)·P.rows
// (P.rows = rows of one expert); tiles of experts outside this segment's [expertBase, expertBase + expertCount), and
// unused tiles (expert 0xffffffff), return at once.
// Grid: (ceil(rows / 64), ceil(items / BM)), or (ceil(rows / 64), the table's tile count) when GROUPED.
override GROUPED: u32 = 0u;
override SCALE_X: u32 = 0u;
override GM: u32 = 16u; // token groups of 4 items: 4, 8 or 16
override WGS: u32 = GN * GM; // threads per workgroup (derived; not set by the host)
const GN = 16u; // row groups of 4 rows
const BN = 64u;
const NONE = 0xffffffffu;

// x bits, [k][token group]: 32 K steps × GM vec4 (u32, so the GROUPED header can pass through xs[0] as well:
// 16 KiB of workgroup memory in all, the WebGPU minimum)
var<workgroup> xs: array<vec4<u32>, 512>;
// W, [k][row group]: 32 K steps × 16 vec4 of 4 rows
var<workgroup> ws: array<vec4<f32>, 512>;

struct XRegs { v0: vec4<f32>, v1: vec4<f32> }

// the x values of this thread's two loads (i = lid and lid + WGS: item m = i / 8, vec4 q = i % 8) at K step b
fn x_load(xb: vec2<u32>, s: vec2<f32>, ok: vec2<bool>, q: u32, b: u32) -> XRegs {
  let k4 = b * 8u + q;
  let inK = k4 * 4u < P.cols;
  var r = XRegs(vec4<f32>(0.0), vec4<f32>(0.0));
  if (ok.x && inK) { r.v0 = x[xb.x + k4] * s.x; }
  if (ok.y && inK) { r.v1 = x[xb.y + k4] * s.y; }
  return r;
}

fn x_store_one(v: vec4<f32>, m: u32, q: u32) {
  let g = m / 4u;
  let c = m % 4u;
  let k = q * 4u;
  xs[k * GM + g][c] = bitcast<u32>(v.x);
  xs[(k + 1u) * GM + g][c] = bitcast<u32>(v.y);
  xs[(k + 2u) * GM + g][c] = bitcast<u32>(v.z);
  xs[(k + 3u) * GM + g][c] = bitcast<u32>(v.w);
}

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let BM = 4u * GM;
  var first = wg.y * BM;
  var count = min(BM, P.items - min(first, P.items));
  var rowBase = 0u;
  if (GROUPED == 1u) {
    let t = P.items + wg.y * 3u;
    if (lid == 0u) { xs[0] = vec4<u32>(groups[t], groups[t + 1u], groups[t + 2u], 0u); }
    let h = workgroupUniformLoad(&xs[0]);
    workgroupBarrier(); // every thread has the header before xs is overwritten
    if (h.x == NONE || h.x < P.expertBase || h.x >= P.expertBase + P.expertCount) { return; }
    rowBase = (h.x - P.expertBase) * P.rows;
    first = h.y;
    count = h.z;
  }
  let row0 = wg.x * BN;
  // this thread's two x loads: items m0, m1 of the tile, vec4 column q of the K step
  let q = lid % 8u;
  let m0 = lid / 8u;
  let m1 = (lid + WGS) / 8u;
  let ok = vec2<bool>(m0 < count, m1 < count);
  var n0 = first + m0;
  var n1 = first + m1;
  if (GROUPED == 1u) {
    n0 = select(0u, groups[first + m0], ok.x);
    n1 = select(0u, groups[first + m1], ok.y);
  }
  var s = vec2<f32>(1.0);
  if (SCALE_X == 1u) {
    if (ok.x) { s.x = scores[n0]; }
    if (ok.y) { s.y = scores[n1]; }
  }
  let xb = vec2<u32>((n0 / P.xRowDiv) * (P.xStride / 4u), (n1 / P.xRowDiv) * (P.xStride / 4u));

  let tg = lid / GN;
  let rg = lid % GN;
  var acc0 = vec4<f32>(0.0); // item 4·tg + 0, rows 4·rg..4·rg+3
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let steps = (P.cols + 31u) / 32u;
  var xr = x_load(xb, s, ok, q, 0u);
  var wr = w_load(row0, rowBase, 0u, lid);
  for (var b = 0u; b < steps; b++) {
    x_store_one(xr.v0, m0, q);
    x_store_one(xr.v1, m1, q);
    w_store(wr, lid);
    workgroupBarrier();
    if (b + 1u < steps) {
      xr = x_load(xb, s, ok, q, b + 1u);
      wr = w_load(row0, rowBase, b + 1u, lid);
    }
    for (var k = 0u; k < 32u; k++) {
      let a = bitcast<vec4<f32>>(xs[k * GM + tg]);
      let w4 = ws[k * GN + rg];
      acc0 = fma(vec4<f32>(a.x), w4, acc0);
      acc1 = fma(vec4<f32>(a.y), w4, acc1);
      acc2 = fma(vec4<f32>(a.z), w4, acc2);
      acc3 = fma(vec4<f32>(a.w), w4, acc3);
    }
    workgroupBarrier();
  }
  let row = row0 + rg * 4u;
  let mt = tg * 4u;
  if (mt < count) { write_row(first, mt, row, acc0); }
  if (mt + 1u < count) { write_row(first, mt + 1u, row, acc1); }
  if (mt + 2u < count) { write_row(first, mt + 2u, row, acc2); }
  if (mt + 3u < count) { write_row(first, mt + 3u, row, acc3); }
}

// the 4 outputs of tile item m at rows row..row+3 (those below P.rows)
fn write_row(first: u32, m: u32, row: u32, v: vec4<f32>) {
  var n = first + m;
  if (GROUPED == 1u) { n = groups[first + m]; }
  let o = n * P.yStride + P.yOffset + row;
  if (row < P.rows) { y[o] = v.x; }
  if (row + 1u < P.rows) { y[o + 1u] = v.y; }
  if (row + 2u < P.rows) { y[o + 2u] = v.z; }
  if (row + 3u < P.rows) { y[o + 3u] = v.w; }
}
