// Top-k routing of token t for router.wgsl (one thread per token; router_topk_wg.wgsl makes the same picks with one
// workgroup per token): ids[t, 0..k) = the k largest raw logits (lowest index first on ties, in descending order),
// scores[t, j] = sigmoid(logit of ids[t, j]) (not softmax, no renormalisation; the score later scales the expert
// INPUT). The including kernel declares ids, scores and `fn router_logit(t: u32, e: u32) -> f32`; k ≤ 8.
fn route_token(t: u32) {
  var taken = array<u32, 8>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  for (var j = 0u; j < P.k; j++) {
    var best = 0xffffffffu;
    var bestValue = 0.0;
    for (var e = 0u; e < P.experts; e++) {
      var used = false;
      for (var i = 0u; i < j; i++) { if (taken[i] == e) { used = true; } }
      let v = router_logit(t, e);
      if (!used && (best == 0xffffffffu || v > bestValue)) { best = e; bestValue = v; }
    }
    taken[j] = best;
    ids[t * P.k + j] = best;
    scores[t * P.k + j] = 1.0 / (1.0 + exp(-bestValue));
  }
}
