import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { residualAdd } from './residual.ts';
import { residualRef } from './residual.ref.ts';

for (const k of [0, 1, 2]) {
  test(`residual add with ${k} routed outputs matches the CPU reference`, async () => {
    const ctx = await testGpu();
    const tokens = 3, dim = 70;
    const x = randomArray(tokens * dim, 1), a = randomArray(tokens * dim, 2), b = randomArray(tokens * Math.max(k, 1) * dim, 3);
    const xb = ctx.upload(x, 'x');
    residualAdd(ctx, xb, ctx.upload(a, 'a'), tokens, dim, k ? { b: ctx.upload(b, 'b'), k } : undefined);
    assertClose(await ctx.readF32(xb, 0, tokens * dim), residualRef(x, a, tokens, dim, b, k), 0, `residual k=${k}`);
  });
}
