// CPU reference for applyTemperature(): row-wise scaling.
export function temperatureRef(q: Float32Array, scale: Float32Array, width: number): Float32Array {
  return q.map((v, i) => Math.fround(v * scale[Math.floor(i / width)]));
}
