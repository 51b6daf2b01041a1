// CPU reference for attention(): plain softmax(q·kᵀ·scale + mask)·v over absolute key positions,
// with keys and values given for every position 0..startPos+tokens−1 (no ring).
import type { AttentionCall } from './attention.ts';

export function attentionRef(q: Float32Array, keys: Float32Array, values: Float32Array, c: AttentionCall): Float32Array {
  const { tokens, heads, kvHeads, headDim: hd } = c;
  const out = new Float32Array(tokens * heads * hd);
  const scale = 1 / Math.sqrt(hd);
  for (let t = 0; t < tokens; t++) {
    const pos = c.startPos + t;
    const lo = c.chunk > 0 && !c.bidirectional ? Math.floor(pos / c.chunk) * c.chunk : 0;
    const last = c.bidirectional ? c.cacheLen - 1 : pos;
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / (heads / kvHeads));
      const scores: number[] = [];
      for (let j = lo; j <= last; j++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[(t * heads + h) * hd + d] * keys[(j * kvHeads + g) * hd + d];
        scores.push(s * scale);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < hd; d++) {
        let acc = 0;
        for (let j = lo; j <= last; j++) acc += (e[j - lo] / z) * values[(j * kvHeads + g) * hd + d];
        out[(t * heads + h) * hd + d] = acc;
      }
    }
  }
  return out;
}
