// CPU reference for embedding(): rows of the table.
export function embeddingRef(table: Float32Array, cols: number, ids: ArrayLike<number>): Float32Array {
  const x = new Float32Array(ids.length * cols);
  for (let t = 0; t < ids.length; t++) x.set(table.subarray(ids[t] * cols, (ids[t] + 1) * cols), t * cols);
  return x;
}
