// CPU reference for rmsnorm(): f32 steps as in HF (x · rsqrt(mean(x²) + eps), then · weight).
const fr = Math.fround;
export function rmsnormRef(x: Float32Array, weight: Float32Array | null, rows: number, dim: number, eps: number): Float32Array {
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const inv = fr(1 / Math.sqrt(fr(fr(ss / dim) + eps)));
    for (let i = 0; i < dim; i++) {
      const v = fr(x[r * dim + i] * inv);
      y[r * dim + i] = weight ? fr(v * weight[i]) : v;
    }
  }
  return y;
}
