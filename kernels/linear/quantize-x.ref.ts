// CPU reference of quantize-x.wgsl: the integer form of x in blocks of 32, as the words the kernel writes.

function frexpExp(m: number): number {
  // m = f · 2^e with f in [0.5, 1)
  let e = Math.ceil(Math.log2(m));
  if (m >= 2 ** e) e += 1;
  while (m < 2 ** (e - 1)) e -= 1;
  return e;
}

const byte = (v: number) => v & 0xff;

/** planes 2: xq-block.wgsl's XQ_PLANES = 2 (X = A·2^8 + B, |X| < 2^14, the C plane zero) */
export function quantizeXRef(x: Float32Array, planes: 2 | 3 = 3): Uint32Array {
  const blocks = x.length / 32;
  const out = new Uint32Array(blocks * 28);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let b = 0; b < blocks; b++) {
    const v = x.subarray(b * 32, b * 32 + 32);
    const m = Math.max(...Array.from(v, Math.abs));
    if (m === 0) continue;
    const k = Math.min((planes === 2 ? 14 : 22) - frexpExp(m), 126);
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const X = roundHalfEven(v[j] * 2 ** k);
      sum += X;
      const U = X + (planes === 2 ? 0x4080 : 0x408080);
      const [A, B, C] = planes === 2 ? [(U >> 8) - 64, (U & 255) - 128, 0] : [(U >> 16) - 64, ((U >> 8) & 255) - 128, (U & 255) - 128];
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

/** The x values the integer form stands for (X · step), for checking that it is within 2^−23 · 2^e of x (2^−15 with two planes). */
export function dequantizeXRef(words: Uint32Array, planes: 2 | 3 = 3): Float32Array {
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
      const [a, b8, c] = [s8(words[b * 28 + w], j), s8(words[b * 28 + 8 + w], j), s8(words[b * 28 + 16 + w], j)];
      const X = planes === 2 ? a * 256 + b8 : a * 65536 + b8 * 256 + c;
      x[b * 32 + j] = X * step;
    }
  }
  return x;
}
