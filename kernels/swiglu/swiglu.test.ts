import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { swiglu } from './swiglu.ts';
import { swigluRef } from './swiglu.ref.ts';

test('swiglu matches the CPU reference', async () => {
  const ctx = await testGpu();
  const items = 6, width = 40;
  const gu = randomArray(items * 2 * width, 8, 6);
  const out = ctx.createBuffer(items * width * 4, 'out');
  swiglu(ctx, ctx.upload(gu, 'gu'), out, items, width);
  assertClose(await ctx.readF32(out, 0, items * width), swigluRef(gu, items, width), 1e-5, 'swiglu');
});
