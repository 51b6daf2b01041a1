// Q4_0 quantizer against its definition (make_tiny_llama4.py q4_0 = GGUF quantize_row_q4_0_ref):
//   d = (signed weight of largest magnitude, first on ties) / −8 in f32, stored f16 (round to nearest even)
//   q = min(15, floor(w · (1/d) + 8.5)) in f32, 1/d from the f32 d (0 when d = 0); weight = (q − 8) · f16(d)
// and the GGUF block layout: byte j holds q[j] in its low nibble and q[j+16] in its high nibble.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { dequantizeQ4, q4Bytes, quantizeQ4, type Q4Data } from './q4-format.ts';
import { rng } from '../../testing/gpu.ts';

const fr = Math.fround;

/** Nearest half value of an f32 (ties to even), by arithmetic on the value: independent of kernels/f16.ts. */
function toHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const r = a / ulp;
  const lo = Math.floor(r);
  const n = r - lo > 0.5 || (r - lo === 0.5 && lo % 2 === 1) ? lo + 1 : lo;
  return Math.sign(x) * (n * ulp > 65504 ? Infinity : n * ulp);
}

/** The formula, written out plainly for one block of 32. */
function referenceBlock(x: ArrayLike<number>): { d: number; d16: number; q: number[]; w: number[] } {
  let m = 0;
  for (let j = 0; j < 32; j++) if (Math.abs(x[j]) > Math.abs(m)) m = x[j];
  const d = fr(m / -8);
  const inv = d === 0 ? 0 : fr(1 / d);
  const q = Array.from({ length: 32 }, (_, j) => Math.min(15, Math.floor(fr(fr(x[j] * inv) + 8.5))));
  const d16 = toHalf(d);
  return { d, d16, q, w: q.map((v) => fr((v - 8) * d16)) };
}

/** One block through the engine's quantizer, unpacked by the GGUF byte order. */
function engineBlock(values: number[]): { data: Q4Data; scaleBits: number; q: number[]; w: Float32Array } {
  assert.equal(values.length, 32);
  const data = quantizeQ4(Float32Array.from(values), 1, 32);
  const bytes = new Uint8Array(data.qs.buffer, data.qs.byteOffset, 16);
  const q = [...bytes].map((b) => b & 15).concat([...bytes].map((b) => b >> 4));
  return { data, scaleBits: data.scales[0], q, w: dequantizeQ4(data, 1, 32) };
}

const block = (entries: Record<number, number>, fill = 0): number[] => Array.from({ length: 32 }, (_, j) => entries[j] ?? fill);
const halfBits = (v: number) => {
  // bits of an exact half value, by search over the exponent (independent of f32ToF16Bits)
  if (Object.is(v, -0)) return 0x8000;
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a < 2 ** -14) return sign | (a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
};

test('host is little-endian (the qs words are read as GGUF bytes)', () => {
  assert.equal(endianness(), 'LE');
});

test('ties of magnitude: the first one wins, and its sign sets the sign of d', () => {
  const a = engineBlock(block({ 0: 0.25, 3: -1, 7: 1 }, 0.01));
  assert.equal(a.scaleBits, halfBits(0.125), 'd = −1 / −8');
  assert.equal(a.q[3], 0);
  assert.equal(a.q[7], 15, '1 · 8 + 8.5 = 16.5 → 16, clamped to 15');
  assert.equal(a.q[0], 10);
  assert.equal(a.w[3], -1);
  assert.equal(a.w[7], 0.875);
  const b = engineBlock(block({ 0: 0.25, 3: 1, 7: -1 }, 0.01));
  assert.equal(b.scaleBits, halfBits(-0.125), 'd = 1 / −8');
  assert.equal(b.q[3], 0);
  assert.equal(b.q[7], 15);
  assert.equal(b.w[3], 1);
  assert.equal(b.w[7], -0.875);
  assert.deepEqual(a.q, referenceBlock(block({ 0: 0.25, 3: -1, 7: 1 }, 0.01)).q);
});

test('negative max: d > 0 and the max maps to q = 0', () => {
  const x = Array.from({ length: 32 }, (_, j) => -(j + 1) / 8); // largest magnitude −4 at j = 31
  const e = engineBlock(x);
  assert.equal(e.scaleBits, halfBits(0.5));
  assert.equal(e.q[31], 0);
  assert.equal(e.w[31], -4);
  assert.deepEqual(e.q, referenceBlock(x).q);
  assert.deepEqual([...e.w], referenceBlock(x).w);
});

