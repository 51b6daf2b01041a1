// MoE routing for each token t from the router logits [tokens, experts]:
//   ids[t, 0..k) = the k largest raw logits (lowest index first on ties, in descending order),
//   scores[t, j] = sigmoid(logit of ids[t, j])  (not softmax, no renormalisation; the score later scales the
//   expert INPUT). Threads: one per token (experts ≤ 256 and k ≤ 8 make this tiny).
// Bindings: logits [tokens, experts] f32; ids [tokens, k] u32; scores [tokens, k] f32.
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= P.tokens) { return; }
  let base = t * P.experts;
  var taken = array<u32, 8>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  for (var j = 0u; j < P.k; j++) {
    var best = 0xffffffffu;
    var bestValue = 0.0;
    for (var e = 0u; e < P.experts; e++) {
      var used = false;
      for (var i = 0u; i < j; i++) { if (taken[i] == e) { used = true; } }
      let v = logits[base + e];
      if (!used && (best == 0xffffffffu || v > bestValue)) { best = e; bestValue = v; }
    }
    taken[j] = best;
    ids[t * P.k + j] = best;
    scores[t * P.k + j] = 1.0 / (1.0 + exp(-bestValue));
  }
}
