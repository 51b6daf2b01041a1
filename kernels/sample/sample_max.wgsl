// Pass 1 of the sampler, over the whole vocabulary: each workgroup finds its chunk's max logit and argmax (lowest
// index on ties) for the selects after it. Strided loads, coalesced. When sampling it also clears the histograms.
// Threads: one workgroup of 256 per chunk of CHUNK logits.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  if (P.temperature > 0.0) {
    for (var i = c * WG + lid; i < HIST_WORDS; i += chunks() * WG) { atomicStore(&hist[i], 0u); }
  }
  let end = min((c + 1u) * CHUNK, P.vocab);
  let v = load_batch(c * CHUNK + lid, WG, end);
  var bestV = -3.4e38;
  var bestI = NONE;
  for (var j = 0u; j < PER; j++) {
    let i = c * CHUNK + j * WG + lid;
    if (i < end && (bestI == NONE || v[j] > bestV)) { bestV = v[j]; bestI = i; }
  }
  let best = argmaxWg(lid, bestV, bestI);
  if (lid == 0u) {
    work[WORK_STATE + 2u * c] = best.x;
    work[WORK_STATE + 2u * c + 1u] = best.y;
  }
}
