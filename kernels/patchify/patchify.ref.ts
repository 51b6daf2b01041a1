// CPU reference for patchify().
export function patchifyRef(pixels: Float32Array, size: number, p: number, channels = 3): Float32Array {
  const g = size / p;
  const width = channels * p * p;
  const out = new Float32Array(g * g * width);
  for (let r = 0; r < g; r++)
    for (let c = 0; c < g; c++)
      for (let ch = 0; ch < channels; ch++)
        for (let i = 0; i < p; i++)
          for (let j = 0; j < p; j++) out[(r * g + c) * width + ch * p * p + i * p + j] = pixels[(ch * size + r * p + i) * size + c * p + j];
  return out;
}
