import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelVariants, randomArray, assertClose } from '../../testing/gpu.ts';
import { attention, attentionSplits, attentionDecodeTuning, decodeShape, integerOutput, qkPrepAttention, usesDecodeKernel, withShortRun, SHORT_RUNS, type AttentionCall, type ShortRun } from './attention.ts';
import { attentionRef } from './attention.ref.ts';
import { kvWrite } from '../kv-write/kv-write.ts';
import { quantizeXRef } from '../linear/quantize-x.ref.ts';
import { XQ_BLOCK_BYTES } from '../linear/quantize-x.ts';

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

// Long KV for one query (decode): the keys are split over several workgroups and merged (flash-decoding).
for (const [name, c, pos] of [
  ['full causal, 2600 keys', { heads: 4, kvHeads: 2, headDim: 32, cacheLen: 2700, chunk: 0 }, 2599],
  ['chunked, position deep in its chunk', { heads: 2, kvHeads: 1, headDim: 16, cacheLen: 2048, chunk: 2048 }, 2048 + 1500],
] as const) {
  test(`attention split over the sequence: ${name}`, async () => {
    for (const [variant, ctx] of await kernelVariants()) {
      const width = c.kvHeads * c.headDim;
      const lo = c.chunk ? Math.floor(pos / c.chunk) * c.chunk : 0;
      const keys = randomArray((pos + 1) * width, 11), values = randomArray((pos + 1) * width, 12);
      const kc = new Float32Array(c.cacheLen * width), vc = new Float32Array(c.cacheLen * width);
      for (let j = lo; j <= pos; j++) {
        kc.set(keys.subarray(j * width, (j + 1) * width), (j % c.cacheLen) * width);
        vc.set(values.subarray(j * width, (j + 1) * width), (j % c.cacheLen) * width);
      }
      const q = randomArray(c.heads * c.headDim, 13, 2);
      const call = { ...c, tokens: 1, startPos: pos };
      const splits = attentionSplits(call);
      assert.ok(splits > 1, `splits: ${splits}`);
      const ref = attentionRef(q, keys, values, call);
      for (const s of variant === 'gpu variant' ? [splits, 7, 1, 200] : [splits, 7, 1]) { // 200: more than the merge's threads
        const out = ctx.createBuffer(q.length * 4, 'out');
        attention(ctx, ctx.upload(q, 'q'), ctx.upload(kc, 'k'), ctx.upload(vc, 'v'), out, { ...call, splits: s });
        assertClose(await ctx.readF32(out, 0, q.length), ref, 2e-5, `${name} ${variant} ${s} splits`);
      }
    }
  });
}

test('attention: calls with different split counts recorded in one submission (layers of one decode step)', async () => {
  for (const [variant, ctx] of await kernelVariants()) {
    const c = { heads: 2, kvHeads: 1, headDim: 16, chunk: 0 };
    const width = c.kvHeads * c.headDim;
    const outs: [GPUBuffer, Float32Array][] = [];
    for (const pos of [1100, 3000, 600]) { // growing split counts: a buffer replaced mid-recording would break the first
      const keys = randomArray((pos + 1) * width, pos), values = randomArray((pos + 1) * width, pos + 1);
      const q = randomArray(c.heads * c.headDim, pos + 2, 2);
      const call = { ...c, tokens: 1, startPos: pos, cacheLen: pos + 1 };
      const out = ctx.createBuffer(q.length * 4, 'out');
      attention(ctx, ctx.upload(q, 'q'), ctx.upload(keys, 'k'), ctx.upload(values, 'v'), out, call);
      outs.push([out, attentionRef(q, keys, values, call)]);
    }
    for (const [i, [out, ref]] of outs.entries()) assertClose(await ctx.readF32(out, 0, ref.length), ref, 2e-5, `call ${i} ${variant}`);
  }
});

