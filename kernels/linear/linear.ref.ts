// CPU reference for linear(): y[n, r] = Σ_i W[r, i] · x[xRow(n), i] · s(n), in f64 then rounded to f32.
export function linearRef(
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  items: number,
  opts: { xRowDiv?: number; expertIds?: Uint32Array; rowsPerExpert?: number; scores?: Float32Array } = {},
): Float32Array {
  const outRows = opts.rowsPerExpert ?? rows;
  const y = new Float32Array(items * outRows);
  for (let n = 0; n < items; n++) {
    const xRow = Math.floor(n / (opts.xRowDiv ?? 1));
    const s = opts.scores ? opts.scores[n] : 1;
    const rowBase = opts.expertIds ? opts.expertIds[n] * outRows : 0;
    for (let r = 0; r < outRows; r++) {
      let acc = 0;
      const wOff = (rowBase + r) * cols;
      for (let i = 0; i < cols; i++) acc += w[wOff + i] * Math.fround(x[xRow * cols + i] * s);
      y[n * outRows + r] = acc;
    }
  }
  return y;
}
