// Router logits of a few tokens (decode), spread over the GPU: one workgroup per (expert e, token t) computes
//   logits[t, e] = Σ_i W[e, i] · x[t, i]      (f32 weights [E, cols])
// with CT column threads: thread ct sums dot(W[e, v], x[t, v]) over the vec4 columns v = ct, ct + CT, … (STEPS of
// them, a constant, so the loads can all be in flight at once), then the CT sums are added in router-sum.wgsl's
// order. With the launch shape router.ts picks for E ≤ 32 (CT = 256 / pow2(⌈E/8⌉)) this is, step for step, the sum that the single-workgroup router kernel before it computed (same logits, same ids and scores).
// router_topk_wg.wgsl then picks the top k of each token. No workgroup depends on another.
// Grid: (E, tokens). Workgroup: CT threads. Bindings: w [E, cols] as vec4; x [tokens, cols] as vec4; logits [tokens, E].
override CT: u32 = 128u;
override NV: u32 = 1280u; // cols / 4
override STEPS: u32 = 10u; // ⌈NV / CT⌉

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;

@compute @workgroup_size(CT)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) ct: u32) {
  let e = wg.x;
  let t = wg.y;
  let wo = e * NV;
  let xo = t * NV;
  var acc = 0.0;
  for (var j = 0u; j < STEPS; j++) {
    let v = ct + j * CT;
    if (v < NV) { acc += dot(w[wo + v], x[xo + v]); }
  }
  let sum = router_row_sum(ct, CT, acc);
  if (ct == 0u) { logits[t * P.experts + e] = sum; }
}
