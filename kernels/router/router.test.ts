import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { routeTopK } from './router.ts';
import { routerRef } from './router.ref.ts';

for (const [tokens, experts, k] of [[5, 4, 1], [9, 16, 2], [3, 128, 1]]) {
  test(`router top-${k} of ${experts} with sigmoid scores matches the CPU reference`, async () => {
    const ctx = await testGpu();
    const logits = randomArray(tokens * experts, experts + k, 4);
    const ids = ctx.createBuffer(tokens * k * 4, 'ids');
    const scores = ctx.createBuffer(tokens * k * 4, 'scores');
    routeTopK(ctx, ctx.upload(logits, 'logits'), ids, scores, tokens, experts, k);
    const ref = routerRef(logits, tokens, experts, k);
    assert.deepEqual([...(await ctx.readU32(ids, 0, tokens * k))], [...ref.ids]);
    assertClose(await ctx.readF32(scores, 0, tokens * k), ref.scores, 1e-6, 'scores');
  });
}
