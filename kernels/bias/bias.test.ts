import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { addBias } from './bias.ts';
import { biasRef } from './bias.ref.ts';

test('bias add matches the CPU reference', async () => {
  const ctx = await testGpu();
  const x = randomArray(7 * 33, 1), b = randomArray(33, 2);
  const xb = ctx.upload(x, 'x');
  addBias(ctx, xb, ctx.upload(b, 'b'), 7, 33);
  assertClose(await ctx.readF32(xb, 0, x.length), biasRef(x, b, 33), 0, 'bias');
});
