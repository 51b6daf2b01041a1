// CPU reference for qkPrep(): the unfused steps' references in the forward pass's order (rope, QK norm or
// temperature, cache writes).
import { ropeRef } from '../rope/rope.ref.ts';
import { rmsnormRef } from '../rmsnorm/rmsnorm.ref.ts';
import type { QkPrepCall } from './qk-prep.ts';

/** Splits a [tokens, (heads + 2·kvHeads)·headDim] qkv into q, k, v. */
export function splitQkv(qkv: Float32Array, tokens: number, heads: number, kvHeads: number, headDim: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const qd = heads * headDim, kd = kvHeads * headDim, row = qd + 2 * kd;
  const q = new Float32Array(tokens * qd), k = new Float32Array(tokens * kd), v = new Float32Array(tokens * kd);
  for (let t = 0; t < tokens; t++) {
    q.set(qkv.subarray(t * row, t * row + qd), t * qd);
    k.set(qkv.subarray(t * row + qd, t * row + qd + kd), t * kd);
    v.set(qkv.subarray(t * row + qd + kd, (t + 1) * row), t * kd);
  }
  return { q, k, v };
}

export function qkPrepRef(
  qkv: Float32Array,
  table: Float32Array,
  temperatures: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  c: QkPrepCall,
): { q: Float32Array; kCache: Float32Array; vCache: Float32Array } {
  const { tokens: T, heads, kvHeads, headDim: hd } = c;
  const { q, k, v } = splitQkv(qkv, T, heads, kvHeads, hd);
  let q2: Float32Array = new Float32Array(q), k2: Float32Array = new Float32Array(k);
  if (c.rope) {
    q2 = ropeRef(q2, table, T, heads, hd);
    k2 = ropeRef(k2, table, T, kvHeads, hd);
    if (c.qkNorm) {
      q2 = rmsnormRef(q2, null, T * heads, hd, c.eps);
      k2 = rmsnormRef(k2, null, T * kvHeads, hd, c.eps);
    }
  } else if (c.temperature) {
    for (let t = 0; t < T; t++) for (let i = 0; i < heads * hd; i++) q2[t * heads * hd + i] = Math.fround(q2[t * heads * hd + i] * temperatures[t]);
  }
  const kc = new Float32Array(kCache), vc = new Float32Array(vCache);
  const w = kvHeads * hd;
  for (let t = 0; t < T; t++) {
    const slot = (c.startPos + t) % c.cacheLen;
    kc.set(k2.subarray(t * w, (t + 1) * w), slot * w);
    vc.set(v.subarray(t * w, (t + 1) * w), slot * w);
  }
  return { q: q2, kCache: kc, vCache: vc };
}
