// Q4_0 (GGUF numerics) on the CPU: the quantizer that produces what linear_q4.wgsl reads, and its inverse.
// Blocks of 32 consecutive weights along the input dimension (rows are independent):
//   d = (the signed weight of largest magnitude, first on ties) / −8 in f32, stored as f16 (round to nearest even)
//   q = min(15, floor(w · (1/d) + 8.5)), 1/d computed in f32 from the f32 d (0 when d = 0)
//   weight = (q − 8) · f16(d)
// Layout: qs is 4 u32 per block = the 16 GGUF bytes; byte j holds q[j] in its low nibble and q[j+16] in its high.
import { f16BitsToF32, f32ToF16Bits } from '../f16.ts';
import type { WeightFormat } from './weight-format.ts';

export const Q4_BLOCK = 32;

export interface Q4Data {
  /** [rows · cols/32 · 4] u32: the nibbles of each block */
  qs: Uint32Array;
  /** [rows · cols/32] f16 bits, padded to an even count so it packs into u32 pairs */
  scales: Uint16Array;
}

const fr = Math.fround;

export function q4Bytes(rows: number, cols: number): { qs: number; scales: number } {
  const blocks = (rows * cols) / Q4_BLOCK;
  return { qs: blocks * 16, scales: Math.ceil(blocks / 2) * 4 };
}

/** Bytes of a [rows, cols] weight as stored (GPU buffers, records): q4 18 per 32 weights (scales padded to pairs), f32 4 per weight. */
export function weightBytes(format: WeightFormat, rows: number, cols: number): number {
  if (format === 'f32') return rows * cols * 4;
  const b = q4Bytes(rows, cols);
  return b.qs + b.scales;
}

/** Quantizes a row-major [rows, cols] f32 matrix; cols must be a multiple of 32. */
export function quantizeQ4(w: Float32Array, rows: number, cols: number): Q4Data {
  if (cols % Q4_BLOCK !== 0) throw new Error(`q4 needs an input dimension that is a multiple of 32, got ${cols}`);
  const blocks = (rows * cols) / Q4_BLOCK;
  const qs = new Uint32Array(blocks * 4);
  const scales = new Uint16Array(Math.ceil(blocks / 2) * 2);
  const q = new Uint8Array(32);
  for (let b = 0; b < blocks; b++) {
    const base = b * 32;
    let amax = 0;
    let m = 0;
    for (let j = 0; j < 32; j++) {
      const v = w[base + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        m = v;
      }
    }
    const d = fr(m / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    for (let j = 0; j < 32; j++) {
      q[j] = Math.min(15, Math.floor(fr(fr(w[base + j] * id) + 8.5)));
    }
    scales[b] = f32ToF16Bits(d);
    for (let k = 0; k < 4; k++) {
      let word = 0;
      for (let byte = 0; byte < 4; byte++) {
        const j = k * 4 + byte;
        word |= (q[j] | (q[j + 16] << 4)) << (byte * 8);
      }
      qs[b * 4 + k] = word >>> 0;
    }
  }
  return { qs, scales };
}

/** The f32 weights a Q4Data stands for. */
export function dequantizeQ4(data: Q4Data, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const blocks = (rows * cols) / Q4_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const d = f16BitsToF32(data.scales[b]);
    for (let j = 0; j < 16; j++) {
      const byte = (data.qs[b * 4 + (j >> 2)] >>> ((j & 3) * 8)) & 0xff;
      out[b * 32 + j] = fr(((byte & 15) - 8) * d);
      out[b * 32 + j + 16] = fr(((byte >> 4) - 8) * d);
    }
  }
  return out;
}
