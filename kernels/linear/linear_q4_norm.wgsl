// The end of one block and the first mat-vec of the next in one dispatch (decode, q4 weights, the integer dot product):
//   x'[n, :] = x[n, :] + (a[n, :] + Σ_{j<K} b[n·K + j, :])          (add-norm.wgsl's residual update, same f32 steps)
//   h[n, :]  = x'[n, :] · rsqrt(mean(x'[n, :]²) + eps) · weight      (the next RMSNorm, add-norm.wgsl's expression)
//   y[n, yOffset + r] = Σ_i W[r, i] · h[n, i]                        (linear_q4.wgsl's mat-vec on h in integer form)
// so that add-norm needs no dispatch of its own before it (linear.ts linearNormIn: Q/K/V after the MoE or MLP).
// Every workgroup computes what it needs of h itself: row group 0 sums the squares of x' over the whole row (its CT
// column threads cover it: blocks ct, ct + CT, …), the sums meet in workgroup memory and every thread adds them up in
// the same order, so every workgroup gets the same r; then each thread makes the integer form (quantize-x.wgsl's
// layout and formulas, xq-block.wgsl) of each block it multiplies, alone: a block's 32 values are all its own. The
// weights of a thread's first block are in flight during the norm. Workgroup (0, n) of the dispatch with
// P.writeResidual = 1 also writes x'[n, :] to xOut (≠ x: no workgroup reads what another writes).
// h differs from add-norm's by the order of the sum of squares (r's last bits), not otherwise.
// Bindings: qs, sc (q4.wgsl); x, a [tokens, cols]; b [tokens·K, cols]; weight [cols] (all vec4 of f32); xOut; y.
// Grid (ceil(rows / RW), tokens), RW = R·WG/CT; uniform flow throughout (two barriers, then matvec_row_sum's).
override WG: u32 = 128u;
override CT: u32 = 32u; // column threads per row group (divides WG)
override R: u32 = 4u;   // rows per thread, 1..8
override K: u32 = 0u;   // routed rows per token

@group(0) @binding(1) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> sc: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> xOut: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 2304>; // the sums of squares, then matvec_row_sum's

// updated(n, n4, i): the new residual at vec4 i of token n's row (kernels/add-norm/residual-update.wgsl, included:
// add-norm.wgsl's own)

/** block g of token n's h in integer form, from one thread (xq-write.wgsl's formulas without the 8-thread reduction) */
fn h_block(n: u32, n4: u32, g: u32, r: f32) -> XqBlock {
  var h: array<vec4<f32>, 8>;
  var m = 0.0;
  for (var w = 0u; w < 8u; w++) {
    let i = g * 8u + w;
    h[w] = updated(n, n4, i) * r * weight[i];
    let v = abs(h[w]);
    m = max(m, max(max(v.x, v.y), max(v.z, v.w)));
  }
  let k = xq_exponent(m);
  var p: array<vec3<u32>, 8>;
  var sum = 0;
  for (var w = 0u; w < 8u; w++) {
    let X = vec4<i32>(round(h[w] * ldexp(1.0, k)));
    sum += X.x + X.y + X.z + X.w;
    p[w] = xq_planes(X);
  }
  return XqBlock(vec4<u32>(p[0].x, p[1].x, p[2].x, p[3].x), vec4<u32>(p[4].x, p[5].x, p[6].x, p[7].x),
                 vec4<u32>(p[0].y, p[1].y, p[2].y, p[3].y), vec4<u32>(p[4].y, p[5].y, p[6].y, p[7].y),
                 vec4<u32>(p[0].z, p[1].z, p[2].z, p[3].z), vec4<u32>(p[4].z, p[5].z, p[6].z, p[7].z),
                 vec4<u32>(bitcast<u32>(sum), xq_step_bits(m, k), 0u, 0u));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wg.y;
  let ct = lid % CT;
  let rg = lid / CT;
  let RW = (WG / CT) * R;
  let nb = P.cols / 32u;
  let n4 = P.cols / 4u;
  let o = row_offsets(wg.x * RW + rg * R, 0u, nb);
  var next = rows_load(o, min(ct, nb - 1u)); // in flight during the norm
  if (P.writeResidual == 1u && wg.x == 0u) {
    for (var i = lid; i < n4; i += WG) { xOut[n * n4 + i] = updated(n, n4, i); }
  }
  if (rg == 0u) {
    var ss = 0.0;
    for (var g = ct; g < nb; g += CT) {
      for (var w = 0u; w < 8u; w++) {
        let v = updated(n, n4, g * 8u + w);
        ss += dot(v, v);
      }
    }
    partial[ct] = ss;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var c = 0u; c < CT; c++) { total += partial[c]; }
  let r = inverseSqrt(total / f32(P.cols) + P.eps);
  workgroupBarrier(); // partial is matvec_row_sum's from here
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  for (var g = ct; g < nb; g += CT) {
    let c = next;
    next = rows_load(o, min(g + CT, nb - 1u));
    let d = rows_dot_q(c, o, g, h_block(n, n4, g, r));
    a0 += d.lo;
    a1 += d.hi;
  }
  let sum = matvec_row_sum(a0, a1, lid);
  let row = wg.x * RW + matvec_sum_row(lid);
  if (matvec_sum_owner(lid) && row < P.rows) { y[n * P.yStride + P.yOffset + row] = sum; }
}
