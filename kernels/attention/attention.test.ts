import { test } from 'node:test';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { attention, type AttentionCall } from './attention.ts';
import { attentionRef } from './attention.ref.ts';
import { kvWrite } from '../kv-write/kv-write.ts';

// Prefill in pieces that never cross a chunk (as the model does), then decode, checking every query.
async function run(name: string, c: Omit<AttentionCall, 'tokens' | 'startPos'>, total: number, pieces: number[]) {
  test(name, async () => {
   for (const [variant, ctx] of await kernelVariants()) {
    const width = c.kvHeads * c.headDim;
    const keys = randomArray(total * width, 1);
    const values = randomArray(total * width, 2);
    const q = randomArray(total * c.heads * c.headDim, 3, 2);
    const kc = ctx.createBuffer(c.cacheLen * width * 4, 'k');
    const vc = ctx.createBuffer(c.cacheLen * width * 4, 'v');
    let start = 0;
    for (const n of pieces) {
      const sub = (a: Float32Array, w: number) => a.subarray(start * w, (start + n) * w);
      kvWrite(ctx, ctx.upload(sub(keys, width), 'kn'), kc, n, width, start, c.cacheLen);
      kvWrite(ctx, ctx.upload(sub(values, width), 'vn'), vc, n, width, start, c.cacheLen);
      const qw = c.heads * c.headDim;
      const out = ctx.createBuffer(n * qw * 4, 'out');
      const call = { ...c, tokens: n, startPos: start };
      attention(ctx, ctx.upload(sub(q, qw), 'q'), kc, vc, out, call);
      const ref = attentionRef(sub(q, qw), keys, values, call);
      assertClose(await ctx.readF32(out, 0, n * qw), ref, 2e-5, `${name} ${variant} tokens ${start}..${start + n - 1}`);
      start += n;
    }
   }
  });
}

run('attention, full causal (NoPE layer), GQA 4:2, prefill then decode', { heads: 4, kvHeads: 2, headDim: 16, cacheLen: 200, chunk: 0 }, 150, [70, 79, 1]);
run('attention, chunked (RoPE layer) ring of one chunk', { heads: 4, kvHeads: 1, headDim: 8, cacheLen: 16, chunk: 16 }, 40, [16, 10, 6, 1, 1, 6]);
run('attention, head_dim 128 with 5:1 groups', { heads: 10, kvHeads: 2, headDim: 128, cacheLen: 80, chunk: 0 }, 70, [69, 1]);

test('attention, bidirectional (vision encoder): every query sees every key', async () => {
  for (const [variant, ctx] of await kernelVariants()) {
    const c = { tokens: 65, heads: 4, kvHeads: 4, headDim: 8, startPos: 0, cacheLen: 65, chunk: 0, bidirectional: true };
    const width = c.heads * c.headDim;
    const q = randomArray(c.tokens * width, 1, 2), k = randomArray(c.tokens * width, 2), v = randomArray(c.tokens * width, 3);
    const out = ctx.createBuffer(q.length * 4, 'out');
    attention(ctx, ctx.upload(q, 'q'), ctx.upload(k, 'k'), ctx.upload(v, 'v'), out, c);
    assertClose(await ctx.readF32(out, 0, q.length), attentionRef(q, k, v, c), 2e-5, `bidirectional ${variant}`);
  }
});
