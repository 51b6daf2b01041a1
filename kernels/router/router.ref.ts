// CPU reference for routeTopK().
export function routerRef(logits: Float32Array, tokens: number, experts: number, k: number): { ids: Uint32Array; scores: Float32Array } {
  const ids = new Uint32Array(tokens * k);
  const scores = new Float32Array(tokens * k);
  for (let t = 0; t < tokens; t++) {
    const order = [...Array(experts).keys()].sort((a, b) => logits[t * experts + b] - logits[t * experts + a] || a - b);
    for (let j = 0; j < k; j++) {
      ids[t * k + j] = order[j];
      scores[t * k + j] = 1 / (1 + Math.exp(-logits[t * experts + order[j]]));
    }
  }
  return { ids, scores };
}
