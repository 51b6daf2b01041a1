import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { kvWrite } from './kv-write.ts';
import { kvWriteRef } from './kv-write.ref.ts';

test('kv write wraps around the ring like the CPU reference', async () => {
  const ctx = await testGpu();
  const width = 8, cacheLen = 6;
  const cache = randomArray(cacheLen * width, 1);
  const src = randomArray(4 * width, 2);
  const cb = ctx.upload(cache, 'cache');
  kvWrite(ctx, ctx.upload(src, 'src'), cb, 4, width, 4, cacheLen);
  assertClose(await ctx.readF32(cb), kvWriteRef(cache, src, 4, width, 4, cacheLen), 0, 'kv write');
});
