import { test } from 'node:test';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { rmsnorm } from './rmsnorm.ts';
import { rmsnormRef } from './rmsnorm.ref.ts';

for (const [rows, dim, withWeight] of [[3, 64, true], [10, 16, false], [2, 600, true]] as const) {
  test(`rmsnorm ${rows}x${dim} ${withWeight ? 'with weight' : 'weightless (QK norm)'} matches the CPU reference`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      const x = randomArray(rows * dim, dim + rows, 3);
      const w = withWeight ? randomArray(dim, 9) : null;
      const xb = ctx.upload(x, 'x');
      rmsnorm(ctx, xb, w ? ctx.upload(w, 'w') : null, xb, rows, dim, 1e-5); // in place
      assertClose(await ctx.readF32(xb, 0, rows * dim), rmsnormRef(x, w, rows, dim, 1e-5), 1e-5, `rmsnorm ${rows}x${dim} ${variant}`);
    }
  });
}
