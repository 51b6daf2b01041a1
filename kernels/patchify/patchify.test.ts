import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { patchify } from './patchify.ts';
import { patchifyRef } from './patchify.ref.ts';

test('patchify orders each patch channel-major, then row, then column, patches in raster order', async () => {
  const ctx = await testGpu();
  const size = 28, p = 14;
  const pixels = randomArray(3 * size * size, 5);
  const out = ctx.createBuffer(pixels.length * 4, 'out');
  patchify(ctx, ctx.upload(pixels, 'px'), out, size, p);
  assertClose(await ctx.readF32(out, 0, pixels.length), patchifyRef(pixels, size, p), 0, 'patchify');
});
