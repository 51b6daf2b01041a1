import { test } from 'node:test';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { addNorm } from './add-norm.ts';
import { addNormRef } from './add-norm.ref.ts';

for (const [tokens, dim, k] of [[1, 64, 0], [3, 96, 1], [5, 600, 2]] as const) {
  test(`add-norm ${tokens}x${dim}, ${k} routed rows matches the CPU reference`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      const x = randomArray(tokens * dim, dim + tokens, 2);
      const a = randomArray(tokens * dim, 3 * dim + k);
      const b = k ? randomArray(tokens * k * dim, 7 * dim) : null;
      const w = randomArray(dim, 5);
      const xb = ctx.upload(x, 'x');
      const hb = ctx.createBuffer(tokens * dim * 4, 'h');
      addNorm(ctx, xb, ctx.upload(a, 'a'), b ? { b: ctx.upload(b, 'b'), k } : null, ctx.upload(w, 'w'), hb, tokens, dim, 1e-5);
      const ref = addNormRef(x, a, b, k, w, tokens, dim, 1e-5);
      assertClose(await ctx.readF32(xb, 0, tokens * dim), ref.x, 0, `x ${variant}`);
      assertClose(await ctx.readF32(hb, 0, tokens * dim), ref.h, 1e-5, `h ${variant}`);
    }
  });
}
