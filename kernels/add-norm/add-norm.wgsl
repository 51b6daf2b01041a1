// The residual update and the next RMSNorm in one pass (the two ends of every block):
//   xOut[t, :] = x[t, :] + (a[t, :] + Σ_{j<k} b[t·k + j, :])   (k = 0: x + a; the MoE's routed outputs are b)
//   h[t, :]    = xOut[t, :] · rsqrt(mean(xOut[t, :]²) + eps) · weight
// The residual update takes the f32 steps of residual.wgsl; the norm those of rmsnorm.wgsl but for the order of the
// sum of squares. The residual goes to another buffer (xOut ≠ x; the model alternates two), so no workgroup ever
// writes what another one reads: a token's row is split over P.groups workgroups of P.slice vec4s each, and every one
// of them first computes the whole row's new values and sum of squares (the same loads in the same order, so every
// workgroup gets the same bits), then scales and writes only its own slice of xOut and h. groups = 1, slice = dim/4:
// one workgroup per token (prefill, CPU adapters); few tokens on GPUs: many workgroups per token in one dispatch
// (add-norm.ts), each re-reading the row from L2 instead of a second dispatch after a partial-sums pass.
// Threads: workgroups rowGrid(tokens · groups [+ E · tokens, below]) (workgroup w: token w / groups, slice
// w % groups), WG threads each (256 on GPUs, 1 on CPU adapters), 16-byte loads (dim is a multiple of 4); tree
// reduction of the sum of squares.
// Bindings: x, xOut [tokens, dim]; a [tokens, dim]; b [tokens·k, dim]; weight [dim]; h [tokens, dim], all as vec4;
// xq (XQ_OUT = 1; hq in add-norm.ts): h also in the integer form of quantize-x.wgsl (7 vec4 per block of 32), for the q4 mat-vecs that
// read h, so they need no quantize_x dispatch; the 8 threads of a block share its max and Σ X through workgroup memory
// (dim and the slice are multiples of 32 values then).
// The MoE router folded in (ROUTER_E = E > 0; decode on GPUs, add-norm.ts): E·tokens more workgroups after the
// tokens·groups above. Router workgroup (e, t) computes the token's row and r exactly as the others do (same code,
// so the same bits), then logits[t·E + e] = Σ_v dot(W[e, v], h[t, v]) with each h vec4 made on the fly by the
// expression the others store, summed in router_matvec.wgsl's order (ROUTER_CT column threads, ROUTER_STEPS columns
// each, then router-sum.wgsl's order), so the logits are router_matvec's on the stored h wherever the compiler
// rounds both alike; the threads past ROUTER_CT idle there. It writes only the logit, no xOut, h or xq. The router
// rides the post-attention add-norm, which adds no routed rows (k = 0), so binding b holds the router's weight W
// [E, dim] f32 as vec4 then (8 storage buffers in all: the WebGPU default limit); logits [tokens, E] f32. The
// router's mat-vec needs no dispatch of its own then.
override WG: u32 = 256u; // a power of two ≤ 256
override XQ_OUT: u32 = 0u;
override ROUTER_E: u32 = 0u; // the router's experts (0: no router workgroups)
override ROUTER_CT: u32 = 128u; // its column threads (router.ts routerColumnThreads), ≤ WG
override ROUTER_STEPS: u32 = 1u; // ⌈dim/4 / ROUTER_CT⌉

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xOut: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> h: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> xq: array<u32>;
@group(0) @binding(8) var<storage, read_write> logits: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> lanes: array<u32, WG>; // xq_write (kernels/linear/xq-reduce.wgsl, included)

/** the new residual at vec4 i of token t's row (base = t · dim/4) */
fn updated(t: u32, base: u32, n4: u32, i: u32) -> vec4<f32> {
  var update = a[base + i];
  for (var j = 0u; j < P.k; j++) { update += b[(t * P.k + j) * n4 + i]; }
  return x[base + i] + update;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wg.x + wg.y * 65535u;
  let normGroups = P.tokens * P.groups;
  let routerGroup = ROUTER_E > 0u && w >= normGroups; // uniform per workgroup
  let experts = max(ROUTER_E, 1u);
  let t = select(w / P.groups, (w - normGroups) / experts, routerGroup);
  if (t >= P.tokens) { return; } // uniform per workgroup
  let n4 = P.dim / 4u;
  let base = t * n4;
  var ss = 0.0;
  for (var i = lid; i < n4; i += WG) {
    let v = updated(t, base, n4, i);
    ss += dot(v, v);
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(partial[0] / f32(P.dim) + P.eps);
  if (routerGroup) {
    router_logit(t, (w - normGroups) % experts, base, n4, r, lid);
    return;
  }
  let start = (w % P.groups) * P.slice;
  let end = min(start + P.slice, n4);
  if (XQ_OUT == 0u) {
    for (var i = start + lid; i < end; i += WG) {
      let v = updated(t, base, n4, i);
      xOut[base + i] = v;
      h[base + i] = v * r * weight[i];
    }
    return;
  }
  // the same with the integer form: every thread goes round the loop equally often (the barriers of block_reduce)
  for (var i0 = start; i0 < end; i0 += WG) {
    let i = i0 + lid;
    let live = i < end;
    var hv = vec4<f32>(0.0);
    if (live) {
      let v = updated(t, base, n4, i);
      xOut[base + i] = v;
      hv = v * r * weight[i];
      h[base + i] = hv;
    }
    xq_write(t * (P.dim / 32u) + i / 8u, lid, hv, live); // i % 8 = lid % 8: the slice is whole blocks
  }
}

/** Router workgroup (e, t): logits[t·E + e], the sum router_matvec.wgsl makes of the h that the other workgroups store. */
fn router_logit(t: u32, e: u32, base: u32, n4: u32, r: f32, lid: u32) {
  var acc = 0.0;
  if (lid < ROUTER_CT) {
    for (var j = 0u; j < ROUTER_STEPS; j++) {
      let i = lid + j * ROUTER_CT;
      if (i < n4) { acc += dot(b[e * n4 + i], updated(t, base, n4, i) * r * weight[i]); }
    }
  }
  let sum = router_row_sum(lid, ROUTER_CT, acc);
  if (lid == 0u) { logits[t * ROUTER_E + e] = sum; }
}
