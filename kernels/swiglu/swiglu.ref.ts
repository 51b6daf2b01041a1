// CPU reference for swiglu().
export function swigluRef(gateUp: Float32Array, items: number, width: number): Float32Array {
  const out = new Float32Array(items * width);
  for (let n = 0; n < items; n++)
    for (let i = 0; i < width; i++) {
      const g = gateUp[n * 2 * width + i];
      out[n * width + i] = gateUp[n * 2 * width + width + i] * (g / (1 + Math.exp(-g)));
    }
  return out;
}