// Decode (≤ 4 queries): on GPUs every head takes one workgroup (tiles of 64 keys) up to
// attentionDecodeTuning.singleSplitKeys keys, beyond that many workgroups (attention_decode.wgsl, tiles of 32 keys,
// merged); CPU adapters keep the general kernel. Short and long runs, ragged tiles, head sizes that do not fill the
// workgroup evenly, chunk starts, more splits than tiles (empty runs), and several queries at once. Every short-run
// form (attentionDecodeTuning.shortRun) on the runs it takes (≤ 128 keys at head_dim ≤ 128), launched as chosen.
test('attention decode: any length split over workgroups, against the CPU reference', async () => {
  const cases: [string, Omit<AttentionCall, 'tokens' | 'startPos'>, number[], number][] = [
    ['Scout heads 10:2, head_dim 128', { heads: 10, kvHeads: 2, headDim: 128, cacheLen: 300, chunk: 0 }, [0, 1, 31, 32, 33, 99, 100, 257], 1],
    ['Scout heads 40:8, head_dim 128', { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 200, chunk: 0 }, [0, 64, 99, 127], 1],
    ['Scout heads 40:8, head_dim 128, 4 queries', { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 200, chunk: 0 }, [0, 60, 124], 4],
    ['head_dim 80 (20 vec4s), 3 queries', { heads: 4, kvHeads: 4, headDim: 80, cacheLen: 200, chunk: 0 }, [2, 63, 150], 3],
    ['head_dim 256, 4 queries', { heads: 2, kvHeads: 1, headDim: 256, cacheLen: 100, chunk: 0 }, [0, 40, 95], 4],
    ['head_dim 8', { heads: 3, kvHeads: 1, headDim: 8, cacheLen: 100, chunk: 0 }, [5, 70], 2],
    ['chunked ring, positions around chunk starts', { heads: 4, kvHeads: 2, headDim: 16, cacheLen: 64, chunk: 64 }, [64, 65, 127, 128 + 40, 191], 1],
  ];
  for (const [variant, ctx] of await kernelVariants()) {
    for (const [name, c, positions, tokens] of cases) {
      const width = c.kvHeads * c.headDim;
      const total = Math.max(...positions) + tokens;
      const keys = randomArray(total * width, 21), values = randomArray(total * width, 22);
      for (const startPos of positions) {
        const lastPos = startPos + tokens - 1;
        // the cache as the model leaves it: key j in slot j % cacheLen, for the keys still kept
        const kc = new Float32Array(c.cacheLen * width), vc = new Float32Array(c.cacheLen * width);
        for (let j = Math.max(0, lastPos + 1 - c.cacheLen); j <= lastPos; j++) {
          kc.set(keys.subarray(j * width, (j + 1) * width), (j % c.cacheLen) * width);
          vc.set(values.subarray(j * width, (j + 1) * width), (j % c.cacheLen) * width);
        }
        const q = randomArray(tokens * c.heads * c.headDim, startPos + 23, 2);
        const call = { ...c, tokens, startPos };
        const ref = attentionRef(q, keys, values, call);
        const keyCount = (c.chunk ? lastPos % c.chunk : lastPos) + 1;
        const tiles = Math.ceil(keyCount / 32);
        const auto = decodeShape(call).splits;
        assert.equal(auto, keyCount <= attentionDecodeTuning.singleSplitKeys ? 1 : tiles, `${name}: one workgroup, or one tile per split at this size`);
        const qb = ctx.upload(q, 'q'), kb = ctx.upload(kc, 'k'), vb = ctx.upload(vc, 'v');
        for (const splits of [undefined, 1, 2, 3, tiles + 2]) {
          const out = ctx.createBuffer(q.length * 4, 'out');
          attention(ctx, qb, kb, vb, out, { ...call, splits });
          assertClose(await ctx.readF32(out, 0, q.length), ref, 2e-5, `${name} ${variant} pos ${startPos} splits ${splits ?? `auto ${auto}`}`);
        }
        if (!usesDecodeKernel(ctx, call) || name === 'Scout heads 10:2, head_dim 128') continue; // 40:8 covers it
        for (const mode of SHORT_RUNS.filter((m) => m !== 'off')) {
          const out = withShortRun(mode, () => {
            if (decodeShape(call).short !== mode) return null; // a run this form does not take
            const o = ctx.createBuffer(q.length * 4, 'out');
            attention(ctx, qb, kb, vb, o, call); // recorded with the form's constants
            return o;
          });
          if (out) assertClose(await ctx.readF32(out, 0, q.length), ref, 2e-5, `${name} ${variant} pos ${startPos} short run ${mode}`);
        }
      }
    }
  }
});

