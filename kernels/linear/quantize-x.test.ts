import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray } from '../../testing/gpu.ts';
import { GpuContext } from '../runtime.ts';
import { quantizeX } from './quantize-x.ts';
import { dequantizeXRef, quantizeXRef } from './quantize-x.ref.ts';

test('quantize_x writes the integer form of the CPU reference, within 2^-23 of each block\'s scale', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { cpuKernels: false });
  const blocks = 70;
  const x = randomArray(blocks * 32, 3);
  // blocks of very different scales, an all-zero block, one with a single non-zero value, exact powers of two
  for (let b = 0; b < blocks; b++) for (let j = 0; j < 32; j++) x[b * 32 + j] *= 2 ** ((b % 9) * 7 - 30);
  x.fill(0, 5 * 32, 6 * 32);
  x.fill(0, 6 * 32, 7 * 32);
  x[6 * 32 + 17] = -3.5e-3;
  for (let j = 0; j < 32; j++) x[7 * 32 + j] = 2 ** (j - 16) * (j % 2 ? -1 : 1);
  const xq = quantizeX(ctx, ctx.upload(x, 'x'), 2, (blocks * 32) / 2);
  const got = await ctx.readU32(xq, 0, blocks * 28);
  const want = quantizeXRef(x);
  for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `word ${i % 28} of block ${Math.floor(i / 28)}`);
  const back = dequantizeXRef(got);
  for (let b = 0; b < blocks; b++) {
    const m = Math.max(...Array.from(x.subarray(b * 32, b * 32 + 32), Math.abs));
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      assert.ok(Math.abs(back[i] - x[i]) <= m * 2 ** -22, `block ${b} element ${j}: ${back[i]} for ${x[i]}`);
    }
  }
});
