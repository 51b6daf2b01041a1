// Tiled GEMM for prefill: y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), xRow(n) =
// floor(n / xRowDiv). The weight format's file (matmul_q4.wgsl or matmul_f32.wgsl, included before this one) declares
// the bindings and w_load / w_store, which bring one K step of the W tile into workgroup memory.
//
// Tile: BM = 4·GM items (16, 32 or 64) × BN = 64 rows per workgroup, K step 32 (one Q4_0 block). Threads: BM / IT
// item groups × GN = 16 row groups; a thread owns IT = 4 (or 8) items × 4 rows, kept in IT vec4 accumulators (with
// IT = 8 the inner loop does 32 FMAs per 3 vec4 loads instead of 16 per 2, on half the threads). Per K step the x tile
// ([k][item], x bits as u32) and the W tile ([k][row], dequantized to f32) go through workgroup memory; the inner
// loop loads one vec4 of x (4 items) and one of W (4 rows) per k for 16 FMAs. The next K step's global loads are
// issued into registers before this step's arithmetic (one stage of software pipelining). Loads are 4 × 4 blocks
// (4 items or rows × 4 consecutive k) stored transposed as whole vec4s: no thread writes a single component of a
// workgroup vec4 (a backend may lower that to a read-modify-write of the whole vector, racing with its neighbours).
// Edges: items past the tile's count and rows past P.rows load zeros (or clamped rows) and are not written; the K
// tail of an f32 weight whose cols is not a multiple of 32 loads zeros.
//
// GROUPED = 1 (MoE prefill): the tiles come from the table expert-groups.wgsl wrote: tile first[expertBase] + wg.y =
// (expert, first, count) over `groups[0..items)`, the item indices sorted by expert; W rows start at
// (expert − expertBase)·P.rows (P.rows = rows of one expert); workgroups past this segment's experts' tiles
// (first[expertBase + expertCount]) return at once.
// Grid: (ceil(rows / 64), ceil(items / BM)), or (ceil(rows / 64), ceil(items / BM) + min(expertCount, items)) when
// GROUPED (no segment has more tiles).
override GROUPED: u32 = 0u;
override SCALE_X: u32 = 0u;
override GM: u32 = 16u; // token groups of 4 items: 4, 8 or 16
override IT: u32 = 4u; // items per thread: 4, or 8 (two item groups; GM ≥ 8 so that WGS ≥ 64)
override WGS: u32 = GN * GM * 4u / IT; // threads per workgroup (derived; not set by the host)
const GN = 16u; // row groups of 4 rows
const BN = 64u;
const NONE = 0xffffffffu;

// x bits, [k][token group]: 32 K steps × GM vec4 (u32, so the GROUPED header can pass through xs[0] as well:
// 16 KiB of workgroup memory in all, the WebGPU minimum)
var<workgroup> xs: array<vec4<u32>, 512>;
// W, [k][row group]: 32 K steps × 16 vec4 of 4 rows
var<workgroup> ws: array<vec4<f32>, 512>;

// Workgroup memory index of x (items group g) and W (row group rg) at k: the group is XORed with (k / 4) % 8, so the
// 8 threads of a quarter warp storing different k of one group hit different banks; reads, where all threads of a
// group read one address, are unaffected.
fn xs_at(k: u32, g: u32) -> u32 {
  return k * GM + (g ^ ((k >> 2u) & 7u & (GM - 1u)));
}

fn ws_at(k: u32, rg: u32) -> u32 {
  return k * GN + (rg ^ ((k >> 2u) & 7u));
}

// This thread's x job (threads lid < 8·GM): items 4g..4g+3 of the tile (g = lid / 8) × vec4 column q = lid % 8 of the
// K step, a 4 × 4 block loaded as 4 vec4 (8 consecutive threads read 128 contiguous bytes of an item's row) and
// stored transposed: 4 whole vec4 of xs, one per k.
struct XJob { base: vec4<u32>, s: vec4<f32>, ok: vec4<bool> }

fn x_load(j: XJob, q: u32, b: u32) -> mat4x4<f32> {
  let k4 = b * 8u + q;
  var r = mat4x4<f32>();
  if (k4 * 4u < P.cols) {
    if (j.ok.x) { r[0] = x[j.base.x + k4] * j.s.x; }
    if (j.ok.y) { r[1] = x[j.base.y + k4] * j.s.y; }
    if (j.ok.z) { r[2] = x[j.base.z + k4] * j.s.z; }
    if (j.ok.w) { r[3] = x[j.base.w + k4] * j.s.w; }
  }
  return r;
}

// columns of v: the 4 items; xs[k][g] gets (item 0..3 at k) for the block's k = 4q..4q+3
fn x_store(v: mat4x4<f32>, g: u32, q: u32) {
  let t = transpose(v);
  let k = q * 4u;
  xs[xs_at(k, g)] = bitcast<vec4<u32>>(t[0]);
  xs[xs_at(k + 1u, g)] = bitcast<vec4<u32>>(t[1]);
  xs[xs_at(k + 2u, g)] = bitcast<vec4<u32>>(t[2]);
  xs[xs_at(k + 3u, g)] = bitcast<vec4<u32>>(t[3]);
}

