// The f32 side of matmul.wgsl (included before it): bindings and the W tile of one K step.
// Bindings: w [rows·cols/4] vec4<f32> (cols a multiple of 4); x [·, xStride] as vec4; y [items, yStride];
// groups [items + 3·tiles] u32 (GROUPED only); scores [items] f32 (SCALE_X only).
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> groups: array<u32>;
@group(0) @binding(5) var<storage, read> scores: array<f32>;

// A K step of the W tile is 64 rows × 8 vec4. Jobs: 16 row groups × 8 vec4 columns = 128; job i = lid + jj·WGS
// (jj < 2, as many as the workgroup needs) loads vec4 column i % 8 of rows 4·(i / 8)..+3 (8 consecutive threads read
// 128 contiguous bytes of a row) and stores the 4 × 4 block transposed as whole vec4s of ws.
struct WRegs { a: mat4x4<f32>, b: mat4x4<f32> }

fn w_job(row0: u32, rowBase: u32, b: u32, i: u32) -> mat4x4<f32> {
  let c4 = P.cols / 4u;
  let k4 = b * 8u + i % 8u;
  var m = mat4x4<f32>();
  if (k4 < c4) { // the K tail past cols reads zeros
    let first = row0 + (i / 8u) * 4u;
    // rows past the end are clamped (loads stay in bounds); their outputs are not written
    for (var t = 0u; t < 4u; t++) { m[t] = w[(rowBase + min(first + t, P.rows - 1u)) * c4 + k4]; }
  }
  return m;
}

fn w_load(row0: u32, rowBase: u32, b: u32, lid: u32) -> WRegs {
  var r: WRegs;
  if (lid < 128u) { r.a = w_job(row0, rowBase, b, lid); }
  if (WGS == 64u) { r.b = w_job(row0, rowBase, b, lid + 64u); }
  return r;
}

fn w_store_job(m: mat4x4<f32>, i: u32) {
  let t = transpose(m);
  let rg = i / 8u;
  let k = (i % 8u) * 4u;
  ws[ws_at(k, rg)] = t[0];
  ws[ws_at(k + 1u, rg)] = t[1];
  ws[ws_at(k + 2u, rg)] = t[2];
  ws[ws_at(k + 3u, rg)] = t[3];
}

fn w_store(r: WRegs, lid: u32) {
  if (lid < 128u) { w_store_job(r.a, lid); }
  if (WGS == 64u) { w_store_job(r.b, lid + 64u); }
}
