// The residual update and the next RMSNorm in one pass (the two ends of every block):
//   xOut[t, :] = x[t, :] + (a[t, :] + Σ_{j<K} b[t·K + j, :])   (K = 0: x + a; the MoE's routed outputs are b)
//   h[t, :]    = xOut[t, :] · rsqrt(mean(xOut[t, :]²) + eps) · weight
// The residual update takes the f32 steps of residual.wgsl; the norm those of rmsnorm.wgsl but for the order of the
// sum of squares. The residual goes to another buffer (xOut ≠ x; the model alternates two), so no workgroup ever
// writes what another one reads: a token's row is split over P.groups workgroups, and every one of them first computes
// the whole row's new values and sum of squares (the same loads in the same threads and order, the same
// workgroup_sum, so every workgroup gets the same bits of r), then scales and writes only its own slice of xOut and h.
// groups = 1: one workgroup per token writes the whole row (prefill, CPU adapters). groups > 1 (few tokens on GPUs,
// add-norm.ts): the slices are WG vec4s, so workgroup g's slice is step g of its own row loop: each thread keeps that
// value and loads its norm weight before the reduction, and after r has nothing left to load.
// Latency (decode): one round of independent loads (STEPS and K are constants, so the loops unroll and every load of
// the row, the weight and the router's W is in flight at once), then workgroup_sum (one barrier with subgroups, two
// without: workgroup-sum*.wgsl), then arithmetic and stores (and xq_write's with XQ_OUT: 4 barriers, none with subgroups of ≥ 8 lanes).
// Threads: workgroups rowGrid(tokens · groups [+ E · tokens, below]) (workgroup w: token w / groups, slice
// w % groups), WG threads each (256 on GPUs, 1 on CPU adapters); thread lid reads vec4s lid + j·WG, j < STEPS
// (16-byte loads; dim is a multiple of 4).
// Bindings: x, xOut [tokens, dim]; a [tokens, dim]; b [tokens·K, dim]; weight [dim]; h [tokens, dim], all as vec4;
// xq (XQ_OUT = 1; hq in add-norm.ts): h also in the integer form of quantize-x.wgsl (7 vec4 per block of 32), for the
// q4 mat-vecs that read h, so they need no quantize_x dispatch; the 8 threads of a block share its max and Σ X through
// workgroup memory, or subgroup shuffles in add_norm_subgroups (dim and the slice are multiples of 32 values then).
// The MoE router folded in (ROUTER_E = E > 0; decode on GPUs, add-norm.ts): E·tokens more workgroups after the
// tokens·groups above. Router workgroup (e, t) computes the token's row and r exactly as the others do (same code,
// so the same bits), then logits[t·E + e] = Σ_v dot(W[e, v], h[t, v]) with each h vec4 made on the fly by the
// expression the others store, summed in router_matvec.wgsl's order (ROUTER_CT column threads, ROUTER_STEPS columns
// each, then router-sum.wgsl's order), so the logits are router_matvec's on the stored h wherever the compiler
// rounds both alike; the threads past ROUTER_CT idle there. Its W and weight vec4s (the first ROUTER_HELD steps) are
// loaded before the reduction, beside the row; the row itself again after it (this workgroup's own loads: L1). It
// writes only the logit, no xOut, h or xq. The router rides the post-attention add-norm, which adds no routed rows
// (K = 0), so binding b holds the router's weight W [E, dim] f32 as vec4 then (8 storage buffers in all: the WebGPU
// default limit); logits [tokens, E] f32. The router's mat-vec needs no dispatch of its own then.
// Entry point parameter g: Group comes from the workgroup_sum include (workgroup-sum.wgsl or
// workgroup-sum-subgroups.wgsl, add-norm.ts picks).
override WG: u32 = 256u; // a power of two ≤ 256 (≥ 128 with subgroups)
override STEPS: u32 = 5u; // ⌈dim/4 / WG⌉
override K: u32 = 0u; // routed rows per token
override XQ_OUT: u32 = 0u;
override ROUTER_E: u32 = 0u; // the router's experts (0: no router workgroups)
override ROUTER_CT: u32 = 128u; // its column threads (router.ts routerColumnThreads), ≤ WG
override ROUTER_STEPS: u32 = 1u; // ⌈dim/4 / ROUTER_CT⌉
const ROUTER_HELD = 16u; // router steps whose W and weight vec4s are held in registers (the rest load after r)

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xOut: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> h: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> xq: array<u32>;
@group(0) @binding(8) var<storage, read_write> logits: array<f32>;

