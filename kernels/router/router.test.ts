import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { routeTopK, routerFusable, routerMatvecTopK } from './router.ts';
import { GpuContext } from '../runtime.ts';
import { uploadLinear } from '../linear/linear.ts';
import { linearRef } from '../linear/linear.ref.ts';
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

for (const [tokens, experts, k, cols] of [[1, 16, 1, 256], [3, 5, 2, 64], [4, 32, 3, 128]]) {
  test(`router logits + top-${k} of ${experts} in one dispatch (${tokens} tokens) match the CPU references`, async () => {
    const base = await testGpu();
    const ctx = new GpuContext(base.device, { cpuKernels: false });
    const w = randomArray(experts * cols, 30 + experts, 0.5);
    const x = randomArray(tokens * cols, 31 + tokens);
    const router = uploadLinear(ctx, 'router', 'f32', experts, cols, (s, n) => w.subarray(s * cols, (s + n) * cols));
    assert.ok(routerFusable(ctx, router, tokens, k));
    const logits = ctx.createBuffer(tokens * experts * 4, 'logits');
    const ids = ctx.createBuffer(tokens * k * 4, 'ids');
    const scores = ctx.createBuffer(tokens * k * 4, 'scores');
    routerMatvecTopK(ctx, router, ctx.upload(x, 'x'), logits, ids, scores, tokens, k);
    const got = await ctx.readF32(logits, 0, tokens * experts);
    assertClose(got, linearRef(w, experts, cols, x, tokens), 1e-4, 'logits');
    const ref = routerRef(got, tokens, experts, k);
    assert.deepEqual([...(await ctx.readU32(ids, 0, tokens * k))], [...ref.ids]);
    assertClose(await ctx.readF32(scores, 0, tokens * k), ref.scores, 1e-6, 'scores');
  });
}

test('the fused router is for GPU variants, decode-sized batches and small routers', async () => {
  const base = await testGpu();
  const gpu = new GpuContext(base.device, { cpuKernels: false });
  const small = uploadLinear(gpu, 'r', 'f32', 16, 64, (s, n) => new Float32Array(n * 64));
  const large = uploadLinear(gpu, 'r', 'f32', 128, 64, (s, n) => new Float32Array(n * 64));
  assert.equal(routerFusable(gpu, small, 1, 1), true);
  assert.equal(routerFusable(gpu, small, 5, 1), false);
  assert.equal(routerFusable(gpu, large, 1, 1), false);
  assert.equal(routerFusable(new GpuContext(base.device, { cpuKernels: true }), small, 1, 1), false);
});
