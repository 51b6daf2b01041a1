import { test } from 'node:test';
import { testGpu, randomArray, assertClose } from '../../testing/gpu.ts';
import { pixelShuffle } from './pixel-shuffle.ts';
import { pixelShuffleRef } from './pixel-shuffle.ref.ts';

test('pixel shuffle concatenates 2×2 blocks in TL, TR, BL, BR order', async () => {
  const ctx = await testGpu();
  const grid = 8, dim = 12;
  const x = randomArray(grid * grid * dim, 3);
  const out = ctx.createBuffer(x.length * 4, 'out');
  pixelShuffle(ctx, ctx.upload(x, 'x'), out, grid, dim);
  assertClose(await ctx.readF32(out, 0, x.length), pixelShuffleRef(x, grid, dim), 0, 'pixel shuffle');
});