var<workgroup> lanes: array<u32, WG>; // xq_write (kernels/linear/xq-write.wgsl, xq-reduce*.wgsl, included)

// updated(t, n4, i): the new residual at vec4 i of token t's row (residual-update.wgsl, included)

@compute @workgroup_size(WG)
fn main(g: Group, @builtin(local_invocation_index) lid: u32) {
  let w = g.id.x + g.id.y * 65535u;
  let normGroups = P.tokens * P.groups;
  let routerGroup = ROUTER_E > 0u && w >= normGroups; // uniform per workgroup
  let experts = max(ROUTER_E, 1u);
  let t = select(w / P.groups, (w - normGroups) / experts, routerGroup);
  if (t >= P.tokens) { return; } // uniform per workgroup
  let e = (w - normGroups) % experts; // router workgroups
  let n4 = P.dim / 4u;
  let base = t * n4;
  let own = w % P.groups; // norm workgroups: their slice, step `own` of the loop below when split
  // before the reduction, every load this workgroup needs (but the router's steps past ROUTER_HELD)
  var mine = vec4<f32>(0.0);
  var mineWeight = vec4<f32>(0.0);
  var heldW: array<vec4<f32>, ROUTER_HELD>;
  var heldWeight: array<vec4<f32>, ROUTER_HELD>;
  if (routerGroup) {
    if (lid < ROUTER_CT) {
      for (var j = 0u; j < min(ROUTER_STEPS, ROUTER_HELD); j++) {
        let i = lid + j * ROUTER_CT;
        if (i < n4) {
          heldW[j] = b[e * n4 + i];
          heldWeight[j] = weight[i];
        }
      }
    }
  } else if (P.groups > 1u && own * WG + lid < n4) {
    mineWeight = weight[own * WG + lid];
  }
  var ss = 0.0;
  for (var j = 0u; j < STEPS; j++) {
    let i = lid + j * WG;
    if (i < n4) {
      let v = updated(t, n4, i);
      ss += dot(v, v);
      if (j == own) { mine = v; }
    }
  }
  let r = inverseSqrt(workgroup_sum(ss, lid, g) / f32(P.dim) + P.eps);
  if (routerGroup) {
    var acc = 0.0;
    if (lid < ROUTER_CT) {
      for (var j = 0u; j < ROUTER_STEPS; j++) {
        let i = lid + j * ROUTER_CT;
        if (i < n4) {
          var wr: vec4<f32>;
          var wn: vec4<f32>;
          if (j < ROUTER_HELD) {
            wr = heldW[j];
            wn = heldWeight[j];
          } else {
            wr = b[e * n4 + i];
            wn = weight[i];
          }
          acc += dot(wr, updated(t, n4, i) * r * wn);
        }
      }
    }
    let sum = router_row_sum(lid, ROUTER_CT, acc);
    if (lid == 0u) { logits[t * ROUTER_E + e] = sum; }
    return;
  }
  if (P.groups > 1u) {
    // split: one vec4 per thread, held since the row loop
    let i = own * WG + lid;
    let live = i < n4;
    var hv = vec4<f32>(0.0);
    if (live) {
      xOut[base + i] = mine;
      hv = mine * r * mineWeight;
      h[base + i] = hv;
    }
    if (XQ_OUT != 0u) { xq_write(t * (P.dim / 32u) + i / 8u, lid, hv, live); } // i % 8 = lid % 8 (WG is a multiple of 8)
    return;
  }
  // one workgroup per token: the whole row, loaded again
  if (XQ_OUT == 0u) {
    for (var i = lid; i < n4; i += WG) {
      let v = updated(t, n4, i);
      xOut[base + i] = v;
      h[base + i] = v * r * weight[i];
    }
    return;
  }
  // the same with the integer form: every thread goes round the loop equally often (the barriers of block_reduce)
  for (var i0 = 0u; i0 < n4; i0 += WG) {
    let i = i0 + lid;
    let live = i < n4;
    var hv = vec4<f32>(0.0);
    if (live) {
      let v = updated(t, n4, i);
      xOut[base + i] = v;
      hv = v * r * weight[i];
      h[base + i] = hv;
    }
    xq_write(t * (P.dim / 32u) + i / 8u, lid, hv, live); // i % 8 = lid % 8 (WG = 256, dim a multiple of 32)
  }
}