test('attention decode: the GPU variant takes the decode kernel, CPU adapters and prefill the general one', async () => {
  const [[, cpu], [, gpu]] = await kernelVariants();
  const c = { heads: 40, kvHeads: 8, headDim: 128, cacheLen: 8192, chunk: 8192 };
  assert.equal(usesDecodeKernel(gpu, { ...c, tokens: 1, startPos: 100 }), true);
  assert.equal(usesDecodeKernel(gpu, { ...c, tokens: 64, startPos: 0 }), false);
  assert.equal(usesDecodeKernel(gpu, { ...c, tokens: 1, startPos: 0, bidirectional: true }), false);
  assert.equal(usesDecodeKernel(cpu, { ...c, tokens: 1, startPos: 100 }), false);
  // Scout at ~100 keys: one workgroup per head, no merge; at 1000 keys 40 heads × 32 tiles of 32 keys = 1280
  // workgroups; at 128K keys ≤ 4096 workgroups
  assert.equal(decodeShape({ ...c, tokens: 1, startPos: 99 }).splits, 1);
  assert.equal(decodeShape({ ...c, tokens: 1, startPos: 999 }).splits, 32);
  // by default one tile of ≤ 128 keys by the tiled code ('tile', measured fastest on the H200); 'off' (bench model
  // --attn-short off) tiles of 64; every short-run form takes one tile of ≤ 128 keys at head_dim ≤ 128 at one split,
  // tiles of 64 beyond that
  assert.equal(attentionDecodeTuning.shortRun, 'tile');
  withShortRun('off', () =>
    assert.deepEqual(decodeShape({ ...c, tokens: 1, startPos: 99 }), { splits: 1, wg: 256, kt: 64, short: 'off' }));
  for (const mode of SHORT_RUNS.filter((m) => m !== 'off')) {
    withShortRun(mode, () => {
      assert.deepEqual(decodeShape({ ...c, tokens: 1, startPos: 99 }), { splits: 1, wg: 256, kt: 128, short: mode });
      assert.deepEqual(decodeShape({ ...c, tokens: 4, startPos: 124 }), { splits: 1, wg: 256, kt: 128, short: mode });
      assert.equal(decodeShape({ ...c, tokens: 1, startPos: 99, splits: 1 }).short, mode);
      assert.deepEqual(decodeShape({ ...c, tokens: 1, startPos: 999, splits: 1 }), { splits: 1, wg: 256, kt: 64, short: 'off' });
      assert.equal(decodeShape({ ...c, tokens: 1, startPos: 99, headDim: 256 }).short, 'off');
      assert.equal(decodeShape({ ...c, tokens: 1, startPos: 99, splits: 3 }).short, 'off');
    });
  }
  assert.equal(40 * attentionSplits({ ...c, cacheLen: 131072, chunk: 0, tokens: 1, startPos: 131071 }, true) <= 4096, true);
});

