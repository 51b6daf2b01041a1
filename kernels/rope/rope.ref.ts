// CPU reference for rope(): interleaved complex pairs.
export function ropeRef(x: Float32Array, table: Float32Array, tokens: number, heads: number, headDim: number): Float32Array {
  const y = new Float32Array(x);
  const half = headDim / 2;
  for (let t = 0; t < tokens; t++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < half; i++) {
        const o = (t * heads + h) * headDim + 2 * i;
        const c = table[(t * half + i) * 2], s = table[(t * half + i) * 2 + 1];
        const a = x[o], b = x[o + 1];
        y[o] = a * c - b * s;
        y[o + 1] = a * s + b * c;
      }
  return y;
}
