// TabScout's Q4_0 weights (kernels/linear/q4-format.ts) in the layout of onnxruntime's MatMulNBits (com.microsoft,
// bits 4, block_size 32, no zero points: the implicit zero point is 8, so weight = (q − 8)·scale, exactly Q4_0).
//   B: uint8 [N, K/32, 16]; byte i of a block holds q[2i] in its low nibble and q[2i+1] in its high nibble
//   scales: float32 [N · K/32]; the f16 block scale widened to f32 (exact)
// Q4_0's 16 bytes per block hold q[j] low and q[j+16] high instead, so the nibbles are re-paired, not re-quantized.
import { f16BitsToF32 } from '../../kernels/f16.ts';
import { Q4_BLOCK, quantizeQ4, type Q4Data } from '../../kernels/linear/q4-format.ts';

export interface MatMulNBitsWeight {
  /** output features */
  n: number;
  /** input features (a multiple of 32) */
  k: number;
  b: Uint8Array;
  scales: Float32Array;
}

export function q4ToMatMulNBits(q: Q4Data, rows: number, cols: number): MatMulNBitsWeight {
  const blocks = (rows * cols) / Q4_BLOCK;
  const gguf = new Uint8Array(q.qs.buffer, q.qs.byteOffset, blocks * 16); // little-endian u32 words = the GGUF bytes
  const b = new Uint8Array(blocks * 16);
  const scales = new Float32Array(blocks);
  const nibble = (block: number, j: number) => (j < 16 ? gguf[block * 16 + j] & 15 : gguf[block * 16 + j - 16] >> 4);
  for (let blk = 0; blk < blocks; blk++) {
    for (let i = 0; i < 16; i++) b[blk * 16 + i] = nibble(blk, 2 * i) | (nibble(blk, 2 * i + 1) << 4);
    scales[blk] = f16BitsToF32(q.scales[blk]);
  }
  return { n: rows, k: cols, b, scales };
}

/** Quantizes a row-major [rows, cols] (out, in) f32 matrix with TabScout's Q4_0 and packs it for MatMulNBits. */
export function matMulNBitsWeight(w: Float32Array, rows: number, cols: number): MatMulNBitsWeight {
  return q4ToMatMulNBits(quantizeQ4(w, rows, cols), rows, cols);
}
