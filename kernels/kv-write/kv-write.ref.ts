// CPU reference for kvWrite().
export function kvWriteRef(cache: Float32Array, src: Float32Array, tokens: number, width: number, startPos: number, cacheLen: number): Float32Array {
  const out = new Float32Array(cache);
  for (let t = 0; t < tokens; t++) out.set(src.subarray(t * width, (t + 1) * width), ((startPos + t) % cacheLen) * width);
  return out;
}
