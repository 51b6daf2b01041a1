import { test } from 'node:test';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { layernorm } from './layernorm.ts';
import { layernormRef } from './layernorm.ref.ts';

for (const [rows, dim] of [[5, 32], [3, 1408]]) {
  test(`layernorm ${rows}x${dim} matches the CPU reference`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      const x = randomArray(rows * dim, dim, 3).map((v) => v + 0.7);
      const w = randomArray(dim, 2), b = randomArray(dim, 4);
      const y = ctx.createBuffer(rows * dim * 4, 'y');
      layernorm(ctx, ctx.upload(x, 'x'), ctx.upload(w, 'w'), ctx.upload(b, 'b'), y, rows, dim, 1e-5);
      assertClose(await ctx.readF32(y, 0, rows * dim), layernormRef(x, w, b, rows, dim, 1e-5), 2e-5, `layernorm ${variant}`);
    }
  });
}
