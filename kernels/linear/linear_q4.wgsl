// y[n, yOffset + r] = Σ_i W[r, i] · x[xRow(n), i] (· scores[n] when SCALE_X), W in Q4_0 blocks:
// 32 consecutive weights along i share one f16 scale d; weight = (q − 8)·d, q a 4-bit code.
// Block layout (GGUF Q4_0 byte order): qs = 16 bytes as vec4<u32>; byte j holds q[j] (low nibble) and q[j+16] (high).
// Threads: 256 = 8 rows × 32 lanes; lanes stride over a row's blocks; the 32 partial sums are tree-reduced.
// Grid: (ceil(rows / 8), ceil(items / TOKENS)). Each workgroup reuses a loaded block for TOKENS items.
// Expert mode (GATHER = 1): item n uses expert ids[n]; its rows start at (ids[n] − expertBase)·rows; items whose
// expert lies outside [expertBase, expertBase + expertCount) are left to the dispatch of the segment holding it.
// Bindings: qs [rows·cols/32] vec4<u32>; sc [ceil(rows·cols/32 / 2)] u32 (two f16 scales each);
// x [items or tokens, xStride] f32 as vec4; y [items, yStride] f32; ids [items] u32; scores [items] f32.
override GATHER: u32 = 0u;
override SCALE_X: u32 = 0u;
const TOKENS = 4u;
const ROWS_PER_WG = 8u;

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> ids: array<u32>;
@group(0) @binding(6) var<storage, read> scores: array<f32>;

var<workgroup> partial: array<f32, 1024>; // 256 threads × TOKENS

fn scale_of(block: u32) -> f32 {
  let pair = unpack2x16float(sc[block >> 1u]);
  return select(pair.x, pair.y, (block & 1u) == 1u);
}

fn block_dot(block: u32, xBase: u32, s: f32) -> f32 {
  let w = qs[block];
  var sum = 0.0;
  for (var k = 0u; k < 4u; k++) {
    let word = w[k];
    let lo = vec4<f32>(vec4<u32>(word, word >> 8u, word >> 16u, word >> 24u) & vec4<u32>(15u)) - vec4<f32>(8.0);
    let hi = vec4<f32>(vec4<u32>(word >> 4u, word >> 12u, word >> 20u, word >> 28u) & vec4<u32>(15u)) - vec4<f32>(8.0);
    sum += dot(lo, x[xBase + k] * s) + dot(hi, x[xBase + 4u + k] * s);
  }
  return sum * scale_of(block);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % 32u;
  let rowInWg = lid / 32u;
  let row = wg.x * ROWS_PER_WG + rowInWg;
  let n0 = wg.y * TOKENS;
  let nb = P.cols / 32u;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  if (row < P.rows) {
    for (var t = 0u; t < TOKENS; t++) {
      let n = n0 + t;
      if (n >= P.items) { break; }
      var rowBase = row;
      if (GATHER == 1u) {
        let e = ids[n];
        if (e < P.expertBase || e >= P.expertBase + P.expertCount) { continue; }
        rowBase = (e - P.expertBase) * P.rows + row;
      } else if (t > 0u) {
        break; // without gathering, the loop below handles every token with one weight load
      }
      var s = 1.0;
      if (SCALE_X == 1u) { s = scores[n]; }
      if (GATHER == 1u) {
        let xBase = (n / P.xRowDiv) * (P.xStride / 4u);
        for (var b = lane; b < nb; b += 32u) {
          acc[t] += block_dot(rowBase * nb + b, xBase + b * 8u, s);
        }
      } else {
        for (var b = lane; b < nb; b += 32u) {
          let block = rowBase * nb + b;
          for (var u = 0u; u < TOKENS; u++) {
            let m = n0 + u;
            if (m >= P.items) { break; }
            var su = 1.0;
            if (SCALE_X == 1u) { su = scores[m]; }
            acc[u] += block_dot(block, (m / P.xRowDiv) * (P.xStride / 4u) + b * 8u, su);
          }
        }
      }
    }
  }
  for (var t = 0u; t < TOKENS; t++) { partial[t * 256u + lid] = acc[t]; }
  workgroupBarrier();
  for (var stride = 16u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
      for (var t = 0u; t < TOKENS; t++) {
        partial[t * 256u + lid] += partial[t * 256u + lid + stride];
      }
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