test('all-zero block: d = 0 (−0, as max/−8 with max = 0 gives), inverse 0, q = 8, weights 0', () => {
  const e = engineBlock(block({}));
  assert.equal(e.scaleBits & 0x7fff, 0);
  assert.equal(e.scaleBits, 0x8000, 'GGUF: d = 0.0f / −8 = −0');
  assert.deepEqual(e.q, Array(32).fill(8));
  assert.ok([...e.w].every((v) => v === 0));
  assert.ok([...e.data.qs].every((word) => word === 0x88888888));
});

test('values exactly at .5 boundaries, and f32 rounding of w·(1/d) + 8.5', () => {
  // d = 1, 1/d = 1: q = floor(x + 8.5)
  const x = block({ 0: -8, 1: 0.5, 2: -0.5, 3: 1.5, 4: -7.5, 5: 6.5, 6: 7.5, 7: fr(0.5 - 2 ** -25), 8: fr(-0.5 - 2 ** -24), 9: -0.25, 10: 7 });
  const e = engineBlock(x);
  assert.equal(e.scaleBits, halfBits(1));
  assert.deepEqual(e.q.slice(0, 11), [0, 9, 8, 10, 1, 15, 15, 9, 8, 8, 15]);
  // 0.49999997 + 8.5 rounds to 9 in f32 (exact arithmetic would give 8); −0.50000006 + 8.5 rounds to 8 (not 7)
  // d = −0.5, 1/d = −2: q = floor(−2x + 8.5)
  const y = block({ 0: 4, 1: -0.25, 2: 0.25, 3: -3.75, 4: 1.25 });
  const f = engineBlock(y);
  assert.equal(f.scaleBits, halfBits(-0.5));
  assert.deepEqual(f.q.slice(0, 5), [0, 9, 8, 15, 6]);
  assert.deepEqual([...f.w.slice(0, 5)], [4, -0.5, -0, -3.5, 1]);
  assert.deepEqual(e.q, referenceBlock(x).q);
  assert.deepEqual(f.q, referenceBlock(y).q);
});

test('d is stored as f16 with round to nearest even; the weights use f16(d), q uses the f32 1/d', () => {
  const tieDown = engineBlock(block({ 5: -(8 + 2 ** -8) })); // d = 1 + 2^-11: tie → 1 (even)
  assert.equal(tieDown.scaleBits, 0x3c00);
  assert.equal(tieDown.w[5], -8);
  const tieUp = engineBlock(block({ 5: -(8 + 3 * 2 ** -8) })); // d = 1 + 3·2^-11: tie → 1 + 2^-9 (even)
  assert.equal(tieUp.scaleBits, 0x3c02);
  assert.equal(tieUp.w[5], -8 * (1 + 2 ** -9));
  const inexact = block({ 0: 3, 1: 1, 2: -1.1, 3: 2.2 }); // d = −0.375, 1/d = −2.6666667 in f32
  assert.equal(engineBlock(inexact).scaleBits, halfBits(-0.375));
  assert.deepEqual(engineBlock(inexact).q, referenceBlock(inexact).q);
  const d01 = block({ 0: 0.8, 1: 0.3, 2: -0.45 }); // d = −0.1: not a half value
  const r = referenceBlock(d01);
  assert.equal(r.d, fr(-0.1));
  assert.notEqual(r.d16, r.d);
  assert.deepEqual(engineBlock(d01).q, r.q);
  assert.deepEqual([...engineBlock(d01).w], r.w);
});

test('subnormal d: f16 subnormals with ties to even, and a d that rounds to 0 in f16', () => {
  const sub = engineBlock(block({ 0: -8 * 2 ** -20, 1: 2 ** -20 }));
  assert.equal(sub.scaleBits, 0x0010, 'd = 2^-20 = 16 · 2^-24');
  assert.equal(sub.w[0], -8 * 2 ** -20);
  assert.equal(sub.w[1], 2 ** -20);
  const tie = engineBlock(block({ 0: -8 * 3 * 2 ** -25 })); // d = 1.5 · 2^-24: tie → 2 · 2^-24
  assert.equal(tie.scaleBits, 0x0002);
  assert.equal(tie.w[0], -8 * 2 * 2 ** -24);
  const gone = block({ 0: -8 * 2 ** -26, 1: 2 ** -26, 2: -(2 ** -27) }); // d = 2^-26 → f16 0, but the f32 d is not 0
  const g = engineBlock(gone);
  assert.equal(g.scaleBits, 0x0000);
  assert.deepEqual(g.q.slice(0, 3), [0, 9, 8], 'q comes from the f32 inverse');
  assert.ok([...g.w].every((v) => v === 0));
  assert.deepEqual(g.q, referenceBlock(gone).q);
});

