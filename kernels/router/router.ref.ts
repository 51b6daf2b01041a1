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

/**
 * CPU reference for router_matvec.wgsl in its exact order, rounding to f32 at every step as a GPU without fused
 * multiply-adds does (SwiftShader): with CT column threads per row, thread ct sums dot(W[e, v], x[t, v]) over the vec4
 * columns v = ct, ct + CT, …; the C = CT / 8 chunks c sum threads c, c + C, …; the logit is the sum of the chunks in
 * order. w [experts, cols], x [tokens, cols]; returns [tokens, experts].
 */
export function routerMatvecRef(w: Float32Array, x: Float32Array, tokens: number, experts: number, cols: number, CT: number): Float32Array {
  const f = Math.fround, nv = cols / 4, C = CT / 8;
  const out = new Float32Array(tokens * experts);
  const perThread = new Float32Array(CT);
  for (let t = 0; t < tokens; t++) {
    for (let e = 0; e < experts; e++) {
      for (let ct = 0; ct < CT; ct++) {
        let acc = 0;
        for (let v = ct; v < nv; v += CT) {
          const a = e * cols + 4 * v, b = t * cols + 4 * v;
          const d = f(f(f(f(w[a] * x[b]) + f(w[a + 1] * x[b + 1])) + f(w[a + 2] * x[b + 2])) + f(w[a + 3] * x[b + 3]));
          acc = f(acc + d);
        }
        perThread[ct] = acc;
      }
      let sum = 0;
      for (let c = 0; c < C; c++) {
        let chunk = 0;
        for (let i = c; i < CT; i += C) chunk = f(chunk + perThread[i]);
        sum = f(sum + chunk);
      }
      out[t * experts + e] = sum;
    }
  }
  return out;
}
