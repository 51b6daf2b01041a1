// CPU reference for rooflineRead(): the sum of all u32 words, mod 2^32.
export function rooflineRef(words: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < words.length; i++) s = (s + words[i]) >>> 0;
  return s;
}