test('GGUF block layout: byte j = q[j] | q[j+16] << 4', () => {
  // d = 1: q[j] = j (x = j − 8) for j < 16, q[16 + j] = 15 − j (x = 7 − j)
  const x = Array.from({ length: 32 }, (_, j) => (j < 16 ? j - 8 : 7 - (j - 16)));
  const e = engineBlock(x);
  assert.deepEqual(e.q, referenceBlock(x).q);
  // the 18-byte block_q4_0 { ggml_half d; uint8_t qs[16]; }
  const gguf = new Uint8Array(18);
  gguf[0] = 0x00;
  gguf[1] = 0x3c; // f16 1.0, little-endian
  for (let j = 0; j < 16; j++) gguf[2 + j] = j | ((15 - j) << 4);
  const ours = new Uint8Array(18);
  ours[0] = e.data.scales[0] & 0xff;
  ours[1] = e.data.scales[0] >> 8;
  ours.set(new Uint8Array(e.data.qs.buffer, 0, 16), 2);
  assert.deepEqual(ours, gguf);
  assert.equal(e.data.qs[0], 0xc3d2e1f0, 'bytes 0..3 = f0 e1 d2 c3, little-endian in the first word');
});

test('dequantize(quantize(w)) equals the formula on random matrices with block scales from 1e-4 to 1e3', () => {
  const rows = 7, cols = 160;
  const r = rng(11);
  const w = new Float32Array(rows * cols);
  for (let b = 0; b < (rows * cols) / 32; b++) {
    const scale = 10 ** (r() * 7 - 4);
    for (let j = 0; j < 32; j++) w[b * 32 + j] = fr((r() * 2 - 1) * scale);
    if (b % 3 === 0) {
      // a later weight of the same magnitude and opposite sign: the first wins, the other is clamped to 15
      let i = 0;
      for (let j = 1; j < 32; j++) if (Math.abs(w[b * 32 + j]) > Math.abs(w[b * 32 + i])) i = j;
      w[b * 32 + (i === 31 ? 0 : 31)] = -w[b * 32 + i];
    }
  }
  const data = quantizeQ4(w, rows, cols);
  const out = dequantizeQ4(data, rows, cols);
  const bytes = new Uint8Array(data.qs.buffer);
  for (let b = 0; b < (rows * cols) / 32; b++) {
    const ref = referenceBlock(w.subarray(b * 32, b * 32 + 32));
    assert.equal(data.scales[b], halfBits(ref.d16), `block ${b}: d`);
    for (let j = 0; j < 16; j++) {
      assert.equal(bytes[b * 16 + j], ref.q[j] | (ref.q[j + 16] << 4), `block ${b} byte ${j}`);
    }
    assert.deepEqual([...out.subarray(b * 32, b * 32 + 32)], ref.w, `block ${b}: weights`);
  }
  // dequantized weights are within half a step of the originals (about one step where a weight is clamped to q = 15)
  for (let i = 0; i < w.length; i++) {
    const b = Math.floor(i / 32);
    const step = Math.abs(referenceBlock(w.subarray(b * 32, b * 32 + 32)).d16);
    assert.ok(Math.abs(out[i] - w[i]) <= step * 1.1 + 1e-12, `weight ${i}`);
  }
});

test('rows are independent, input dims that are not a multiple of 32 are refused, sizes', () => {
  const w = new Float32Array(64);
  w.fill(1, 0, 32);
  w.fill(-3, 32);
  const d = quantizeQ4(w, 2, 32);
  assert.deepEqual([...d.scales], [halfBits(-0.125), halfBits(0.375)]);
  assert.deepEqual([...dequantizeQ4(d, 2, 32)], [...Array(32).fill(1), ...Array(32).fill(-3)]);
  assert.throws(() => quantizeQ4(new Float32Array(48), 1, 48), /multiple of 32, got 48/);
  assert.deepEqual(q4Bytes(3, 64), { qs: 6 * 16, scales: 12 });
  assert.deepEqual(q4Bytes(1, 96), { qs: 3 * 16, scales: 8 }, 'odd block count: scales padded to u32 pairs');
  assert.equal(quantizeQ4(new Float32Array(96), 1, 96).scales.length, 4);
});
