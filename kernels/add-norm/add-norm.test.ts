import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { addNorm, addNormSplits } from './add-norm.ts';
import { addNormRef } from './add-norm.ref.ts';

// 1–4 tokens: the two-pass variant over many workgroups on GPUs (Scout's 5120 = 20 groups of 64 vec4s; 600 and 96
// leave a ragged last group); more tokens: one workgroup per token. CPU adapters: always one per token.
for (const [tokens, dim, k] of [[1, 64, 0], [3, 96, 1], [5, 600, 2], [1, 5120, 1], [1, 5120, 0], [4, 600, 1], [2, 4, 0]] as const) {
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

test('add-norm: the two-pass variant on GPUs for 1–4 tokens only', async () => {
  const [[, cpu], [, gpu]] = await kernelVariants();
  assert.equal(addNormSplits(gpu, 1), true);
  assert.equal(addNormSplits(gpu, 4), true);
  assert.equal(addNormSplits(gpu, 5), false);
  assert.equal(addNormSplits(cpu, 1), false);
});

test('add-norm: two calls of different widths recorded together (the partials buffer is shared and grows)', async () => {
  for (const [variant, ctx] of await kernelVariants()) {
    const outs: [GPUBuffer, GPUBuffer, { x: Float32Array; h: Float32Array }][] = [];
    for (const dim of [64, 20480, 256]) { // 20480: the partials buffer grows mid-recording
      const x = randomArray(dim, dim, 2), a = randomArray(dim, dim + 1), w = randomArray(dim, dim + 2);
      const xb = ctx.upload(x, 'x'), hb = ctx.createBuffer(dim * 4, 'h');
      addNorm(ctx, xb, ctx.upload(a, 'a'), null, ctx.upload(w, 'w'), hb, 1, dim, 1e-5);
      outs.push([xb, hb, addNormRef(x, a, null, 0, w, 1, dim, 1e-5)]);
    }
    for (const [xb, hb, ref] of outs) {
      assertClose(await ctx.readF32(xb, 0, ref.x.length), ref.x, 0, `x ${variant}`);
      assertClose(await ctx.readF32(hb, 0, ref.h.length), ref.h, 1e-5, `h ${variant}`);
    }
  }
});
