// The Q4_0 side of matmul.wgsl (included before it, after q4.wgsl): bindings and the W tile of one K step.
// Bindings: qs [rows·cols/32] vec4<u32>; sc [ceil(rows·cols/32 / 2)] u32 (f16 scale pairs); x [·, xStride] f32 as
// vec4; y [items, yStride] f32; groups [items + 3·tiles] u32 (GROUPED only); scores [items] f32 (SCALE_X only).
@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> groups: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

// A K step of the W tile is 64 rows × one block = 256 words; thread lid takes words i = lid + j·WGS (j < 256 / WGS
// ≤ 4): row i / 4, word i % 4 of the block (4 consecutive threads read one block's 16 bytes).
struct WRegs { q: array<u32, 4>, d: array<f32, 4> }

fn w_load(row0: u32, rowBase: u32, b: u32, lid: u32) -> WRegs {
  var r: WRegs;
  let nb = P.cols / 32u;
  for (var j = 0u; j < 256u / WGS; j++) {
    let i = lid + j * WGS;
    // rows past the end are clamped (loads stay in bounds); their outputs are not written
    let block = (rowBase + min(row0 + i / 4u, P.rows - 1u)) * nb + b;
    r.q[j] = qs[block][i % 4u];
    r.d[j] = q4_scale(block);
  }
  return r;
}

// word k of a block holds weights 4k..4k+3 (low nibbles) and 16+4k..16+4k+3 (high nibbles)
fn w_store(r: WRegs, lid: u32) {
  for (var j = 0u; j < 256u / WGS; j++) {
    let i = lid + j * WGS;
    let g = i / 16u; // row group (row i / 4, group row / 4)
    let c = (i / 4u) % 4u;
    let k = (i % 4u) * 4u;
    let lo = q4_lo(r.q[j]) * r.d[j];
    let hi = q4_hi(r.q[j]) * r.d[j];
    ws[k * GN + g][c] = lo.x;
    ws[(k + 1u) * GN + g][c] = lo.y;
    ws[(k + 2u) * GN + g][c] = lo.z;
    ws[(k + 3u) * GN + g][c] = lo.w;
    ws[(k + 16u) * GN + g][c] = hi.x;
    ws[(k + 17u) * GN + g][c] = hi.y;
    ws[(k + 18u) * GN + g][c] = hi.z;
    ws[(k + 19u) * GN + g][c] = hi.w;
  }
}
