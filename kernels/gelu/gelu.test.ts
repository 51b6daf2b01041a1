import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { gelu } from './gelu.ts';
import { geluRef } from './gelu.ref.ts';

test('exact GELU matches the erf reference', async () => {
  const ctx = await testGpu();
  const x = randomArray(5000, 3, 6);
  x[0] = 0; x[1] = -10; x[2] = 10; x[3] = 1e-6;
  const b = ctx.upload(x, 'x');
  gelu(ctx, b, x.length);
  assertClose(await ctx.readF32(b, 0, x.length), geluRef(x), 2e-6, 'gelu');
});
