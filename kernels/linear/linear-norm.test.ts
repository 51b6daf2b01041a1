import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { linear, uploadLinear } from './linear.ts';
import { linearNormIn, normInFusable } from './linear-norm.ts';
import { linearRef } from './linear.ref.ts';
import { dequantizeQ4, quantizeQ4 } from './q4-format.ts';
import { addNorm } from '../add-norm/add-norm.ts';
import { addNormRef } from '../add-norm/add-norm.ref.ts';
import { GpuContext } from '../runtime.ts';

const rowsOf = (w: Float32Array, cols: number) => (start: number, count: number) => w.subarray(start * cols, (start + count) * cols);

// add-norm folded into the q4 mat-vec (decode: 1–4 tokens, the integer dot product): y against the CPU reference
// (addNormRef's h through the dequantized weights) and against addNorm() + linear() on the GPU; the residual exactly
// addNormRef's, written once even when the weight is split into several segments (two and three here); with and
// without subgroups (SwiftShader's 4 lanes: CT = 32 sums through workgroup memory); 0–2 routed rows; a width whose
// blocks do not divide evenly among the 32 column threads (192 = 6 blocks, 1312 = 41).
const cases = [
  [1, 192, 96, 0, 0],
  [4, 64, 128, 0, 0],
  [2, 128, 70, 1, 2],
  [4, 1312, 40, 2, 0],
  [3, 256, 36, 0, 3],
] as const;
for (const [tokens, cols, rows, k, segments] of cases) {
  test(`linearNormIn ${tokens}x${cols} → ${rows} rows, ${k} routed rows, ${segments || 1} segment(s): addNorm then linear in one dispatch`, async () => {
    const base = await testGpu();
    for (const subgroups of [true, false]) {
      const bytesPerRow = cols / 2; // q4 nibbles
      const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot: true, subgroups, ...(segments ? { maxBindingBytes: Math.ceil(rows / segments / 2) * 2 * bytesPerRow } : {}) });
      const what = `${tokens}x${cols}→${rows} k=${k} subgroups=${subgroups}`;
      const w = randomArray(rows * cols, rows + cols, 0.5);
      const weight = uploadLinear(ctx, 'w', 'q4', rows, cols, rowsOf(w, cols));
      if (segments) assert.equal(weight.segments.length, segments, 'the weight is split');
      assert.ok(normInFusable(ctx, weight, tokens), what);
      const x = randomArray(tokens * cols, cols + 1, 2);
      const a = randomArray(tokens * cols, cols + 2);
      const b = k ? randomArray(tokens * k * cols, cols + 3) : null;
      const g = randomArray(cols, cols + 4);
      const eps = 1e-5;
      const buf = (v: Float32Array, name: string) => ctx.upload(v, name);
      const [xBuf, aBuf, gBuf] = [buf(x, 'x'), buf(a, 'a'), buf(g, 'norm weight')];
      const bBuf = b ? buf(b, 'b') : null;
      const routed = bBuf ? { b: bBuf, k } : null;

      const xOut = ctx.createBuffer(tokens * cols * 4, 'x out');
      const y = ctx.createBuffer(tokens * rows * 4, 'y');
      const count = ctx.dispatchCount;
      linearNormIn(ctx, weight, { x: xBuf, xOut, a: aBuf, routed, weight: gBuf, eps }, y, tokens);
      assert.equal(ctx.dispatchCount - count, weight.segments.length, 'one dispatch per segment');
      const ref = addNormRef(x, a, b, k, g, tokens, cols, eps);
      assert.deepEqual(await ctx.readF32(xOut, 0, tokens * cols), ref.x, `${what}: the residual, exactly`);
      const wRef = dequantizeQ4(quantizeQ4(w, rows, cols), rows, cols);
      const fused = await ctx.readF32(y, 0, tokens * rows);
      assertClose(fused, linearRef(wRef, rows, cols, ref.h, tokens), 1e-3, `${what}: against the CPU reference`);

      // the two dispatches it replaces
      const xOut2 = ctx.createBuffer(tokens * cols * 4, 'x out (add-norm)');
      const h = ctx.createBuffer(tokens * cols * 4, 'h');
      const hq = ctx.createBuffer(tokens * (cols / 32) * 112, 'hq');
      const y2 = ctx.createBuffer(tokens * rows * 4, 'y (add-norm + linear)');
      addNorm(ctx, xBuf, xOut2, aBuf, routed, gBuf, h, tokens, cols, eps, hq);
      linear(ctx, weight, h, y2, { items: tokens, xq: hq });
      assertClose(fused, await ctx.readF32(y2, 0, tokens * rows), 1e-4, `${what}: against addNorm + linear`);
      for (const t of [xBuf, aBuf, gBuf, bBuf, xOut, y, xOut2, h, hq, y2]) t?.destroy();
    }
  });
}

test('linearNormIn refuses what it does not take: f32 weights, more than 4 tokens, CPU kernels, the residual in place', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot: true });
  const cols = 64;
  const q4 = uploadLinear(ctx, 'q4', 'q4', 8, cols, () => randomArray(8 * cols, 1));
  const f32 = uploadLinear(ctx, 'f32', 'f32', 8, cols, () => randomArray(8 * cols, 1));
  const v = ctx.createBuffer(5 * cols * 4, 'v');
  const norm = { x: v, xOut: ctx.createBuffer(5 * cols * 4, 'x out'), a: v, routed: null, weight: v, eps: 1e-5 };
  assert.equal(normInFusable(ctx, f32, 1), false);
  assert.equal(normInFusable(ctx, q4, 5), false);
  assert.equal(normInFusable(new GpuContext(base.device, { cpuKernels: true, integerDot: true }), q4, 1), false);
  assert.throws(() => linearNormIn(ctx, f32, norm, v, 1), /does not take h in integer form/);
  assert.throws(() => linearNormIn(ctx, q4, { ...norm, xOut: v }, v, 1), /another buffer/);
});
