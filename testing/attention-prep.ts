// Inputs of a qkPrepAttention() call for the attention tests (kernels/attention/*.test.ts).
import { randomArray } from './gpu.ts';

export interface PrepShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  cacheLen: number;
}

/**
 * A call at positions startPos … startPos + tokens − 1: the cache as the model leaves it before the call (key j in
 * slot j % cacheLen for j < startPos; the ring's other slots hold stale keys of the previous chunk, or noise), the
 * keys and values of those positions (hist, histV: row j is position j), the fused Q/K/V output, the RoPE table
 * ((cos, sin) pairs) and the NoPE temperatures.
 */
export function prepInputs(shape: PrepShape, startPos: number, tokens: number, seed: number) {
  const { heads, kvHeads, headDim: hd, cacheLen } = shape;
  const width = kvHeads * hd;
  const hist = randomArray((startPos + 1) * width, seed + 1), histV = randomArray((startPos + 1) * width, seed + 2);
  const kc = randomArray(cacheLen * width, seed + 3), vc = randomArray(cacheLen * width, seed + 4);
  for (let j = Math.max(0, startPos - cacheLen); j < startPos; j++) {
    kc.set(hist.subarray(j * width, (j + 1) * width), (j % cacheLen) * width);
    vc.set(histV.subarray(j * width, (j + 1) * width), (j % cacheLen) * width);
  }
  const qkv = randomArray(tokens * (heads + 2 * kvHeads) * hd, seed + 5, 2);
  const angles = randomArray((tokens * hd) / 2, seed + 6, 4);
  const table = new Float32Array(tokens * hd);
  angles.forEach((a, i) => ((table[2 * i] = Math.cos(a)), (table[2 * i + 1] = Math.sin(a))));
  const temps = randomArray(tokens, seed + 7, 0.5).map((x) => 1 + Math.abs(x));
  return { hist, histV, kc, vc, qkv, table, temps };
}
