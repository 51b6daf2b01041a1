// CPU reference of quantize-x.wgsl: the integer form of x in blocks of 32, as the words the kernel writes.

function frexpExp(m: number): number {
  // m = f · 2^e with f in [0.5, 1)
  let e = Math.ceil(Math.log2(m));
  if (m >= 2 ** e) e += 1;
  while (m < 2 ** (e - 1)) e -= 1;
  return e;
}

const byte = (v: number) => v & 0xff;

export function quantizeXRef(x: Float32Array): Uint32Array {
  const blocks = x.length / 32;
  const out = new Uint32Array(blocks * 28);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let b = 0; b < blocks; b++) {
    const v = x.subarray(b * 32, b * 32 + 32);
    const m = Math.max(...Array.from(v, Math.abs));
    if (m === 0) continue;
    const k = Math.min(22 - frexpExp(m), 126);
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const X = roundHalfEven(v[j] * 2 ** k);
      sum += X;
      const U = X + 0x408080;
      const A = (U >> 16) - 64, B = ((U >> 8) & 255) - 128, C = (U & 255) - 128;
      const w = j >> 2, shift = 8 * (j & 3);
      out[b * 28 + w] |= byte(A) << shift;
      out[b * 28 + 8 + w] |= byte(B) << shift;
      out[b * 28 + 16 + w] |= byte(C) << shift;
    }
    out[b * 28 + 24] = sum >>> 0;
    f32[0] = 2 ** -k;
    out[b * 28 + 25] = u32[0];
  }
  return out;
}

/** WGSL's round(): to the nearest integer, ties to even */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The x values the integer form stands for (X · step), for checking that it is within 2^−23 · 2^e of x. */
export function dequantizeXRef(words: Uint32Array): Float32Array {
  const blocks = words.length / 28;
  const x = new Float32Array(blocks * 32);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const s8 = (w: number, j: number) => ((w >>> (8 * (j & 3))) << 24) >> 24;
  for (let b = 0; b < blocks; b++) {
    u32[0] = words[b * 28 + 25];
    const step = f32[0];
    for (let j = 0; j < 32; j++) {
      const w = j >> 2;
      const X = s8(words[b * 28 + w], j) * 65536 + s8(words[b * 28 + 8 + w], j) * 256 + s8(words[b * 28 + 16 + w], j);
      x[b * 32 + j] = X * step;
    }
  }
  return x;
}
