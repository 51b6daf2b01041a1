// The expert of a routed item, for expert_q4.wgsl and expert_f32.wgsl (included; they declare `ids: array<u32>`).
// ROUTE = 0: ids[n] is item n's slot, and its routing score comes in aux (MODE 0).
// ROUTE = E > 0 (decode with top-1 routing and every expert resident in slot = expert id; E ≤ 256): ids holds the
//   router logits [tokens, E] as f32 bits and item n is token n; the workgroup loads the token's E logits (one load
//   per thread: no serial chain of E global loads, 128 for Maverick), then thread 0 picks the expert as topk.wgsl's
//   serial scan does for k = 1 (the largest logit, the lowest index on ties; a NaN never wins, except at index 0) and
//   its score sigmoid(logit) with the same formula, so no separate top-k dispatch runs and the result is the same.
//   The including kernel declares the override WG (its workgroup size).
override ROUTE: u32 = 0u;

var<workgroup> wgExpert: u32;
var<workgroup> wgScore: f32;
var<workgroup> wgLogits: array<f32, 256>;

// item n's slot (the same for the whole workgroup); with ROUTE > 0 also its score in wgScore. Call in uniform control flow.
fn item_expert(n: u32, lid: u32) -> u32 {
  if (ROUTE == 0u) {
    if (lid == 0u) { wgExpert = ids[n]; }
    return workgroupUniformLoad(&wgExpert);
  }
  for (var e = lid; e < ROUTE; e += WG) { wgLogits[e] = bitcast<f32>(ids[n * ROUTE + e]); }
  workgroupBarrier();
  if (lid == 0u) {
    var best = 0u;
    var value = wgLogits[0];
    for (var e = 1u; e < ROUTE; e++) {
      let v = wgLogits[e];
      if (v > value) { best = e; value = v; }
    }
    wgExpert = best;
    wgScore = 1.0 / (1.0 + exp(-value));
  }
  return workgroupUniformLoad(&wgExpert);
}

// item n's routing score (MODE 0), after item_expert
fn item_score(n: u32) -> f32 {
  if (ROUTE > 0u) { return wgScore; }
  return aux[n];
}
