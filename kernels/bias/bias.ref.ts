// CPU reference for addBias().
export function biasRef(x: Float32Array, bias: Float32Array, dim: number): Float32Array {
  return x.map((v, i) => Math.fround(v + bias[i % dim]));
}
