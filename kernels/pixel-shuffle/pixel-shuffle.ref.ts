// CPU reference for pixelShuffle(): the spec's block concatenation.
export function pixelShuffleRef(x: Float32Array, grid: number, dim: number): Float32Array {
  const h = grid / 2;
  const out = new Float32Array(grid * grid * dim);
  for (let r2 = 0; r2 < h; r2++)
    for (let c2 = 0; c2 < h; c2++) {
      const blocks = [[2 * r2, 2 * c2], [2 * r2, 2 * c2 + 1], [2 * r2 + 1, 2 * c2], [2 * r2 + 1, 2 * c2 + 1]];
      blocks.forEach(([r, c], q) => out.set(x.subarray((r * grid + c) * dim, (r * grid + c + 1) * dim), (r2 * h + c2) * 4 * dim + q * dim));
    }
  return out;
}
