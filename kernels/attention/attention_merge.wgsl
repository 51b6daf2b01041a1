// Merges the partial results of attention_decode.wgsl (splits > 1) for each (token, head), in parallel over the
// splits: M = max_s m_s, w_s = e^(m_s − M), out = Σ_s w_s·acc_s / Σ_s w_s·l_s (empty runs: l = 0, acc = 0).
// Threads: one workgroup of WG per (head, token); splits ≤ MAX_SPLITS. Tree reductions of the max and of the
// weighted l (the order is fixed: deterministic); then one thread per dim sums over the splits in order.
// XQ_OUT: out also into xq in the integer form of o_proj's input, as attention_decode_core.wgsl does at splits = 1.
// Bindings: part [tokens, heads, splits, headDim + 2]; out [tokens, heads, headDim]; xq.
override WG: u32 = 128u; // a power of two ≥ headDim / 4
override XQ_OUT: u32 = 0u;
const MAX_SPLITS = 256u;

@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> xq: array<u32>;

var<workgroup> w: array<f32, MAX_SPLITS>;
var<workgroup> red: array<f32, WG>;
var<workgroup> lanes: array<u32, WG>; // xq_write (kernels/linear/xq-write.wgsl, xq-reduce.wgsl)
var<workgroup> res: array<f32, 256>; // XQ_OUT: the head's output

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  let hd = P.headDim;
  let base = (t * P.heads + h) * P.splits * (hd + 2u);
  var mx = -3.0e38;
  for (var s = lid; s < P.splits; s += WG) { mx = max(mx, part[base + s * (hd + 2u) + hd]); }
  red[lid] = mx;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  let mMax = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var s = lid; s < P.splits; s += WG) {
    let o = base + s * (hd + 2u);
    let e = exp(part[o + hd] - mMax);
    w[s] = e;
    l += e * part[o + hd + 1u];
  }
  red[lid] = l;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  let total = red[0];
  for (var d = lid; d < hd; d += WG) {
    var a0 = 0.0;
    var a1 = 0.0;
    var s = 0u;
    for (; s + 1u < P.splits; s += 2u) {
      a0 += w[s] * part[base + s * (hd + 2u) + d];
      a1 += w[s + 1u] * part[base + (s + 1u) * (hd + 2u) + d];
    }
    if (s < P.splits) { a0 += w[s] * part[base + s * (hd + 2u) + d]; }
    let r = (a0 + a1) / total;
    out[(t * P.heads + h) * hd + d] = r;
    if (XQ_OUT == 1u) { res[d] = r; }
  }
  if (XQ_OUT == 1u) {
    workgroupBarrier();
    let n4 = hd / 4u;
    let live = lid < n4;
    var v = vec4<f32>(0.0);
    if (live) { v = vec4<f32>(res[4u * lid], res[4u * lid + 1u], res[4u * lid + 2u], res[4u * lid + 3u]); }
    xq_write(((t * P.heads + h) * n4 + lid) / 8u, lid, v, live);
  }
}
