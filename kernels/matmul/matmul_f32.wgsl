// The f32 side of matmul.wgsl (included before it): bindings and the W tile of one K step.
// Bindings: w [rows·cols/4] vec4<f32> (cols a multiple of 4); x [·, xStride] as vec4; y [items, yStride];
// groups [items + 3·tiles] u32 (GROUPED only); scores [items] f32 (SCALE_X only).
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> groups: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;

// A K step of the W tile is 64 rows × 8 vec4 = 512 vec4; thread lid takes i = lid + j·WGS (j < 512 / WGS ≤ 8):
// row i / 8, vec4 i % 8 (8 consecutive threads read 128 contiguous bytes of a row).
struct WRegs { v: array<vec4<f32>, 8> }

fn w_load(row0: u32, rowBase: u32, b: u32, lid: u32) -> WRegs {
  var r: WRegs;
  let c4 = P.cols / 4u;
  for (var j = 0u; j < 512u / WGS; j++) {
    let i = lid + j * WGS;
    let k4 = b * 8u + i % 8u;
    // rows past the end are clamped (their outputs are not written); the K tail past cols reads zeros
    let row = rowBase + min(row0 + i / 8u, P.rows - 1u);
    r.v[j] = select(vec4<f32>(0.0), w[row * c4 + min(k4, c4 - 1u)], k4 < c4);
  }
  return r;
}

fn w_store(r: WRegs, lid: u32) {
  for (var j = 0u; j < 512u / WGS; j++) {
    let i = lid + j * WGS;
    let g = i / 32u; // row group (row i / 8, group row / 4)
    let c = (i / 8u) % 4u;
    let k = (i % 8u) * 4u;
    let v = r.v[j];
    ws[k * GN + g][c] = v.x;
    ws[(k + 1u) * GN + g][c] = v.y;
    ws[(k + 2u) * GN + g][c] = v.z;
    ws[(k + 3u) * GN + g][c] = v.w;
  }
}
