// Greedy decoding's select, after the max pass: the argmax over the chunks' (lowest index on ties, the chunks'
// own ties having gone to their lowest index too) into out[0]. Threads: one workgroup.
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var bestV = -3.4e38;
  var bestI = NONE;
  for (var c = lid; c < chunks(); c += WG) {
    let v = bitcast<f32>(work[WORK_STATE + 2u * c]);
    if (bestI == NONE || v > bestV) { bestV = v; bestI = work[WORK_STATE + 2u * c + 1u]; }
  }
  let best = argmaxWg(lid, bestV, bestI);
  if (lid == 0u) { out[0] = best.y; }
}
