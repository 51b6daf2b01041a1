// Top-k routing of a few tokens (decode), one workgroup per token, from the router logits [tokens, experts] that
// router_matvec.wgsl wrote: the same picks as topk.wgsl's serial scan (ids[t, 0..k) = the k largest raw logits in
// descending order, lowest index first on ties; scores[t, j] = sigmoid(logit of ids[t, j])), found by a tree
// reduction over the experts, log2(WG) steps instead of E serial reads.
// The serial scan starts from the first expert not yet taken, f, and moves on only to a strictly larger logit, so it
// picks f when logit f is NaN (nothing compares larger than NaN), else the largest non-NaN logit with the lowest
// index among equal ones (a NaN never wins a comparison, −0 equals +0); the tree computes the latter over the
// non-NaN logits (a total order: larger value, then lower index) and one thread applies the rule.
// Grid: (tokens). Workgroup: WG threads, a power of two ≥ experts (experts ≤ 256; k ≤ 8).
// Bindings: logits [tokens, experts] f32; ids [tokens, k] u32; scores [tokens, k] f32.
override WG: u32 = 32u;
const NONE = 0xffffffffu;

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

var<workgroup> lg: array<f32, 256>;
var<workgroup> taken: array<u32, 256>;
var<workgroup> bestValue: array<f32, 256>;
var<workgroup> bestIndex: array<u32, 256>;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  if (lid < P.experts) {
    lg[lid] = logits[t * P.experts + lid];
    taken[lid] = 0u;
  }
  workgroupBarrier();
  for (var j = 0u; j < P.k; j++) {
    var value = 0.0;
    var index = NONE;
    if (lid < P.experts && taken[lid] == 0u && !is_nan(lg[lid])) {
      value = lg[lid];
      index = lid;
    }
    bestValue[lid] = value;
    bestIndex[lid] = index;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
      if (lid < s) {
        let a = bestIndex[lid];
        let b = bestIndex[lid + s];
        let va = bestValue[lid];
        let vb = bestValue[lid + s];
        if (b != NONE && (a == NONE || vb > va || (vb == va && b < a))) {
          bestValue[lid] = vb;
          bestIndex[lid] = b;
        }
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      var first = 0u;
      while (taken[first] != 0u) { first++; } // at most j taken, j < k ≤ experts
      var best = bestIndex[0];
      if (is_nan(lg[first]) || best == NONE) { best = first; }
      taken[best] = 1u;
      ids[t * P.k + j] = best;
      scores[t * P.k + j] = 1.0 / (1.0 + exp(-lg[best]));
    }
    workgroupBarrier();
  }
}
