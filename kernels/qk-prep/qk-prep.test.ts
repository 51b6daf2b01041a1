import { test } from 'node:test';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { qkPrep, type QkPrepCall } from './qk-prep.ts';
import { qkPrepRef } from './qk-prep.ref.ts';

const cases: [string, Partial<QkPrepCall>][] = [
  ['RoPE + QK norm', { rope: true, qkNorm: true, temperature: false }],
  ['RoPE without norm', { rope: true, qkNorm: false, temperature: false }],
  ['NoPE with temperature', { rope: false, qkNorm: true, temperature: true }],
  ['NoPE plain', { rope: false, qkNorm: false, temperature: false }],
];

for (const [name, flags] of cases) {
  for (const [tokens, heads, kvHeads, headDim, startPos, cacheLen] of [[1, 4, 2, 32, 5, 16], [3, 5, 1, 256, 14, 16], [2, 2, 2, 6, 0, 4]]) {
    test(`qk-prep ${name}: ${tokens} tokens, ${heads}/${kvHeads} heads of ${headDim}, at ${startPos} in a ring of ${cacheLen}`, async () => {
      for (const [variant, ctx] of await kernelVariants()) {
        const c = { tokens, heads, kvHeads, headDim, startPos, cacheLen, eps: 1e-5, rope: false, qkNorm: false, temperature: false, ...flags } as QkPrepCall;
        const qkv = randomArray(tokens * (heads + 2 * kvHeads) * headDim, 1 + headDim, 2);
        const angles = randomArray((tokens * headDim) / 2, 4, 3);
        const table = new Float32Array(tokens * headDim);
        angles.forEach((a, i) => ((table[2 * i] = Math.cos(a)), (table[2 * i + 1] = Math.sin(a))));
        const temps = randomArray(tokens, 5, 0.5).map((x) => 1 + Math.abs(x));
        const kc = randomArray(cacheLen * kvHeads * headDim, 6), vc = randomArray(cacheLen * kvHeads * headDim, 7);
        const qb = ctx.createBuffer(tokens * heads * headDim * 4, 'q'), kcb = ctx.upload(kc, 'kc'), vcb = ctx.upload(vc, 'vc');
        qkPrep(ctx, ctx.upload(qkv, 'qkv'), qb, ctx.upload(table, 't'), ctx.upload(temps, 'temp'), kcb, vcb, c);
        const ref = qkPrepRef(qkv, table, temps, kc, vc, c);
        assertClose(await ctx.readF32(qb, 0, ref.q.length), ref.q, 1e-5, `q ${variant}`);
        assertClose(await ctx.readF32(kcb, 0, kc.length), ref.kCache, 1e-5, `k cache ${variant}`);
        assertClose(await ctx.readF32(vcb, 0, vc.length), ref.vCache, 0, `v cache ${variant}`);
      }
    });
  }
}
