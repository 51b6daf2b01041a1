// Router logits and top-k of a few tokens (decode) in one dispatch: one workgroup per token t computes the E logits
//   logits[t, e] = Σ_i W[e, i] · x[t, i]      (f32 weights [E, cols], E ≤ 32)
// as a mat-vec (linear_f32.wgsl's layout: (WG / CT) row groups × CT column threads, R rows per thread, one vec4
// column per step, reduction in matvec-reduce.wgsl), then one thread picks the top k (topk.wgsl).
// Grid: (tokens). Bindings: w [E, cols]; x [tokens, cols], as vec4; logits [tokens, E]; ids [tokens, k] u32;
// scores [tokens, k].
override WG: u32 = 256u;
override CT: u32 = 128u;
override R: u32 = 8u;

@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> ids: array<u32>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;

var<workgroup> partial: array<f32, 2304>;
var<workgroup> lg: array<f32, 32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let ct = lid % CT;
  let rg = lid / CT;
  let nv = P.cols / 4u;
  var o: array<u32, 8>;
  for (var r = 0u; r < R; r++) { o[r] = min(rg * R + r, P.experts - 1u) * nv; } // rows past E are clamped, dropped below
  var acc = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (var v = ct; v < nv; v += CT) {
    let xv = x[t * nv + v];
    for (var r = 0u; r < R; r++) { acc[r] += dot(w[o[r] + v], xv); }
  }
  let sum = matvec_row_sum(vec4<f32>(acc[0], acc[1], acc[2], acc[3]), vec4<f32>(acc[4], acc[5], acc[6], acc[7]), lid);
  if (lid < P.experts) {
    lg[lid] = sum;
    logits[t * P.experts + lid] = sum;
  }
  workgroupBarrier();
  if (lid == 0u) { route_token(t); }
}

fn router_logit(t: u32, e: u32) -> f32 {
  return lg[e];
}