@compute @workgroup_size(WGS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let BM = 4u * GM;
  var first = wg.y * BM;
  var count = min(BM, P.items - min(first, P.items));
  var rowBase = 0u;
  if (GROUPED == 1u) {
    if (lid == 0u) {
      let firstTile = P.items + 3u * P.maxTiles;
      let tile = groups[firstTile + P.expertBase] + wg.y;
      var head = vec4<u32>(NONE, 0u, 0u, 0u);
      if (tile < groups[firstTile + P.expertBase + P.expertCount]) {
        let t = P.items + tile * 3u;
        head = vec4<u32>(groups[t], groups[t + 1u], groups[t + 2u], 0u);
      }
      xs[0] = head;
    }
    let h = workgroupUniformLoad(&xs[0]);
    workgroupBarrier(); // every thread has the header before xs is overwritten
    if (h.x == NONE || h.x < P.expertBase || h.x >= P.expertBase + P.expertCount) { return; }
    rowBase = (h.x - P.expertBase) * P.rows;
    first = h.y;
    count = h.z;
  }
  let row0 = wg.x * BN;
  // this thread's x job, if any (lid < 8·GM: item group g, vec4 column q)
  let xg = lid / 8u;
  let q = lid % 8u;
  let hasX = lid < 8u * GM;
  var job: XJob;
  for (var t = 0u; t < 4u; t++) {
    let m = xg * 4u + t;
    let ok = hasX && m < count;
    var n = first + m;
    if (GROUPED == 1u && ok) { n = groups[first + m]; }
    job.ok[t] = ok;
    job.base[t] = select(0u, (n / P.xRowDiv) * (P.xStride / 4u), ok);
    job.s[t] = 1.0;
    if (SCALE_X == 1u && ok) { job.s[t] = scores[n]; }
  }

  let tg = lid / GN;
  let rg = lid % GN;
  var acc0 = vec4<f32>(0.0); // item IT·tg + 0, rows 4·rg..4·rg+3
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0); // IT = 8 only: items IT·tg + 4..7
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  let steps = (P.cols + 31u) / 32u;
  var xr = x_load(job, q, 0u);
  var wr = w_load(row0, rowBase, 0u, lid);
  for (var b = 0u; b < steps; b++) {
    if (hasX) { x_store(xr, xg, q); }
    w_store(wr, lid);
    workgroupBarrier();
    if (b + 1u < steps) {
      xr = x_load(job, q, b + 1u);
      wr = w_load(row0, rowBase, b + 1u, lid);
    }
    // k = 4·k4 + kk: the swizzle is the same for the 4 k of a k4 (xs_at, ws_at), so the indices cost one add per load
    // whether or not the compiler unrolls these loops
    for (var k4 = 0u; k4 < 8u; k4++) {
      let xi = xs_at(k4 * 4u, tg * (IT / 4u));
      let xi2 = xs_at(k4 * 4u, tg * 2u + 1u);
      let wi = ws_at(k4 * 4u, rg);
      for (var kk = 0u; kk < 4u; kk++) {
        let w4 = ws[wi + kk * GN];
        let a = bitcast<vec4<f32>>(xs[xi + kk * GM]);
        acc0 = fma(vec4<f32>(a.x), w4, acc0);
        acc1 = fma(vec4<f32>(a.y), w4, acc1);
        acc2 = fma(vec4<f32>(a.z), w4, acc2);
        acc3 = fma(vec4<f32>(a.w), w4, acc3);
        if (IT == 8u) {
          let a2 = bitcast<vec4<f32>>(xs[xi2 + kk * GM]);
          acc4 = fma(vec4<f32>(a2.x), w4, acc4);
          acc5 = fma(vec4<f32>(a2.y), w4, acc5);
          acc6 = fma(vec4<f32>(a2.z), w4, acc6);
          acc7 = fma(vec4<f32>(a2.w), w4, acc7);
        }
      }
    }
    workgroupBarrier();
  }
  let row = row0 + rg * 4u;
  let mt = tg * IT;
  if (mt < count) { write_row(first, mt, row, acc0); }
  if (mt + 1u < count) { write_row(first, mt + 1u, row, acc1); }
  if (mt + 2u < count) { write_row(first, mt + 2u, row, acc2); }
  if (mt + 3u < count) { write_row(first, mt + 3u, row, acc3); }
  if (IT == 8u) {
    if (mt + 4u < count) { write_row(first, mt + 4u, row, acc4); }
    if (mt + 5u < count) { write_row(first, mt + 5u, row, acc5); }
    if (mt + 6u < count) { write_row(first, mt + 6u, row, acc6); }
    if (mt + 7u < count) { write_row(first, mt + 7u, row, acc7); }
  }
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
