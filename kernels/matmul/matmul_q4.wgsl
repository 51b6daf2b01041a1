// The Q4_0 side of matmul.wgsl (included before it, after q4.wgsl): bindings and the W tile of one K step.
// Bindings: qs [rows·cols/32] vec4<u32>; sc [ceil(rows·cols/32 / 2)] u32 (f16 scale pairs); x [·, xStride] f32 as
// vec4; y [items, yStride] f32; groups [items + 3·tiles] u32 (GROUPED only); scores [items] f32 (SCALE_X only).
@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> groups: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

// A K step of the W tile is 64 rows × one block. Jobs: 16 row groups × 4 words: job p = lid % 64 loads word j = p % 4
// of the block of rows 4·rg..4·rg+3 (rg = p / 4; 4 consecutive threads read one block's 16 bytes) with their scales,
// and stores the 4 rows × 4 weights of its low nibbles (k = 4j..4j+3) and of its high nibbles (k = 16+4j..) as whole
// vec4s of ws; with 128 threads or more, threads 0–63 store the low halves and 64–127 the high ones (loading the same
// words), with 64 threads each thread stores both.
struct WRegs { q: vec4<u32>, d: vec4<f32> }

fn w_load(row0: u32, rowBase: u32, b: u32, lid: u32) -> WRegs {
  var r: WRegs;
  if (lid < 128u) {
    let nb = P.cols / 32u;
    let p = lid % 64u;
    let j = p % 4u;
    let first = row0 + (p / 4u) * 4u;
    for (var t = 0u; t < 4u; t++) {
      // rows past the end are clamped (loads stay in bounds); their outputs are not written
      let block = (rowBase + min(first + t, P.rows - 1u)) * nb + b;
      r.q[t] = qs[block][j];
      r.d[t] = q4_scale(block);
    }
  }
  return r;
}

// the 4 rows' weights at k = k0..k0+3 (columns: rows), stored as ws[k][rg]
fn w_store4(m: mat4x4<f32>, k0: u32, rg: u32) {
  let t = transpose(m);
  ws[ws_at(k0, rg)] = t[0];
  ws[ws_at(k0 + 1u, rg)] = t[1];
  ws[ws_at(k0 + 2u, rg)] = t[2];
  ws[ws_at(k0 + 3u, rg)] = t[3];
}

fn w_store(r: WRegs, lid: u32) {
  if (lid >= 128u) { return; }
  let p = lid % 64u;
  let rg = p / 4u;
  let j = p % 4u;
  let hiHalf = lid >= 64u;
  if (WGS == 64u || !hiHalf) {
    w_store4(mat4x4<f32>(q4_lo(r.q.x) * r.d.x, q4_lo(r.q.y) * r.d.y, q4_lo(r.q.z) * r.d.z, q4_lo(r.q.w) * r.d.w), j * 4u, rg);
  }
  if (WGS == 64u || hiHalf) {
    w_store4(mat4x4<f32>(q4_hi(r.q.x) * r.d.x, q4_hi(r.q.y) * r.d.y, q4_hi(r.q.z) * r.d.z, q4_hi(r.q.w) * r.d.w), 16u + j * 4u, rg);
  }
}