// The output also in integer form (o_proj's q4 mat-vec input, so o_proj needs no quantize_x): word for word
// quantize_x's of the f32 output the same call writes, which stays bit for bit what it is without it. One workgroup
// per head and split + merged, attention() and qkPrepAttention() (the q/k prep folded in at one split), attendShort()'s
// forms.
test('attention decode: the output in integer form equals quantize_x of the output', async () => {
  const cases: [string, Omit<AttentionCall, 'tokens' | 'startPos' | 'cacheLen'>, number][] = [
    ['Scout heads 10:2 of 128', { heads: 10, kvHeads: 2, headDim: 128, chunk: 0 }, 1],
    ['head_dim 32, 3 queries, chunked', { heads: 4, kvHeads: 1, headDim: 32, chunk: 512 }, 3],
    ['head_dim 256, 4 queries', { heads: 2, kvHeads: 2, headDim: 256, chunk: 0 }, 4],
  ];
  for (const [variant, ctx] of await kernelVariants()) {
    for (const [name, shape, tokens] of cases) {
      const { heads, kvHeads, headDim: hd } = shape;
      const cacheLen = 512, width = kvHeads * hd, qw = heads * hd;
      const kc = randomArray(cacheLen * width, hd + 1), vc = randomArray(cacheLen * width, hd + 2);
      const q = randomArray(tokens * qw, hd + 3, 2), qkv = randomArray(tokens * (qw + 2 * width), hd + 4, 2);
      const table = new Float32Array(tokens * hd).map((_, i) => (i % 2 ? Math.sin(i) : Math.cos(i - 1)));
      const [qb, kb, vb, qkvb, tb, temps] = [q, kc, vc, qkv, table, new Float32Array(tokens).fill(1)].map((a) => ctx.upload(a, 'in'));
      for (const startPos of [60, 300]) {
        const call = { ...shape, tokens, startPos, cacheLen };
        if (!variant.startsWith('gpu variant')) {
          assert.equal(integerOutput(ctx, call), false);
          assert.throws(() => attention(ctx, qb, kb, vb, ctx.createBuffer(tokens * qw * 4, 'out'), call, ctx.createBuffer(64, 'xq')), /integer form/);
          continue;
        }
        assert.equal(integerOutput(ctx, call), true);
        // the tiled launch at any split count, and one tile of 128 ('tile') on the runs it takes (the q/k prep kernel;
        // its XQ_OUT code is the same in both kernels)
        const launches: [ShortRun, number | undefined][] = [['off', undefined], ['off', 1], ['off', 3], ['tile', undefined]];
        for (const [mode, splits] of launches) {
          if (withShortRun(mode, () => decodeShape(call).short) !== mode) continue;
          for (const prep of mode === 'off' ? [false, true] : [true]) {
            const what = `${name} ${variant} at ${startPos}, splits ${splits ?? `auto ${decodeShape(call).splits}`}${prep ? ', q/k prep' : ''}, short run ${mode}`;
            const run = (out: GPUBuffer, xq: GPUBuffer | null) => withShortRun(mode, () => {
              const c = { ...call, splits, eps: 1e-5, rope: true, qkNorm: true, temperature: false };
              if (prep) qkPrepAttention(ctx, qkvb, ctx.createBuffer(tokens * qw * 4, 'q'), tb, temps, kb, vb, out, c, xq);
              else attention(ctx, qb, kb, vb, out, c, xq);
            });
            const out = ctx.createBuffer(tokens * qw * 4, 'out'), plain = ctx.createBuffer(tokens * qw * 4, 'plain');
            const xq = ctx.createBuffer((tokens * qw * XQ_BLOCK_BYTES) / 32, 'xq');
            run(out, xq);
            run(plain, null);
            const o = await ctx.readF32(out, 0, tokens * qw);
            assertClose(o, await ctx.readF32(plain, 0, tokens * qw), 0, `${what}: f32 output`);
            const got = await ctx.readU32(xq, 0, (tokens * qw * 28) / 32), want = quantizeXRef(o);
            const bad = want.findIndex((w, i) => got[i] !== w);
            assert.equal(bad, -1, `${what}: word ${bad % 28} of block ${Math.floor(bad / 28)}: ${got[bad]} ≠ ${want[bad]}`);
          }
        }
      }
    }
  }
  const [, [, gpu]] = await kernelVariants();
  assert.equal(integerOutput(gpu, { heads: 4, kvHeads: 2, headDim: 16, chunk: 0, tokens: 1, startPos: 5, cacheLen: 64 }), false, 'a block of 32 across two heads');
});
