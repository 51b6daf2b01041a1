// CPU reference for residualAdd().
export function residualRef(x: Float32Array, a: Float32Array, tokens: number, dim: number, b?: Float32Array, k = 0): Float32Array {
  const out = new Float32Array(x);
  for (let t = 0; t < tokens; t++)
    for (let i = 0; i < dim; i++) {
      let u = a[t * dim + i];
      for (let j = 0; j < k; j++) u = Math.fround(u + b![(t * k + j) * dim + i]);
      out[t * dim + i] = Math.fround(out[t * dim + i] + u);
    }
  return out;
}
